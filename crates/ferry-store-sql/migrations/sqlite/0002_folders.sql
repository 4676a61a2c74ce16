-- The folder tree, user groups, permission grants and folder metadata.

CREATE TABLE folders (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id            INTEGER REFERENCES folders (id),
    name                 TEXT    NOT NULL,
    -- NFC, lowercased: two live folders in one parent may not share it.
    name_key             TEXT    NOT NULL,
    folder_type          INTEGER NOT NULL,
    description          TEXT    NOT NULL DEFAULT '',
    inherit_permissions  INTEGER NOT NULL DEFAULT 1,
    owner_user_id        INTEGER REFERENCES users (id),
    created_at           INTEGER NOT NULL,
    modified_at          INTEGER NOT NULL,
    created_by           INTEGER,
    modified_by          INTEGER,
    deleted              INTEGER NOT NULL DEFAULT 0,
    deleted_at           INTEGER
);
CREATE UNIQUE INDEX folders_unique_live_name ON folders (parent_id, name_key) WHERE deleted = 0;
CREATE INDEX folders_by_parent ON folders (parent_id);

-- The fixed top of the tree (DESIGN.md §2 folder types): Root 1, HomeRoot 6, FolderRoot 5.
-- Homes do not inherit from above, so a grant on the root never opens every home.
INSERT INTO folders (id, parent_id, name, name_key, folder_type, inherit_permissions, created_at, modified_at) VALUES
    (1, NULL, '', '', 1, 0, 0, 0),
    (2, 1, 'Home', 'home', 6, 0, 0, 0),
    (3, 1, 'Shared', 'shared', 5, 1, 0, 0);

CREATE TABLE folder_metadata (
    folder_id  INTEGER NOT NULL REFERENCES folders (id),
    name       TEXT    NOT NULL,
    name_key   TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    PRIMARY KEY (folder_id, name_key)
);

CREATE TABLE user_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_id  INTEGER NOT NULL REFERENCES user_groups (id),
    user_id   INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_by_user ON group_members (user_id);

-- A grant goes to a user or to a group, never both.
CREATE TABLE folder_permissions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    folder_id   INTEGER NOT NULL REFERENCES folders (id),
    permission  INTEGER NOT NULL,
    user_id     INTEGER REFERENCES users (id),
    group_id    INTEGER REFERENCES user_groups (id),
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
CREATE INDEX folder_permissions_by_folder ON folder_permissions (folder_id);
