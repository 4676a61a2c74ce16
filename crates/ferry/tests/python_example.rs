//! The Python example client (`examples/python/`, using `requests`) against a live server:
//! proof that the API is usable outside Rust. Python and `requests` missing is a failure.

mod common;

use std::process::Command;

use common::Server;
use ferry_testkit::Backend;

#[test]
fn the_python_session_example_runs_against_a_live_server() {
    let s = Server::start(Backend::Sqlite);
    s.add_app(1000);
    s.add_user("alice", "member", "alice-password");
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/python");
    let out = Command::new("python3")
        .arg("session_demo.py")
        .args([
            "--url",
            &s.base,
            "--user",
            "alice",
            "--password",
            "alice-password",
        ])
        .args(["--application-id", "1000"])
        .current_dir(examples)
        .output()
        .expect("python3 is required by the test suite");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("signed in as alice"), "{stdout}");
    assert!(stdout.contains("refused: ErrorCode 101"), "{stdout}");
}

#[test]
fn the_python_files_example_runs_against_a_live_server() {
    let s = Server::start(Backend::Sqlite);
    s.add_app(1000);
    s.add_user("alice", "member", "alice-password");
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/python");
    let out = Command::new("python3")
        .arg("files_demo.py")
        .args([
            "--url",
            &s.base,
            "--user",
            "alice",
            "--password",
            "alice-password",
        ])
        .args(["--application-id", "1000"])
        .current_dir(examples)
        .output()
        .expect("python3 is required by the test suite");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("matches"), "{stdout}");
    assert!(stdout.contains("ErrorCode 202"), "{stdout}");
}
