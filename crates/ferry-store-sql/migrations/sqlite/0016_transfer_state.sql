-- What browser transfers keep between requests (issue 20, part 2), shared by every node: the
-- tool pages' grants, the files each token has used, and the tus uploads in progress. Times
-- are milliseconds since the epoch.

-- A page's grant. `body` is what it allows, as the Service wrote it. One grant per page
-- (`page_key`: token, tool, options and address), so a reloaded page keeps its grant.
CREATE TABLE tool_grants (
    id           TEXT    PRIMARY KEY,
    page_key     TEXT    NOT NULL UNIQUE,
    ip           TEXT    NOT NULL,
    token_digest TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX tool_grants_by_ip ON tool_grants (ip, created_at);
CREATE INDEX tool_grants_by_expiry ON tool_grants (expires_at);

-- Files started or uploaded per token, kept until `keep_until`.
CREATE TABLE tool_file_counts (
    token_digest TEXT    PRIMARY KEY,
    used         INTEGER NOT NULL,
    keep_until   INTEGER NOT NULL
);

-- A tus upload: where it stands (`upload_offset` bytes acknowledged, durable in the content
-- store as `staged` describes, the SHA-256 state after them in `hash_state`, hex), who holds
-- it now (the node answering its PATCH, until `held_until`), and once committed the file.
CREATE TABLE tus_uploads (
    id            TEXT    PRIMARY KEY,
    owner_key     TEXT    NOT NULL,
    length        INTEGER NOT NULL,
    upload_offset INTEGER NOT NULL,
    request       TEXT    NOT NULL,
    staged        TEXT    NOT NULL,
    hash_state    TEXT    NOT NULL,
    holder        TEXT,
    held_until    INTEGER,
    takeover      INTEGER NOT NULL DEFAULT 0,
    file_id       INTEGER,
    sha256        TEXT,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL
);
CREATE INDEX tus_uploads_by_owner ON tus_uploads (owner_key, file_id);
CREATE INDEX tus_uploads_by_use ON tus_uploads (last_used_at);
