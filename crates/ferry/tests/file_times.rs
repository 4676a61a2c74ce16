//! Modification times a client sets (issue 16, items 3 and 8): stored with the version,
//! shown by SFTP attributes, FTP `MDTM`/`MLSD` and the JSON API's `ClientModifiedTime`, and
//! audited. Proved with the tools that depend on them: `rclone sync` run twice uploads nothing
//! the second time, OpenSSH's `put -p` keeps the local time, and WinSCP's `MFMT` sequence
//! (replayed with ftplib).

mod common;
#[path = "sftp/keyed.rs"]
mod keyed;

use std::path::Path;
use std::process::Command;

use common::{APP, Server, rclone, run_ok};
use ferry_testkit::{Backend, on_both_backends};
use keyed::{explain, sftp_batch, start_with_key_and};
use serde_json::Value;

/// alice's home files by name.
fn home(s: &Server) -> std::collections::HashMap<String, Value> {
    let (session, _) = s.open("alice", "alice-password", APP);
    s.home_files(&session)
        .into_iter()
        .map(|f| (f["Name"].as_str().unwrap().to_string(), f))
        .collect()
}

#[test]
fn rclone_sync_twice_uploads_nothing_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let (s, port, _key) = start_with_key_and(dir.path(), "");
    let up = dir.path().join("up");
    std::fs::create_dir(&up).unwrap();
    for i in 0..5 {
        std::fs::write(up.join(format!("f{i}.txt")), format!("file {i}")).unwrap();
    }
    run_ok(
        Command::new("touch")
            .args(["-d", "2001-02-03 04:05:06 UTC"])
            .arg(up.join("f0.txt")),
    );
    let obscured = run_ok(Command::new("rclone").args(["obscure", "alice-password"]));
    let target = format!(
        ":sftp,host=127.0.0.1,port={port},user=alice,pass={}:/Home/alice",
        obscured.trim()
    );
    let sync = || rclone(dir.path(), &["sync", "-v", up.to_str().unwrap(), &target]);
    sync();
    let first = home(&s);
    assert_eq!(first.len(), 5, "{first:?}");
    assert_eq!(
        first["f0.txt"]["ClientModifiedTime"],
        "2001-02-03T04:05:06Z"
    );
    let events = |s: &Server| {
        s.audit()
            .iter()
            .filter(|r| r["operation"] == "FileUploaded" || r["operation"] == "FileTimeSet")
            .count()
    };
    let recorded = events(&s);

    // Nothing changed: nothing is sent, no version made, no time set again.
    let said = sync();
    assert!(!said.contains("Copied"), "{said}");
    let second = home(&s);
    for (name, f) in &second {
        assert_eq!(f["Version"], 1, "{name}: {f}");
    }
    assert_eq!(events(&s), recorded);

    // One file changed: only it is sent, as version 2 with its new time.
    std::fs::write(up.join("f3.txt"), "file 3, changed").unwrap();
    run_ok(
        Command::new("touch")
            .args(["-d", "2002-03-04 05:06:07 UTC"])
            .arg(up.join("f3.txt")),
    );
    sync();
    let third = home(&s);
    for (name, f) in &third {
        let expected = if name == "f3.txt" { 2 } else { 1 };
        assert_eq!(f["Version"], expected, "{name}: {f}");
    }
    assert_eq!(
        third["f3.txt"]["ClientModifiedTime"],
        "2002-03-04T05:06:07Z"
    );
    rclone(dir.path(), &["check", up.to_str().unwrap(), &target]);
}

#[test]
fn openssh_put_p_keeps_the_local_time_and_it_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (s, port, key) = start_with_key_and(dir.path(), "");
    std::fs::write(dir.path().join("old.txt"), "an old file").unwrap();
    run_ok(
        Command::new("touch")
            .args(["-d", "2003-04-05 06:07:08 UTC"])
            .arg(dir.path().join("old.txt")),
    );
    let out = sftp_batch(dir.path(), port, &key, "put -p old.txt\nls -l old.txt\n");
    let said = explain(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("2003"), "ls -l shows the kept time: {said}");
    let files = home(&s);
    assert_eq!(
        files["old.txt"]["ClientModifiedTime"],
        "2003-04-05T06:07:08Z"
    );
    assert_eq!(files["old.txt"]["Version"], 1);

    // `touch` of the stored file through SETSTAT (no upload): the same version, a new time,
    // one audit record; the versions list carries the time too.
    let script = format!(
        "import paramiko\n\
         t = paramiko.Transport(('127.0.0.1', {port})); t.connect(username='alice', password='alice-password')\n\
         s = paramiko.SFTPClient.from_transport(t)\n\
         s.utime('/Home/alice/old.txt', (1_100_000_000, 1_100_000_000))\n\
         print(s.stat('/Home/alice/old.txt').st_mtime)\n\
         s.utime('/Home/alice', (1_100_000_000, 1_100_000_000))\n\
         t.close()\n"
    );
    let out = run_ok(Command::new("python3").args(["-c", &script]));
    assert_eq!(out.trim(), "1100000000", "{out}");
    let files = home(&s);
    assert_eq!(
        files["old.txt"]["ClientModifiedTime"],
        "2004-11-09T11:33:20Z"
    );
    assert_eq!(files["old.txt"]["Version"], 1);
    let (session, _) = s.open("alice", "alice-password", APP);
    let (status, versions) = s.call(
        "GetFileVersions",
        serde_json::json!({"sessionID": session, "fileID": files["old.txt"]["FileID"]}),
    );
    assert_eq!(status, 200, "{versions}");
    assert_eq!(versions[0]["ClientModifiedTime"], "2004-11-09T11:33:20Z");
    let audit = s.audit();
    let set: Vec<&Value> = common::audit_records(&audit, "FileTimeSet", 2, "modified time")
        .into_iter()
        .filter(|r| r["path"] == "old.txt")
        .collect();
    assert_eq!(set.len(), 1, "{set:?}");
    assert_eq!(set[0]["detail"], "modified time 2004-11-09T11:33:20Z");
}

on_both_backends!(winscp_mfmt_sequence_keeps_the_time_over_ftps);

/// On both engines: the times live in migration 0011's columns.
fn winscp_mfmt_sequence_keeps_the_time_over_ftps(backend: Backend) {
    let s = Server::start_with(
        backend,
        "[ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"51000-51999\"\n",
    );
    s.add_user("alice", "member", "alice-password");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ftps/mfmt_session.py");
    let out = run_ok(
        Command::new("python3")
            .arg(script)
            .arg(s.ftps_port().to_string())
            .args(["alice", "alice-password"]),
    );
    assert!(out.trim_end().ends_with("done"), "{out}");
    let audit = s.audit();
    let set = common::audit_records(&audit, "FileTimeSet", 3, "modified time 2001-02-03");
    assert_eq!(
        set.len(),
        1,
        "set once, the repeat changed nothing: {set:?}"
    );
    let files = home(&s);
    assert_eq!(files["kept.txt"]["Version"], 2);
    assert_eq!(files["kept.txt"]["ClientModifiedTime"], Value::Null);
}
