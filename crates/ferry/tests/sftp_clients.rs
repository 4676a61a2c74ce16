//! SFTP as the common OpenSSH tools use it (issue 16): `scp` (which speaks SFTP since
//! OpenSSH 9) and `ssh -s sftp` report the subsystem's exit status as their own, so scripts
//! that run `scp … && next` work; a session starts in the user's home folder, so clients
//! that give no path (`scp x host:`, `put x`) land somewhere writable.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Server, run_ok, sha256_hex};
use ferry_testkit::Backend;

/// A server with SFTP on, and alice signing in with an Ed25519 key kept in `dir`.
fn start_with_key(dir: &Path) -> (Server, u16, PathBuf) {
    let s = Server::start_with(Backend::Sqlite, "[sftp]\nlisten = \"127.0.0.1:0\"\n");
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

/// OpenSSH's options for a throw-away test host, signing in with `key` only.
fn openssh_options(key: &Path) -> Vec<String> {
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

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .expect("OpenSSH's clients are required by the test suite")
}

fn explain(out: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn scp_and_ssh_subsystem_exit_zero_after_a_good_session() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, port, key) = start_with_key(dir.path());
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i * 11 % 251) as u8).collect();
    std::fs::write(dir.path().join("up.bin"), &data).unwrap();
    let target = |path: &str| format!("alice@127.0.0.1:{path}");

    let out = run(Command::new("scp")
        .args(openssh_options(&key))
        .args(["-P", &port.to_string()])
        .arg(dir.path().join("up.bin"))
        .arg(target("/Home/alice/up.bin")));
    assert!(out.status.success(), "scp upload: {}", explain(&out));
    let out = run(Command::new("scp")
        .args(openssh_options(&key))
        .args(["-P", &port.to_string()])
        .arg(target("/Home/alice/up.bin"))
        .arg(dir.path().join("down.bin")));
    assert!(out.status.success(), "scp download: {}", explain(&out));
    assert_eq!(
        sha256_hex(&std::fs::read(dir.path().join("down.bin")).unwrap()),
        sha256_hex(&data)
    );
    // `scp … && next`: the shell sees 0 only when the subsystem said so.
    let script = format!(
        "scp {} -P {port} {} {} && echo next",
        openssh_options(&key).join(" "),
        dir.path().join("up.bin").display(),
        target("/Home/alice/again.bin")
    );
    let out = run(Command::new("sh").args(["-c", &script]));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("next"),
        "{}",
        explain(&out)
    );

    // `ssh -s sftp` whose input ends at once: the server ends the subsystem with status 0.
    let out = run(Command::new("ssh")
        .args(openssh_options(&key))
        .args(["-p", &port.to_string(), "-s"])
        .arg("alice@127.0.0.1")
        .arg("sftp"));
    assert_eq!(out.status.code(), Some(0), "ssh -s sftp: {}", explain(&out));
}

#[test]
fn sessions_start_in_the_home_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (s, port, key) = start_with_key(dir.path());
    std::fs::write(dir.path().join("x.txt"), b"no path given").unwrap();
    // `scp x host:` copies into the start folder.
    let out = run(Command::new("scp")
        .args(openssh_options(&key))
        .args(["-P", &port.to_string()])
        .arg(dir.path().join("x.txt"))
        .arg("alice@127.0.0.1:"));
    assert!(
        out.status.success(),
        "scp to the start folder: {}",
        explain(&out)
    );
    // `sftp` without `cd`: `pwd` is the home folder, `put` lands there; `/Home` and
    // `/Shared` stay reachable; a write where nothing may be written is permission denied.
    std::fs::write(
        dir.path().join("batch"),
        "pwd\nput x.txt y.txt\nls /\nls -l / /Home\n-put x.txt /nowhere.txt\n",
    )
    .unwrap();
    let out = run(Command::new("sftp")
        .args(openssh_options(&key))
        .args(["-P", &port.to_string(), "-b"])
        .arg(dir.path().join("batch"))
        .arg("alice@127.0.0.1")
        .current_dir(dir.path()));
    let said = explain(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("Remote working directory: /Home/alice"),
        "{said}"
    );
    assert!(said.contains("Shared") && said.contains("alice"), "{said}");
    assert!(said.to_lowercase().contains("permission denied"), "{said}");
    // The navigation folders carry the installation's time, not 1 January 1970.
    assert!(!said.contains("1970"), "{said}");
    let (session, _) = s.open("alice", "alice-password", common::APP);
    let names: Vec<String> = s
        .home_files(&session)
        .iter()
        .map(|f| f["Name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"x.txt".to_string()) && names.contains(&"y.txt".to_string()));
}
