-- Leases (issue 20): work that must run once across every node (the sweeps, the scheduled
-- directory sync) runs on the node holding its lease. The holder renews it as it runs; a node
-- that dies lets it expire, and another takes it. Times are milliseconds since the epoch.
CREATE TABLE leases (
    name       TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
