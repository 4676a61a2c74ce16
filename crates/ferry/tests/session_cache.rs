//! PostgreSQL's session cache (issue 21; `ferry-store-sql/src/session_cache.rs`): a node serves
//! repeated session checks from memory, and stops passing a session as soon as the session or
//! its user changes, whoever changes it: this node (at once), another node, the CLI, or SQL
//! typed by an operator (as soon as the database's notice arrives); and when the notices cannot
//! arrive, it reads the database.
//!
//! The cache's lifetime is a minute here, so that nothing but the notices can explain a
//! session check that fails within the tests' ten seconds.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{ADMIN, ADMIN_PASSWORD, APP, Server};
use ferry_testkit::Backend;
use serde_json::json;

const LONG_CACHE: &str = "[sessions]\ncache_milliseconds = 60000\n";

/// Waits up to ten seconds for `done`.
fn until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still not so after 10 s: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs SQL against the server's database with psql, as an operator would; its output.
fn psql(s: &Server, statement: &str) -> String {
    let out = Command::new("psql")
        .arg(&s.database_url)
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-t", "-A", "-c", statement])
        .output()
        .expect("psql is required by the test suite");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// What the database keeps of a session: the SHA-256 of its ID.
fn key(session: &str) -> String {
    ferry_crypto::sha256_hex(session.as_bytes())
}

/// The session checks this server answered from its cache so far.
fn cache_hits(s: &Server) -> u64 {
    let (status, metrics) = s.get("/metrics");
    assert_eq!(status, 200);
    metrics
        .lines()
        .find(|l| l.starts_with("ferry_session_cache_checks_total{outcome=\"hit\"}"))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap_or(0)
}

/// A second node over the same database.
fn second_node(a: &Server) -> Server {
    let dir = tempfile::Builder::new()
        .prefix("ferry-test-")
        .tempdir()
        .unwrap();
    Server::start_in(dir, a.database_url.clone(), LONG_CACHE)
}

fn open_immutable(s: &Server, user: &str, password: &str) -> String {
    s.open_with("OpenImmutable", user, password, APP).0
}

#[test]
fn repeated_checks_are_served_from_memory_and_end_with_the_session() {
    let a = Server::start_with(Backend::Postgres, LONG_CACHE);
    let b = second_node(&a);
    a.add_user("carol", "member", "carol-password");

    let s = open_immutable(&a, "carol", "carol-password");
    let before = cache_hits(&a);
    for _ in 0..5 {
        assert!(a.alive(&s));
    }
    assert!(
        cache_hits(&a) >= before + 4,
        "five checks of one session were not served from the cache"
    );

    // Closed on this node: the next check here fails at once, without waiting for a notice.
    let (status, _) = a.call("Close", json!({"sessionID": s}));
    assert_eq!(status, 204);
    assert!(
        !a.alive(&s),
        "a session closed on this node still passed here"
    );

    // Closed on another node: this node learns it from the database's notice.
    let s = open_immutable(&a, "carol", "carol-password");
    assert!(a.alive(&s) && a.alive(&s) && b.alive(&s));
    let (status, _) = b.call("Close", json!({"sessionID": s}));
    assert_eq!(status, 204);
    until("a session closed on another node fails here", || {
        !a.alive(&s)
    });
}

#[test]
fn the_cli_and_an_operators_sql_end_cached_sessions() {
    let a = Server::start_with(Backend::Postgres, LONG_CACHE);
    a.add_user("dave", "member", "dave-password");

    // The CLI, another process, disables the user: every cached session of theirs ends.
    let one = open_immutable(&a, "dave", "dave-password");
    let two = open_immutable(&a, "dave", "dave-password");
    assert!(a.alive(&one) && a.alive(&two) && a.alive(&one) && a.alive(&two));
    a.ferry_ok(&["user", "disable", "dave"], None);
    until("the sessions of a user the CLI disabled fail", || {
        !a.alive(&one) && !a.alive(&two)
    });

    // An operator deletes a session, and demotes a user, with SQL.
    let (admin, _) = a.open(ADMIN, ADMIN_PASSWORD, APP);
    assert!(a.alive(&admin) && a.alive(&admin));
    psql(
        &a,
        &format!("DELETE FROM sessions WHERE id = '{}'", key(&admin)),
    );
    until("a session deleted with SQL fails", || !a.alive(&admin));

    a.add_user("erin", "member", "erin-password");
    let erin = open_immutable(&a, "erin", "erin-password");
    assert!(a.alive(&erin) && a.alive(&erin));
    psql(&a, "UPDATE users SET active = 0 WHERE name = 'erin'");
    until("the session of a user deactivated with SQL fails", || {
        !a.alive(&erin)
    });

    // TRUNCATE fires no row trigger; its own notice empties the cache.
    let (admin, _) = a.open(ADMIN, ADMIN_PASSWORD, APP);
    assert!(a.alive(&admin) && a.alive(&admin));
    psql(&a, "TRUNCATE sessions");
    until("a session truncated away fails", || !a.alive(&admin));
}

#[test]
fn without_notices_the_database_is_read() {
    let a = Server::start_with(Backend::Postgres, LONG_CACHE);
    let (s, _) = a.open(ADMIN, ADMIN_PASSWORD, APP);
    assert!(a.alive(&s) && a.alive(&s));

    // The listener's connection is cut; while it is away, a session is deleted, and its
    // notice goes nowhere.
    let cut = psql(
        &a,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE query LIKE 'LISTEN %' AND datname = current_database()",
    );
    assert_eq!(cut, "1", "the node's listener was not found");
    until("the node noticed the lost connection", || {
        a.log().contains("lost PostgreSQL's notices")
    });
    psql(
        &a,
        &format!("DELETE FROM sessions WHERE id = '{}'", key(&s)),
    );
    until(
        "a session deleted while the notices were away fails",
        || !a.alive(&s),
    );

    // The listener comes back, and the cache with it.
    until("the node listens again", || {
        a.log().contains("listening for PostgreSQL's notices again")
    });
    let (s, _) = a.open(ADMIN, ADMIN_PASSWORD, APP);
    let before = cache_hits(&a);
    assert!(a.alive(&s) && a.alive(&s) && a.alive(&s));
    assert!(cache_hits(&a) >= before + 2, "the cache did not come back");
    psql(
        &a,
        &format!("DELETE FROM sessions WHERE id = '{}'", key(&s)),
    );
    until(
        "a session deleted after the listener came back fails",
        || !a.alive(&s),
    );
}
