//! The order of a stored upload's syncs, as `strace` sees the real server make them: the
//! staged content is fsynced before it is renamed into `objects/`; its directory after; a
//! fan-out directory the upload created is made durable in `objects/` as well; and only then
//! is the database's WAL synced (the commit that makes the file visible). A crash between any
//! two steps then leaves either no file or a whole one. A small file, whose bytes go into the
//! database with its version, costs that one commit and no other sync.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server};
use ferry_testkit::Backend;
use serde_json::json;

/// The syncs, directory makings and renames the server makes while `work` runs, one event per
/// line: "fsync PATH", "mkdir PATH", "rename FROM TO".
fn traced(s: &Server, work: impl FnOnce()) -> Vec<String> {
    traced_calls(s, "fsync,fdatasync,mkdir,rename", work)
}

/// The `calls` the server makes while `work` runs, as [`traced`]; a socket is "TCP…" or
/// "socket:[…]" (when strace cannot name it).
fn traced_calls(s: &Server, calls: &str, work: impl FnOnce()) -> Vec<String> {
    let trace = s.path().join("syncs.trace");
    let mut strace = Command::new("strace")
        .args(["-f", "-y", "-e", &format!("trace={calls}")])
        .arg("-o")
        .arg(&trace)
        .args(["-p", &s.pid().to_string()])
        .stderr(Stdio::null())
        .spawn()
        .expect("strace (Debian package strace) is required");
    // strace attaches to every thread before the uploads start.
    std::thread::sleep(Duration::from_secs(2));
    work();
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(strace.id() as i32, libc::SIGINT) };
    strace.wait().unwrap();
    let text = std::fs::read_to_string(&trace).unwrap();
    text.lines()
        .filter(|l| !l.contains("resumed") && !l.contains("unfinished"))
        .filter_map(|l| {
            let call = l.split_once(' ')?.1.trim_start();
            let (name, rest) = call.split_once('(')?;
            let result_ok = !rest.contains(") = -1");
            // Paths come quoted ("/…") or, for descriptors under -y, in angle brackets (<…>).
            let paths: Vec<&str> = rest
                .split(['<', '"'])
                .filter(|p| p.starts_with('/') || p.starts_with("TCP") || p.starts_with("socket:"))
                .filter_map(|p| p.split(['>', '"']).next())
                .collect();
            result_ok.then(|| format!("{name} {}", paths.join(" ")))
        })
        .collect()
}

fn home(s: &Server) -> (String, i64) {
    let (session, _) = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    (session, home["FolderID"].as_i64().unwrap())
}

#[test]
fn an_upload_is_synced_content_first_then_its_directories_then_the_database() {
    let s = Server::start(Backend::Sqlite);
    let (session, folder) = home(&s);
    // Past the size kept in the database ([files] inline_max_kib, 16 by default).
    let body = vec![7u8; 20 * 1024];
    let events = traced(&s, || {
        for i in 0..3 {
            let (status, _) = s.put_file(&session, folder, &format!("f{i}"), "", &body);
            assert!(status == 200 || status == 201, "{status}");
        }
    });
    let renames: Vec<(usize, &String)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.starts_with("rename ") && e.contains("/content/staging/"))
        .collect();
    assert_eq!(renames.len(), 3, "{events:#?}");
    for (at, rename) in renames {
        let mut parts = rename.split(' ').skip(1);
        let (from, to) = (parts.next().unwrap(), parts.next().unwrap());
        let dir = to.rsplit_once('/').unwrap().0;
        let objects = dir.rsplit_once('/').unwrap().0;
        let before = &events[..at];
        let after = &events[at + 1..];
        assert!(
            before.iter().any(|e| e == &format!("fsync {from}")),
            "the content was not synced before its rename: {events:#?}"
        );
        let dir_synced = after
            .iter()
            .position(|e| e == &format!("fsync {dir}"))
            .unwrap_or_else(|| panic!("{dir} not synced after the rename: {events:#?}"));
        if before.iter().any(|e| e == &format!("mkdir {dir}")) {
            assert!(
                after.iter().any(|e| e == &format!("fsync {objects}")),
                "the new {dir} was not made durable in {objects}: {events:#?}"
            );
        }
        let wal = after
            .iter()
            .position(|e| e.starts_with("fsync ") && e.ends_with("-wal"))
            .unwrap_or_else(|| panic!("no database commit after the rename: {events:#?}"));
        assert!(
            dir_synced < wal,
            "the file was committed before its directory was synced: {events:#?}"
        );
    }
}

