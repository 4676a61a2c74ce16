-- Hardening (issue 15).

-- The SSH key (OpenSSH SHA256 fingerprint) that opened an SFTP session, so that removing the
-- key ends the sessions it opened; NULL for every other way in.
ALTER TABLE sessions ADD COLUMN ssh_key TEXT;

-- Addresses from which an account signed in successfully: such an address keeps its own
-- failure budget while others guess at the account (the owner stays in), and its sign-ins
-- get the hashing slots first under a flood.
CREATE TABLE signin_addresses (
    user_id          INTEGER NOT NULL REFERENCES users (id),
    ip               TEXT    NOT NULL,
    last_success_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, ip)
);
CREATE INDEX signin_addresses_by_age ON signin_addresses (last_success_at);

-- Lock-out rows are forgotten once old: the sweep deletes by this.
CREATE INDEX lockouts_by_last_failure ON lockouts (last_failure_at);

-- In an impersonated session's records, the workstation address the service declared; the
-- record's client_ip is the address the request came from.
ALTER TABLE audit_log ADD COLUMN declared_ip TEXT;
