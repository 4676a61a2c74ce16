//! Ferry's metadata store: the [`ferry_core::store`] port over SQLite (the embedded default) and
//! PostgreSQL (for several nodes), through sqlx's `Any` driver.
//!
//! One implementation serves both engines: the schemas (`migrations/sqlite`,
//! `migrations/postgres`) use the same tables, 64-bit integers for every number, 0/1 for flags
//! and Unix milliseconds for times, and the queries use `$n` placeholders, which both engines
//! accept. Every query is parameterised; no SQL is ever built from values (DESIGN.md §5,
//! invariant 7). The same test suite runs against both engines.

mod audit_alone;
mod audit_appender;
mod audit_reads;
mod audit_writes;
#[cfg(test)]
mod chain_check;
mod connect;
mod connection_counts;
mod console_reads;
mod counters;
mod db_clock;
mod errors;
mod file_pages;
mod file_writes;
mod folder_reads;
mod folder_writes;
mod group_commit;
mod group_reads;
mod inline_contents;
mod metadata_items;
mod queries;
mod quiet_tx;
mod rows;
mod search_reads;
mod second_factors;
mod session_bounds;
mod session_cache;
mod session_keys;
mod session_reads;
mod share_links;
mod sqlite_reader;
mod start_folders;
mod store;
mod tool_grants;
mod transfer_state;
mod tus_uploads;
mod tx;
mod upload_alone;
mod upload_as_seen;
mod user_reads;

pub use connect::{Engine, StoreOptions, connect};
pub use store::SqlStore;
