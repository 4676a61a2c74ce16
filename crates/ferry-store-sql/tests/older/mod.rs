//! A database as an older version of Ferry left it, for the tests of what a migration or a
//! start-up step does to rows written before: one connection to it, and the migrations up to
//! a version.

use std::borrow::Cow;

use ferry_testkit::Backend;
use sqlx::any::AnyPoolOptions;

/// One connection to the test's database (an SQLite file made if missing).
pub async fn one_connection(url: &str, backend: Backend) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let url = match backend {
        Backend::Sqlite => format!("{url}?mode=rwc"),
        Backend::Postgres => url.to_string(),
    };
    AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap()
}

/// One connection to the database at `url`, migrated up to and including `last` and no
/// further.
pub async fn migrated_up_to(url: &str, backend: Backend, last: i64) -> sqlx::AnyPool {
    let pool = one_connection(url, backend).await;
    let mut migrator = match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    let older: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|m| m.version <= last)
        .cloned()
        .collect();
    assert_eq!(older.last().map(|m| m.version), Some(last));
    migrator.migrations = Cow::Owned(older);
    migrator.run(&pool).await.unwrap();
    pool
}
