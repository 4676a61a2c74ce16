-- The web client and administration console (issue 17): its reserved application; the
-- indexes of a folder page sorted by size or by modification time (the name order has
-- files_by_folder), so that a page of a 100,000-file folder is read from an index; and the
-- audit records of one file (a file page's activity).
INSERT INTO applications (id, name, enabled, created_at) VALUES (5, 'Ferry web client', 1, 0);
CREATE INDEX files_by_folder_size ON files (folder_id, deleted, size, id);
CREATE INDEX files_by_folder_modified ON files (folder_id, deleted, modified_at, id);
CREATE INDEX audit_by_file ON audit_log (file_id) WHERE file_id IS NOT NULL;

-- Links a person shared from the web client: an upload link into a folder ("Request files")
-- or a download link for files. Each has a session of its own (application 1, ending when the
-- link does); revoking the link ends that session, so its token is then refused like an
-- expired one. The token itself is not kept: it can be issued again from these columns.
CREATE TABLE share_links (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    session_id  TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    folder_id   INTEGER,
    file_ids    TEXT    NOT NULL DEFAULT '',
    email       TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX share_links_by_user ON share_links (user_id, created_at);
