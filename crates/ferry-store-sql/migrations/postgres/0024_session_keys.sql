-- Sessions are kept by the SHA-256 of their ID from now on (`SessionKey`), never by the ID:
-- a copy of the database yields no session anyone can present. Existing rows are rewritten
-- by the start-up step of `session_keys.rs` (SQLite has no SHA-256 of its own). A shared
-- link's row keeps its key, to end it, and its ID sealed with the tools' key, to issue its
-- token again ('' for links made before: they work on, but cannot be shown again).
ALTER TABLE share_links RENAME COLUMN session_id TO sealed_session;
ALTER TABLE share_links ADD COLUMN session_key TEXT;
-- Grants named their session's ID in their body; a page open now asks to be opened again.
DELETE FROM tool_grants WHERE body LIKE '%"session":"%';
