//! A download's bytes wait for its audit record on the protocols that answer before it is
//! committed (SFTP's `OPEN`, FTPS's `150` and data connection): against paramiko and ftplib,
//! with SQLite's write lock held by another process (`download_gate/held_record.py`).

mod common;

use std::path::Path;
use std::process::Command;

use common::{Server, run_ok};
use ferry_testkit::Backend;

/// Runs the script in `mode` against a fresh server; returns its output and the server.
fn held_record(mode: &str) -> (String, Server) {
    let s = Server::start_with(
        Backend::Sqlite,
        "[sftp]\nlisten = \"127.0.0.1:0\"\n\
         [ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"40000-49999\"\n",
    );
    s.add_user("alice", "member", "alice-password");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/download_gate/held_record.py");
    let out = run_ok(Command::new("python3").arg(&script).args([
        &s.sftp_port().to_string(),
        &s.ftps_port().to_string(),
        "alice",
        "alice-password",
        s.path().join("ferry.db").to_str().unwrap(),
        mode,
    ]));
    (out, s)
}

fn downloads_recorded(s: &Server) -> usize {
    s.audit()
        .iter()
        .filter(|r| r["operation"] == "FileDownloaded")
        .count()
}

#[test]
fn sftp_and_ftps_send_no_byte_before_the_download_is_recorded() {
    let (out, s) = held_record("wait");
    for line in [
        "SFTP open answered while the record waits",
        "no SFTP byte before the record",
        "no FTPS byte before the record",
        "SFTP bytes once recorded",
        "FTPS bytes once recorded",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert_eq!(downloads_recorded(&s), 2);
    s.ferry_ok(&["audit", "verify"], None);
}

/// Runs a `refuse-…` mode: the script's `line` printed, nothing recorded, the chain whole.
fn refused(mode: &str, line: &str) {
    let (out, s) = held_record(mode);
    assert!(out.contains(line), "{out}");
    assert_eq!(downloads_recorded(&s), 0);
    s.ferry_ok(&["audit", "verify"], None);
}

#[test]
fn an_sftp_download_whose_record_fails_sends_nothing() {
    refused("refuse-sftp", "SFTP read refused without its record");
}

#[test]
fn an_ftps_download_whose_record_fails_sends_nothing() {
    refused("refuse-ftps", "FTPS transfer aborted without its record");
}
