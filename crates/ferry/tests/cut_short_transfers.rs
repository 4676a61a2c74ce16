//! Transfers cut short say so in the audit log. A download that ends before its last byte: its
//! `FileDownloaded` (written before the first byte) is followed by a `DownloadBrokenOff` with
//! the bytes sent, and a download read to its end has none; over HTTP (curl giving up), a ZIP,
//! SFTP (paramiko closing early or dropping the connection) and FTPS (ftplib cutting the data
//! connection). An SFTP upload that stores nothing (its `CLOSE` refused, or its connection gone
//! before one) is an `UploadFailed`, as an FTPS or HTTP upload cut short always was.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{APP, Server, run_ok};
use ferry_testkit::Backend;
use serde_json::{Value, json};

/// The `DownloadBrokenOff` records, once `n` are there (each is written after its transfer
/// goes, by a task of its own).
fn broken_off(s: &Server, n: usize) -> Vec<Value> {
    common::awaited_audit(s, "DownloadBrokenOff", n)
}

/// curl fetching `path`, killed once 64 KiB of the body reached it: a client gone halfway.
fn curl_gives_up(s: &Server, session: &str, path: &str) {
    use std::io::Read;
    let mut curl = Command::new("curl")
        .args(["-s", "--limit-rate", "1M"])
        .args(["-H", &format!("X-Session-ID: {session}")])
        .arg(format!("{}{path}", s.base))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("curl runs");
    let mut got = vec![0u8; 64 << 10];
    curl.stdout.take().unwrap().read_exact(&mut got).unwrap();
    curl.kill().unwrap();
    curl.wait().unwrap();
}

#[test]
fn an_http_download_or_zip_given_up_is_recorded_as_broken_off_and_a_whole_one_is_not() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("bob", "member", "bob-password-1");
    let (bob, _) = s.open("bob", "bob-password-1", APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": bob}));
    let home = home["FolderID"].as_i64().unwrap();
    let size = common::paused_get::beyond_socket_buffers(10 << 20);
    let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let (status, file) = s.put_file(&bob, home, "big.bin", "", &content);
    assert_eq!(status, 200);
    let id = file["FileID"].as_i64().unwrap();
    let path = format!("/api/v1/files/{id}/content");

    let (status, _, whole) = s.get_bytes(&path, &[("X-Session-ID", &bob)]);
    assert_eq!((status, whole.len()), (200, content.len()));
    let (status, _, part) = s.get_bytes(&path, &[("X-Session-ID", &bob), ("Range", "bytes=0-99")]);
    assert_eq!((status, part.len()), (206, 100));
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        broken_off(&s, 0).is_empty(),
        "whole downloads recorded as broken off"
    );

    curl_gives_up(&s, &bob, &path);
    let records = broken_off(&s, 1);
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r["file_id"], id);
    assert_eq!(r["status"], "Failure");
    let sent = r["size"].as_i64().unwrap();
    assert!(sent > 0 && sent < size as i64, "{r}");
    let detail = r["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!("broken off after {sent} of {size} bytes")),
        "{detail}"
    );

    curl_gives_up(&s, &bob, &format!("/api/v1/folders/{home}/zip"));
    let records = broken_off(&s, 2);
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[1]["file_id"], id);
    s.ferry_ok(&["audit", "verify"], None);
}

#[test]
fn sftp_and_ftps_downloads_cut_short_are_recorded_as_broken_off() {
    let s = Server::start_with(
        Backend::Sqlite,
        "[sftp]\nlisten = \"127.0.0.1:0\"\n\
         [ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"40000-49999\"\n",
    );
    s.add_user("alice", "member", "alice-password-1");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cut_short/partial_reads.py");
    let out = run_ok(Command::new("python3").arg(&script).args([
        &s.sftp_port().to_string(),
        &s.ftps_port().to_string(),
        "alice",
        "alice-password-1",
    ]));
    assert!(
        out.contains("FTPS whole.bin with REST at its size: nothing sent"),
        "{out}"
    );
    let records = broken_off(&s, 3);
    let downloads: Vec<Value> = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "FileDownloaded")
        .collect();
    // whole.bin three times, big.bin three times.
    assert_eq!(downloads.len(), 6, "{downloads:?}\n{out}");
    let names: Vec<(&str, i64)> = records
        .iter()
        .map(|r| (r["path"].as_str().unwrap(), r["size"].as_i64().unwrap()))
        .collect();
    assert_eq!(names.len(), 3, "{names:?}\n{out}");
    assert!(names.iter().all(|(n, _)| *n == "big.bin"), "{names:?}");
    // The SFTP close after 100,000 bytes (read ahead of by paramiko at most by a few
    // requests), the SFTP connection dropped after 50,000, the FTPS cut after 64 KiB (plus
    // what the sockets held).
    let (sftp_close, sftp_drop, ftps_cut) = (names[0].1, names[1].1, names[2].1);
    assert!((100_000..1 << 20).contains(&sftp_close), "{names:?}");
    assert!((50_000..1 << 20).contains(&sftp_drop), "{names:?}");
    assert!((65_536..8 << 20).contains(&ftps_cut), "{names:?}");
    s.ferry_ok(&["audit", "verify"], None);
}

#[test]
fn sftp_uploads_that_store_nothing_are_recorded_as_failed() {
    let s = Server::start_with(Backend::Sqlite, "[sftp]\nlisten = \"127.0.0.1:0\"\n");
    s.add_user("alice", "member", "alice-password-1");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cut_short/sftp_uploads.py");
    let out = run_ok(Command::new("python3").arg(&script).args([
        &s.sftp_port().to_string(),
        "alice",
        "alice-password-1",
    ]));
    assert!(
        out.contains("connection dropped with abandoned.bin open"),
        "{out}"
    );
    let failed = common::awaited_audit(&s, "UploadFailed", 2);
    let got: Vec<(&str, &str)> = failed
        .iter()
        .map(|r| (r["path"].as_str().unwrap(), r["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(got.len(), 2, "{got:?}\n{out}");
    assert_eq!(got[0].0, "orphan.bin", "{got:?}");
    assert!(got[0].1.contains("not found"), "{got:?}");
    assert_eq!(got[1].0, "abandoned.bin", "{got:?}");
    assert!(got[1].1.contains("300000 bytes held, no CLOSE"), "{got:?}");
    assert!(
        failed
            .iter()
            .all(|r| r["status"] == "Failure" && r["application_id"] == 2)
    );
    let uploaded: Vec<Value> = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "FileUploaded")
        .collect();
    assert_eq!(uploaded.len(), 1, "only whole.txt was stored: {uploaded:?}");
    s.ferry_ok(&["audit", "verify"], None);
}
