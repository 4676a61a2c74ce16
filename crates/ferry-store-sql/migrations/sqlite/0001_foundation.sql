-- Foundation: applications, users, sessions, sign-in lock-outs and the audit chain.
-- Flags are INTEGER 0/1 and times are Unix milliseconds, identically in the PostgreSQL schema,
-- so that one set of queries serves both engines.

CREATE TABLE applications (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL
);

-- Reserved IDs of Ferry's own front ends (DESIGN.md §2).
INSERT INTO applications (id, name, enabled, created_at) VALUES
    (1, 'Ferry web tools', 1, 0),
    (2, 'Ferry SFTP', 1, 0),
    (3, 'Ferry FTPS', 1, 0),
    (4, 'Ferry administration CLI', 1, 0);

CREATE TABLE users (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT    NOT NULL,
    name_key         TEXT    NOT NULL UNIQUE,
    domain_username  TEXT,
    first_name       TEXT    NOT NULL DEFAULT '',
    last_name        TEXT    NOT NULL DEFAULT '',
    email            TEXT    NOT NULL DEFAULT '',
    role             INTEGER NOT NULL,
    active           INTEGER NOT NULL DEFAULT 1,
    deleted          INTEGER NOT NULL DEFAULT 0,
    user_sync_id     TEXT,
    home_folder_id   INTEGER,
    password_hash    TEXT,
    created_at       INTEGER NOT NULL
);

CREATE TABLE sessions (
    id               TEXT    PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users (id),
    application_id   INTEGER NOT NULL REFERENCES applications (id),
    immutable        INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    last_used_at     INTEGER NOT NULL,
    expires_at       INTEGER,
    client_version   TEXT,
    client_ip        TEXT,
    impersonator_id  INTEGER,
    external_user    TEXT
);
CREATE INDEX sessions_by_user_app ON sessions (user_id, application_id);
-- The spec's rule, enforced by the database too: one replaceable session per user and application.
CREATE UNIQUE INDEX sessions_one_replaceable ON sessions (user_id, application_id) WHERE immutable = 0;
CREATE INDEX sessions_by_expiry ON sessions (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE lockouts (
    key              TEXT    PRIMARY KEY,
    failures         INTEGER NOT NULL,
    last_failure_at  INTEGER NOT NULL,
    locked_until     INTEGER
);

-- The end of the audit chain. Every change starts by updating this row, which serialises
-- writers (and so the chain) on both engines.
CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- No foreign keys: a record outlives what it names and may name what never existed.
CREATE TABLE audit_log (
    seq              INTEGER PRIMARY KEY,
    at               INTEGER NOT NULL,
    operation        TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    user_id          INTEGER,
    impersonator_id  INTEGER,
    application_id   INTEGER,
    client_version   TEXT,
    client_ip        TEXT,
    external_user    TEXT,
    session_tag      TEXT,
    target_user_id   INTEGER,
    folder_id        INTEGER,
    file_id          INTEGER,
    path             TEXT,
    size             INTEGER,
    digest           TEXT,
    detail           TEXT,
    prev_hash        TEXT    NOT NULL,
    hash             TEXT    NOT NULL
);
CREATE INDEX audit_by_time ON audit_log (at);
CREATE INDEX audit_by_user ON audit_log (user_id);
