//! Opening the store: choosing the engine from the URL, pool settings, per-connection pragmas
//! for SQLite, and the migrations, which run at every start-up.

use std::time::Duration;

use ferry_core::store::StoreError;
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;

use crate::errors;
use crate::store::SqlStore;

/// The database engine behind a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `sqlite://path` (the embedded default).
    Sqlite,
    /// `postgres://…` or `postgresql://…`.
    Postgres,
}

impl Engine {
    /// The engine a database URL names, if Ferry supports it.
    pub fn of_url(url: &str) -> Option<Engine> {
        let scheme = url.split(':').next()?.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Engine::Sqlite),
            "postgres" | "postgresql" => Some(Engine::Postgres),
            _ => None,
        }
    }
}

/// Pool settings, and what the start-up step needs.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections held open.
    pub max_connections: u32,
    /// How long a request waits for a connection before the store counts as unavailable.
    pub acquire_timeout: Duration,
    /// The tools' keys, when configured: the start-up step seals with them the session IDs of
    /// links made before IDs were sealed (`session_keys.rs`), so that those links can still be
    /// shown again.
    pub tool_keys: Option<ferry_crypto::tool_token::ToolTokenKeys>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 16,
            // Writers queue on the audit-head lock; under a burst (1,000 parallel sign-ins on
            // two cores) a short timeout would turn queueing into 503s. A database that is down
            // still fails at once: its connections are refused, not slow.
            acquire_timeout: Duration::from_secs(15),
            tool_keys: None,
        }
    }
}

/// Connects to the database at `url`, creating an SQLite file if needed, and migrates it.
pub async fn connect(url: &str, options: &StoreOptions) -> Result<SqlStore, StoreError> {
    sqlx::any::install_default_drivers();
    let engine = Engine::of_url(url).ok_or_else(|| {
        StoreError::Other("the database URL must start with sqlite:// or postgres://".into())
    })?;
    let url = match engine {
        Engine::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
        _ => url.to_string(),
    };
    let pool = AnyPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        // A ping before every acquire doubles the round trips of the hottest path (the session
        // check); a dead connection fails its query instead, the pool discards it, and the
        // caller gets 503 once, which is what a database outage answers anyway.
        .test_before_acquire(false)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if engine == Engine::Sqlite {
                    // WAL lets readers run beside the one writer; FULL makes each commit durable;
                    // the busy timeout makes writers queue rather than fail. `temp_store`: a
                    // grouped change's savepoint keeps the pages it overwrites in a journal of
                    // its own, which SQLite moves to a temporary file past 64 KiB, and one
                    // upload overwrites about 20 pages; in memory it is bounded by the batch
                    // (ARCHITECTURE.md, "Savepoint journals in memory").
                    for pragma in [
                        "PRAGMA journal_mode = WAL",
                        "PRAGMA synchronous = FULL",
                        "PRAGMA busy_timeout = 10000",
                        "PRAGMA foreign_keys = ON",
                        "PRAGMA temp_store = MEMORY",
                    ] {
                        conn.execute(pragma).await?;
                    }
                }
                Ok(())
            })
        })
        .connect(&url)
        .await
        .map_err(errors::db)?;
    let migrator = match engine {
        Engine::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Engine::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    migrator
        .run(&pool)
        .await
        .map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
    let moved =
        crate::session_keys::key_sessions_stored_by_id(&pool, options.tool_keys.as_ref()).await?;
    if moved > 0 {
        tracing::info!(rows = moved, "sessions stored by ID moved to their keys");
    }
    Ok(SqlStore::new(pool, engine, &url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_by_scheme() {
        assert_eq!(Engine::of_url("sqlite:///tmp/x.db"), Some(Engine::Sqlite));
        assert_eq!(Engine::of_url("postgres://u@h/db"), Some(Engine::Postgres));
        assert_eq!(
            Engine::of_url("PostgreSQL://u@h/db"),
            Some(Engine::Postgres)
        );
        assert_eq!(Engine::of_url("mysql://u@h/db"), None);
        assert_eq!(Engine::of_url("/tmp/x.db"), None);
    }

    /// A grouped change's savepoint journal stays in memory on every connection that writes
    /// (ARCHITECTURE.md, "Savepoint journals in memory"): `2` is `MEMORY`.
    #[tokio::test]
    async fn writing_connections_keep_savepoint_journals_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ferry.db");
        let store = connect(
            &format!("sqlite://{}", path.display()),
            &StoreOptions::default(),
        )
        .await
        .unwrap();
        let pooled: i64 = sqlx::query_scalar("PRAGMA temp_store")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        let own = crate::audit_appender::open(&path).unwrap();
        let own: i64 = own
            .query_row("PRAGMA temp_store", [], |row| row.get(0))
            .unwrap();
        assert_eq!((pooled, own), (2, 2));
    }
}
