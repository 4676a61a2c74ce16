-- Sessions are kept by the SHA-256 of their ID from now on (`SessionKey`), never by the ID:
-- a copy of the database yields no session anyone can present. Existing rows are rewritten
-- by the start-up step of `session_keys.rs` (SQLite has no SHA-256 of its own). A shared
-- link's row keeps its key, to end it, and its ID sealed with the tools' key, to issue its
-- token again (the start-up step seals links made before; '' when no tools' key is set).
ALTER TABLE share_links RENAME COLUMN session_id TO sealed_session;
ALTER TABLE share_links ADD COLUMN session_key TEXT;
-- Tool pages' grants are kept by the SHA-256 of the grant from now on (the grant is derived
-- from the page's key and the tools' key: `ferry_crypto::tool_grant`), and name their session
-- by its key. Every grant held was stored as issued: all go, and a page open now asks to be
-- opened again.
DELETE FROM tool_grants;
