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
use std::sync::Mutex;

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

/// A TCP port on 127.0.0.1 that is free now and that nothing is likely to take before the
/// caller's server binds it.
///
/// The port is drawn below the kernel's ephemeral range (`ip_local_port_range`), where no
/// outgoing connection and no bind to port 0 (Ferry's own listeners in the tests) lands, and
/// this process never hands out the same port twice (a cursor walks the range from a start
/// drawn from the process ID). A port taken from the ephemeral range by binding port 0 was free
/// only until any parallel test's connection took it, which made slapd fail to start in CI.
pub fn free_port() -> u16 {
    static CURSOR: Mutex<Option<u32>> = Mutex::new(None);
    let (low, high) = quiet_ports();
    let span = high - low;
    let mut cursor = CURSOR.lock().unwrap_or_else(|p| p.into_inner());
    for _ in 0..span {
        let next = cursor.map_or(std::process::id().wrapping_mul(7919) % span, |c| {
            (c + 1) % span
        });
        *cursor = Some(next);
        let port = (low + next) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {low}..{high}");
}

/// The ports [`free_port`] draws from: from 20,000 up to the start of the ephemeral range
/// (32,768 by default on Linux), or 10,000 ports below it if it starts lower.
fn quiet_ports() -> (u32, u32) {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32_768);
    let high = ephemeral_low.clamp(11_024, 65_535);
    (20_000.min(high - 10_000), high)
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
