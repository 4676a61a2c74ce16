//! Test set-up shared by the SFTP client tests: a server with SFTP on and alice signing in with
//! an Ed25519 key, OpenSSH's options for a throw-away host, and running OpenSSH's tools.
#![allow(dead_code)] // each test binary uses its own share of these

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::{Server, run_ok};
use ferry_testkit::Backend;

/// A server with SFTP on (and the configuration `extra`), and alice signing in with an
/// Ed25519 key kept in `dir`.
pub fn start_with_key_and(dir: &Path, extra: &str) -> (Server, u16, PathBuf) {
    let s = Server::start_with(
        Backend::Sqlite,
        &format!("[sftp]\nlisten = \"127.0.0.1:0\"\n{extra}"),
    );
    s.add_user("alice", "member", "alice-password");
    let key = dir.join("id_ed25519");
    run_ok(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
            .arg(&key),
    );
    let pubkey = format!("{}.pub", key.display());
    s.ferry_ok(&["user", "add-key", "alice", "--key-file", &pubkey], None);
    let port = s.sftp_port();
    (s, port, key)
}

/// [`start_with_key_and`] with nothing else on.
pub fn start_with_key(dir: &Path) -> (Server, u16, PathBuf) {
    start_with_key_and(dir, "")
}

/// OpenSSH's options for a throw-away test host, signing in with `key` only.
pub fn openssh_options(key: &Path) -> Vec<String> {
    let mut args = vec!["-i".to_string(), key.display().to_string()];
    for option in [
        "StrictHostKeyChecking=no",
        "UserKnownHostsFile=/dev/null",
        "IdentitiesOnly=yes",
        "PasswordAuthentication=no",
        "BatchMode=yes",
        "LogLevel=ERROR",
    ] {
        args.extend(["-o".to_string(), option.to_string()]);
    }
    args
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .expect("OpenSSH's clients are required by the test suite")
}

/// OpenSSH's `sftp` running `commands` as a batch in `dir` (where `batch` is written), as
/// alice signing in with `key`.
pub fn sftp_batch(dir: &Path, port: u16, key: &Path, commands: &str) -> Output {
    std::fs::write(dir.join("batch"), commands).unwrap();
    run(Command::new("sftp")
        .args(openssh_options(key))
        .args(["-P", &port.to_string(), "-b"])
        .arg(dir.join("batch"))
        .arg("alice@127.0.0.1")
        .current_dir(dir))
}

pub fn explain(out: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
