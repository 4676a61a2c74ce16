-- The second factor (issue 18): one TOTP secret per user, sealed under the configured key
-- (AES-256-GCM bound to the user's ID), on only once confirmed with a correct passcode. The
-- last step a passcode was accepted for is kept so that a passcode works once. Recovery codes
-- are stored as SHA-256 digests and spent once.
CREATE TABLE second_factors (
    user_id       BIGINT PRIMARY KEY REFERENCES users (id),
    sealed_secret TEXT    NOT NULL,
    confirmed_at  BIGINT,
    last_step     BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);
CREATE TABLE recovery_codes (
    user_id  BIGINT  NOT NULL REFERENCES users (id),
    digest   TEXT    NOT NULL,
    used_at  BIGINT,
    PRIMARY KEY (user_id, digest)
);
