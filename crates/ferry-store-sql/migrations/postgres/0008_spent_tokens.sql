-- Browser-tool tokens already used, when tokens are single-use (DESIGN.md §4): the SHA-256 of
-- the token's plaintext, kept until the token could no longer be accepted anyway.
CREATE TABLE spent_tokens (
    digest      TEXT   PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX spent_tokens_by_expiry ON spent_tokens (expires_at);
