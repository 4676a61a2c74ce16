-- Files and their versions. The files row holds the current version; file_versions holds
-- every version, the current one included.

CREATE TABLE files (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    folder_id    INTEGER NOT NULL REFERENCES folders (id),
    name         TEXT    NOT NULL,
    name_key     TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    content_key  TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    modified_at  INTEGER NOT NULL,
    created_by   INTEGER,
    modified_by  INTEGER,
    deleted      INTEGER NOT NULL DEFAULT 0,
    deleted_at   INTEGER
);
-- One live file per name in a folder; also the index of paged listings.
CREATE UNIQUE INDEX files_unique_live_name ON files (folder_id, name_key) WHERE deleted = 0;
CREATE INDEX files_by_folder ON files (folder_id, deleted, name_key, id);

CREATE TABLE file_versions (
    file_id      INTEGER NOT NULL REFERENCES files (id),
    version      INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    content_key  TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   INTEGER,
    PRIMARY KEY (file_id, version)
);
