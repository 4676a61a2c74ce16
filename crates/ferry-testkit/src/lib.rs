//! Test support shared by Ferry's test suites: the two metadata-store engines as test
//! parameters, a throwaway PostgreSQL cluster per test process, a throwaway OpenLDAP slapd
//! per test, throwaway S3-compatible servers (moto, s3s-fs), and free loopback ports.
//!
//! PostgreSQL: if `FERRY_TEST_DATABASE_URL` names a server (`postgres://user@host:port/db`),
//! each test gets a fresh database on it. Otherwise the first test that needs PostgreSQL starts
//! a private cluster with Debian's `initdb`/`pg_ctl` (as the `postgres` user when run as root)
//! on a free loopback port, and an exit hook stops it when the test process ends. A missing
//! PostgreSQL is a test failure, never a skip.

mod postgres;
pub mod s3;
pub mod slapd;

use std::net::TcpListener;
use std::path::Path;

pub use postgres::PgCluster;
pub use s3::{S3Kind, S3Server};
pub use slapd::Slapd;

/// A metadata-store engine to run a test against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file in the test's data directory.
    Sqlite,
    /// A fresh database on the shared PostgreSQL server.
    Postgres,
}

impl Backend {
    /// A database URL for a new, empty database for one test. `data_dir` is the test's own
    /// directory (used by SQLite).
    pub fn fresh_database_url(self, data_dir: &Path) -> String {
        match self {
            Backend::Sqlite => format!("sqlite://{}", data_dir.join("ferry.db").display()),
            Backend::Postgres => postgres::fresh_database_url(),
        }
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// Generates `#[test] fn sqlite()` and `#[test] fn postgres()` in a module named after a
/// scenario function taking a [`Backend`], so every scenario runs on both engines.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[test]
                fn sqlite() {
                    super::$scenario($crate::Backend::Sqlite)
                }
                #[test]
                fn postgres() {
                    super::$scenario($crate::Backend::Postgres)
                }
            }
        )+
    };
}
