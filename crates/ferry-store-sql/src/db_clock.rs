//! The database's clock in Unix milliseconds, as SQL per engine: what holds and counted
//! connections are timed by, because nodes' clocks may disagree by more than a hold lasts and
//! the database's is the one clock they share.

/// SQLite's clock.
macro_rules! sqlite_now {
    () => {
        "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
    };
}
pub(crate) use sqlite_now;

/// PostgreSQL's clock (the statement's moment, not the transaction's).
macro_rules! postgres_now {
    () => {
        "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
    };
}
pub(crate) use postgres_now;
