//! The Python example client (`examples/python/`, using `requests`) against a live server:
//! proof that the API is usable outside Rust. Python and `requests` missing is a failure.

mod common;

use std::process::Command;

use common::Server;
use ferry_testkit::Backend;

/// Runs `examples/python/<script>` as alice (application 1000) against a fresh server and
/// returns what it printed, asserting that it succeeded.
fn run_example(script: &str) -> String {
    let s = Server::start(Backend::Sqlite);
    s.add_app(1000);
    s.add_user("alice", "member", "alice-password");
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/python");
    let out = Command::new("python3")
        .arg(script)
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
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_python_session_example_runs_against_a_live_server() {
    let stdout = run_example("session_demo.py");
    assert!(stdout.contains("signed in as alice"), "{stdout}");
    assert!(stdout.contains("refused: ErrorCode 101"), "{stdout}");
}

#[test]
fn the_python_files_example_runs_against_a_live_server() {
    let stdout = run_example("files_demo.py");
    assert!(stdout.contains("matches"), "{stdout}");
    assert!(stdout.contains("ErrorCode 202"), "{stdout}");
}