#[test]
fn a_download_goes_out_only_after_its_audit_record_is_synced() {
    // Invariant 2: every download is audited before its first byte. Records written alone
    // are committed by SQLite's audit writer (audit_appender.rs), off sqlx: its commit must
    // still be synced before the answer is written to the socket.
    let s = Server::start(Backend::Sqlite);
    let (session, folder) = home(&s);
    let (status, file) = s.put_file(&session, folder, "d", "", b"downloaded file");
    assert_eq!(status, 200, "{file}");
    let path = format!("/api/v1/files/{}/content", file["FileID"]);
    let events = traced_calls(&s, "fsync,fdatasync,write,writev,sendto,sendmsg", || {
        for _ in 0..3 {
            let (status, _, body) = s.get_bytes(&path, &[("X-Session-ID", &session)]);
            assert_eq!(
                (status, body.as_slice()),
                (200, b"downloaded file".as_slice())
            );
        }
    });
    let answers: Vec<usize> = (0..events.len())
        .filter(|&i| events[i].contains(" TCP") || events[i].contains(" socket:"))
        .collect();
    assert_eq!(answers.len(), 3, "one write per answer: {events:#?}");
    let mut since = 0;
    for at in answers {
        assert!(
            events[since..at]
                .iter()
                .any(|e| e.starts_with("fsync ") && e.ends_with("-wal")),
            "a download was answered before its record was synced: {events:#?}"
        );
        since = at + 1;
    }
    let records = s.audit();
    let downloads = records
        .iter()
        .filter(|r| r["operation"] == "FileDownloaded")
        .count();
    assert_eq!(downloads, 3);
}

#[test]
fn a_small_upload_is_one_database_commit() {
    let s = Server::start(Backend::Sqlite);
    let (session, folder) = home(&s);
    let events = traced(&s, || {
        for i in 0..3 {
            let (status, file) = s.put_file(&session, folder, &format!("s{i}"), "", b"small file");
            assert_eq!(status, 200, "{file}");
        }
    });
    // SQLite's own: its WAL at each commit, and its directory when it starts a WAL file.
    let data_dir = s.path().display().to_string();
    let syncs: Vec<&String> = events.iter().filter(|e| e.contains("sync ")).collect();
    assert!(
        syncs
            .iter()
            .all(|e| e.ends_with("-wal") || e.ends_with(&data_dir)),
        "a small file synced more than the database: {events:#?}"
    );
    let commits = syncs.iter().filter(|e| e.ends_with("-wal")).count();
    // (A sweep's commit may fall in the window too.)
    assert!(
        (3..=5).contains(&commits),
        "one commit per upload: {events:#?}"
    );
    assert!(
        !events.iter().any(|e| e.contains("/content/")),
        "a small file touched the content store: {events:#?}"
    );
    // And it reads back, whole and from an offset.
    let (_, files) = s.call(
        "GetFiles",
        json!({"sessionID": session, "folderID": folder}),
    );
    let id = files[0]["FileID"].as_i64().unwrap();
    let (status, _, body) = s.get_bytes(
        &format!("/api/v1/files/{id}/content"),
        &[("X-Session-ID", &session)],
    );
    assert_eq!((status, body.as_slice()), (200, b"small file".as_slice()));
    let (status, _, tail) = s.get_bytes(
        &format!("/api/v1/files/{id}/content"),
        &[("X-Session-ID", &session), ("Range", "bytes=6-")],
    );
    assert_eq!((status, tail.as_slice()), (206, b"file".as_slice()));
}
