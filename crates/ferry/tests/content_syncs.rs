//! The order of a stored upload's syncs, as `strace` sees the real server make them: the
//! staged content is fsynced before it is renamed into `objects/`; its directory after; a
//! fan-out directory the upload created is made durable in `objects/` as well; and only then
//! is the database's WAL synced (the commit that makes the file visible). A crash between any
//! two steps then leaves either no file or a whole one.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server};
use ferry_testkit::Backend;
use serde_json::json;

#[test]
fn an_upload_is_synced_content_first_then_its_directories_then_the_database() {
    let s = Server::start(Backend::Sqlite);
    let (session, _) = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let folder = home["FolderID"].as_i64().unwrap();
    let trace = s.path().join("syncs.trace");
    let mut strace = Command::new("strace")
        .args(["-f", "-y", "-e", "trace=fsync,fdatasync,mkdir,rename"])
        .arg("-o")
        .arg(&trace)
        .args(["-p", &s.pid().to_string()])
        .stderr(Stdio::null())
        .spawn()
        .expect("strace (Debian package strace) is required");
    // strace attaches to every thread before the uploads start.
    std::thread::sleep(Duration::from_secs(2));
    for i in 0..3 {
        let (status, _) = s.put_file(&session, folder, &format!("f{i}"), "", b"small file");
        assert!(status == 200 || status == 201, "{status}");
    }
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(strace.id() as i32, libc::SIGINT) };
    strace.wait().unwrap();

    // One event per line: "fsync PATH", "mkdir PATH", "rename FROM TO".
    let text = std::fs::read_to_string(&trace).unwrap();
    let events: Vec<String> = text
        .lines()
        .filter(|l| !l.contains("resumed") && !l.contains("unfinished"))
        .filter_map(|l| {
            let call = l.split_once(' ')?.1.trim_start();
            let (name, rest) = call.split_once('(')?;
            let result_ok = rest.trim_end().ends_with("= 0");
            // Paths come quoted ("/…") or, for descriptors under -y, in angle brackets (<…>).
            let paths: Vec<&str> = rest
                .split(['<', '"'])
                .filter(|p| p.starts_with('/'))
                .filter_map(|p| p.split(['>', '"']).next())
                .collect();
            result_ok.then(|| format!("{name} {}", paths.join(" ")))
        })
        .collect();
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
