//! A grant taken away while a large download runs breaks it off within seconds, over HTTP,
//! SFTP (paramiko) and FTPS (ftplib), as an ended session does, and each is recorded as
//! `DownloadBrokenOff`. Before (2026-12-07) each was checked once, when it began: a partner
//! whose access was withdrawn went on receiving the rest of the file, and an FTPS download
//! went on even after its user was disabled (the control connection's watch sleeps while a
//! transfer runs). An FTPS upload likewise took bytes for as long as its client sent them
//! after its user was disabled (refused only at the end), and uploads over every protocol after
//! their grant was taken away; they now stop within seconds.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use common::paused_get::{beyond_socket_buffers, paused_get};
use common::{ADMIN, ADMIN_PASSWORD, APP, Server};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    a_grant_taken_away_breaks_off_downloads_under_way,
    a_disabled_users_ftps_upload_stops_taking_bytes,
    a_grant_taken_away_stops_uploads_under_way
);

const PROTOCOLS: &str = "[sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\n";
/// Show, Read, Download.
const READER: i64 = 1 | 2 | 8;

/// Starts `tests/withdrawn/{script}` with `args` (the FTPS helpers on its path) and waits for
/// its "ready": the peer, and its output to read the report from.
fn ready_peer(script: &str, args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut peer = Command::new("python3")
        .env(
            "PYTHONPATH",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ftps"),
        )
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/withdrawn")
                .join(script),
        )
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(peer.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "{script}: {line}");
    (peer, out)
}

fn a_grant_taken_away_breaks_off_downloads_under_way(backend: Backend) {
    let s = Server::start_with(backend, PROTOCOLS);
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let reports = s.create_folder(&admin, 3, "Reports");
    let bob = s.add_user("bob", "member", "bob-password");
    let grant = |users: &[i64]| {
        let list: Vec<(i64, i64)> = users.iter().map(|u| (*u, READER)).collect();
        s.set_grants(&admin, reports, &list);
    };
    grant(&[bob]);
    let size = beyond_socket_buffers(32 << 20);
    let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let (status, file) = s.put_file(&admin, reports, "big.bin", "", &content);
    assert_eq!(status, 200, "{file}");
    let file = file["FileID"].as_i64().unwrap();

    // SFTP and FTPS: begun, then the grant taken away.
    let (mut peer, mut out) = ready_peer(
        "slow_downloads.py",
        &[
            &s.sftp_port().to_string(),
            &s.ftps_port().to_string(),
            "bob",
            "bob-password",
            "/Shared/Reports/big.bin",
            &size.to_string(),
        ],
    );
    // HTTP: begun, paused with a full pipe, the grant taken away meanwhile.
    let (bob_session, _) = s.open("bob", "bob-password", APP);
    let http = paused_get(
        &s.base,
        &format!("/api/v1/files/{file}/content"),
        &[("X-Session-ID", &bob_session)],
        || {
            grant(&[]);
            // Past the second within which a download is not asked again.
            std::thread::sleep(std::time::Duration::from_millis(1100));
        },
    );
    assert!(http.head.starts_with("HTTP/1.1 200"), "{}", http.head);
    assert!(!http.complete, "HTTP: {} of {size} bytes", http.body.len());
    writeln!(peer.stdin.as_mut().unwrap()).unwrap();
    let mut report = String::new();
    for _ in 0..2 {
        out.read_line(&mut report).unwrap();
    }
    assert!(peer.wait().unwrap().success());
    for name in ["sftp", "ftps"] {
        let words: Vec<&str> = report
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{report}"))
            .split(' ')
            .collect();
        assert_eq!(words[1], "cut", "{report}");
        // It had begun (its first 64 KiB read before the grant went), and did not end.
        let got = words[2].parse::<usize>().unwrap();
        assert!(got >= 64 << 10 && got < size, "{report}");
    }

    let broken: Vec<Value> = common::awaited_audit(&s, "DownloadBrokenOff", 3);
    assert_eq!(broken.len(), 3, "{broken:?}");
    assert!(
        broken
            .iter()
            .all(|r| r["user_id"] == bob && r["file_id"] == file)
    );
}

