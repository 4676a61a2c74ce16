-- Signed-in connections per user and protocol, counted across the nodes (issue 20): one row
-- per connection, renewed by its node (`holder`) until `alive_until` (the database's clock,
-- Unix milliseconds). A node that dies stops renewing, and its rows stop counting.
CREATE TABLE user_connections (
    id          TEXT    PRIMARY KEY,
    user_id     BIGINT NOT NULL,
    protocol    TEXT    NOT NULL,
    holder      TEXT    NOT NULL,
    alive_until BIGINT NOT NULL
);
CREATE INDEX user_connections_by_user ON user_connections (user_id, protocol);
CREATE INDEX user_connections_by_holder ON user_connections (holder);
