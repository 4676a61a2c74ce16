-- Single sign-on: users are found by DOMAIN\name (OpenWithTicket), by e-mail
-- (OpenWithTicketEx) and by directory GUID (sso-sync). The *_key columns hold the forms
-- compared (e-mail: ASCII lowercase; DOMAIN\name: lowercase), computed by Ferry on write.
ALTER TABLE users ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN domain_username_key TEXT;
-- SQLite's lower() folds ASCII only, exactly like the e-mail key Ferry computes.
UPDATE users SET email_key = lower(email);
UPDATE users SET domain_username_key = lower(domain_username) WHERE domain_username IS NOT NULL;
CREATE INDEX users_by_email_key ON users (email_key) WHERE email_key <> '';
CREATE UNIQUE INDEX users_by_domain_username ON users (domain_username_key)
    WHERE domain_username_key IS NOT NULL;
CREATE UNIQUE INDEX users_by_sync_id ON users (user_sync_id) WHERE user_sync_id IS NOT NULL;
