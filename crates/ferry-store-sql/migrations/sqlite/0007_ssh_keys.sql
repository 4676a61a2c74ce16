-- SSH public keys for SFTP sign-in, by user; the fingerprint is OpenSSH's SHA256 form.
CREATE TABLE ssh_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    algorithm    TEXT    NOT NULL,
    public_key   TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    comment      TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX ssh_keys_by_user_fingerprint ON ssh_keys (user_id, fingerprint);