fn a_disabled_users_ftps_upload_stops_taking_bytes(backend: Backend) {
    let s = Server::start_with(backend, PROTOCOLS);
    s.add_user("bob", "member", "bob-password");
    let (mut peer, mut out) = ready_peer(
        "slow_ftps_upload.py",
        &[&s.ftps_port().to_string(), "bob", "bob-password", "big.bin"],
    );
    s.ferry_ok(&["user", "disable", "bob"], None);
    writeln!(peer.stdin.as_mut().unwrap()).unwrap();
    let mut report = String::new();
    out.read_line(&mut report).unwrap();
    assert!(peer.wait().unwrap().success());
    let words: Vec<&str> = report.trim().splitn(3, ' ').collect();
    assert_eq!(words[0], "cut", "{report}");
    // Refused for the session, having taken bytes for a while (not a data connection refused).
    assert!(words[2].starts_with("421"), "{report}");
    assert!(words[1].parse::<usize>().unwrap() > 1 << 20, "{report}");
    // 10 s of sending would be about 30 MiB: stopped within a few seconds instead.
    assert!(words[1].parse::<usize>().unwrap() < 16 << 20, "{report}");
    let failed = common::awaited_audit(&s, "UploadFailed", 1);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        s.audit().iter().all(|r| r["operation"] != "FileUploaded"),
        "nothing stored"
    );
}

/// Uploads under way over HTTP, SFTP and FTPS (curl, at 1 MiB/s, 40 MiB each) stop taking
/// bytes within seconds of their grant being taken away, each recorded as failed for that
/// reason, nothing stored. Before, each went on for as long as its client sent, and was refused
/// at the end: a partner whose access was withdrawn could go on filling the disk for hours.
fn a_grant_taken_away_stops_uploads_under_way(backend: Backend) {
    let s = Server::start_with(backend, PROTOCOLS);
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let inbox = s.create_folder(&admin, 3, "Inbox");
    let bob = s.add_user("bob", "member", "bob-password");
    // Show, Read, Create and Modify: uploads, new versions.
    s.set_grants(&admin, inbox, &[(bob, 1 | 2 | 4 | 64)]);
    let (session, _) = s.open("bob", "bob-password", APP);
    const TOTAL: usize = 40 << 20;
    let body = s.path().join("outgoing.bin");
    std::fs::write(&body, vec![b'u'; TOTAL]).unwrap();
    let curl = |args: &[&str], url: String| {
        Command::new("curl")
            .args(["-s", "-k", "--limit-rate", "1M", "-o", "/dev/null"])
            .args(["-w", "%{size_upload}"])
            .arg("-T")
            .arg(&body)
            .args(args)
            .arg(url)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let header = format!("X-Session-ID: {session}");
    let mut peers = [
        curl(
            &["-H", &header],
            format!("{}/api/v1/folders/{inbox}/files/http.bin", s.base),
        ),
        curl(
            &["-u", "bob:bob-password"],
            format!("sftp://127.0.0.1:{}/Shared/Inbox/sftp.bin", s.sftp_port()),
        ),
        curl(
            &["--ssl-reqd", "-u", "bob:bob-password"],
            format!("ftp://127.0.0.1:{}/%2FShared/Inbox/ftps.bin", s.ftps_port()),
        ),
    ];
    std::thread::sleep(std::time::Duration::from_millis(1500));
    s.set_grants(&admin, inbox, &[(bob, 1 | 2)]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    for (peer, name) in peers.iter_mut().zip(["http", "sftp", "ftps"]) {
        while peer.try_wait().unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "{name} goes on");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let mut sent = String::new();
        std::io::Read::read_to_string(peer.stdout.as_mut().unwrap(), &mut sent).unwrap();
        let sent: f64 = sent.trim().parse().unwrap();
        // Begun before the grant went (a refusal at the start sends nothing), stopped long
        // before the end (at 1 MiB/s the whole would take 40 s).
        assert!(sent >= (512 << 10) as f64, "{name}: {sent}");
        assert!(sent < (TOTAL / 2) as f64, "{name}: {sent}");
    }
    let failed = common::awaited_audit(&s, "UploadFailed", 3);
    assert_eq!(failed.len(), 3, "{failed:?}");
    for r in &failed {
        assert_eq!(r["user_id"], bob);
        let detail = r["detail"].as_str().unwrap();
        assert!(detail.contains("taken away"), "{detail}");
    }
    assert!(
        s.audit().iter().all(|r| r["operation"] != "FileUploaded"),
        "nothing stored"
    );
    let (_, files) = s.call("GetFiles", json!({"sessionID": admin, "folderID": inbox}));
    assert_eq!(files, json!([]));
}
