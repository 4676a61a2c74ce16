-- Metadata items get IDs (SARG 2.4.2's FolderMetadataID), and files get metadata items of
-- their own (SARG 2.4.4's FTHFileMetadataItemData), keyed like a folder's: one item per name
-- key. SQLite cannot add an AUTOINCREMENT key to a table, so folder_metadata is rebuilt.
CREATE TABLE folder_metadata_items (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    folder_id  INTEGER NOT NULL REFERENCES folders (id),
    name       TEXT    NOT NULL,
    name_key   TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    UNIQUE (folder_id, name_key)
);
INSERT INTO folder_metadata_items (folder_id, name, name_key, value)
    SELECT folder_id, name, name_key, value FROM folder_metadata ORDER BY folder_id, name_key;
DROP TABLE folder_metadata;
ALTER TABLE folder_metadata_items RENAME TO folder_metadata;

CREATE TABLE file_metadata (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id    INTEGER NOT NULL REFERENCES files (id),
    name       TEXT    NOT NULL,
    name_key   TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    UNIQUE (file_id, name_key)
);
