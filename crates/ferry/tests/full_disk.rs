//! A full disk during an upload: a clear error (507, code 206), nothing recorded, nothing left
//! in staging, and the server keeps serving. The content directory (or, second test, the
//! SQLite database's) is a small tmpfs, which needs root (as CI runs); without it the tests
//! fail rather than pretending.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(an_upload_that_fills_the_disk_is_refused_and_leaves_nothing);

/// Unmounts on drop (lazily: the server may still hold the directory open).
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Mounts a tmpfs of `size` (as `mount -o size=` reads it) on `dir`, unmounted on drop.
fn small_tmpfs(dir: &std::path::Path, size: &str) -> Mount {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test mounts a small tmpfs and must run as root (CI does)"
    );
    std::fs::create_dir_all(dir).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount tmpfs failed");
    Mount(dir.to_path_buf())
}

fn an_upload_that_fills_the_disk_is_refused_and_leaves_nothing(backend: Backend) {
    let dir = tempfile::Builder::new()
        .prefix("ferry-test-")
        .tempdir()
        .unwrap();
    let content = dir.path().join("content");
    let mount = small_tmpfs(&content, "4m");
    let url = backend.fresh_database_url(dir.path());
    let s = Server::start_in(
        dir,
        url,
        "[sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"40000-49999\"\n",
    );
    let _mount = mount;
    s.add_app(APP);

    let sid = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP).0;
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": sid}));
    let home = home["FolderID"].as_i64().unwrap();
    assert_eq!(
        s.put_file(&sid, home, "small.bin", "", &vec![1u8; 1_000_000])
            .0,
        200
    );
    assert_error(
        &s.put_file(&sid, home, "huge.bin", "", &vec![2u8; 8_000_000]),
        507,
        206,
    );
    assert_error(
        &s.put_file(&sid, home, "small.bin", "", &vec![3u8; 8_000_000]),
        507,
        206,
    );

    let (_, files) = s.call("GetFiles", json!({"sessionID": sid, "folderID": home}));
    let files = files.as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(
        files[0]["Version"], 1,
        "the failed new version did not replace the old one"
    );
    assert_eq!(
        std::fs::read_dir(content.join("staging")).unwrap().count(),
        0
    );
    let (status, _, body) = s.get_bytes(
        &format!("/api/v1/files/{}/content", files[0]["FileID"]),
        &[("x-session-id", &sid)],
    );
    assert_eq!((status, body.len()), (200, 1_000_000));
    // The same over SFTP (paramiko pipelines its writes, so the refused WRITE surfaces at
    // close) and FTPS: the client is told, nothing is recorded, nothing is left in staging.
    let script = "import sys, paramiko\n\
        t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))\n\
        t.connect(username=sys.argv[2], password=sys.argv[3])\n\
        s = paramiko.SFTPClient.from_transport(t)\n\
        try:\n\
        \x20   with s.open('/Home/' + sys.argv[2] + '/sftp.bin', 'wb') as f:\n\
        \x20       f.set_pipelined(True)\n\
        \x20       for _ in range(64): f.write(b'5' * 131072)\n\
        \x20   print('stored')\n\
        except IOError as e:\n\
        \x20   print('refused', e)\n";
    let out = Command::new("python3")
        .args([
            "-c",
            script,
            &s.sftp_port().to_string(),
            ADMIN,
            ADMIN_PASSWORD,
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.starts_with("refused"), "SFTP: {out}");
    let big = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(big.path(), vec![6u8; 8_000_000]).unwrap();
    let curl = Command::new("curl")
        .args(["-sS", "--ssl-reqd", "-k", "-T"])
        .arg(big.path())
        .arg(format!(
            "ftp://{ADMIN}:{ADMIN_PASSWORD}@127.0.0.1:{}/%2FHome/{ADMIN}/ftps.bin",
            s.ftps_port()
        ))
        .output()
        .unwrap();
    assert!(!curl.status.success());
    assert!(
        String::from_utf8_lossy(&curl.stderr).contains("452"),
        "FTPS: {}",
        String::from_utf8_lossy(&curl.stderr)
    );
    let (_, files) = s.call("GetFiles", json!({"sessionID": sid, "folderID": home}));
    assert_eq!(files.as_array().unwrap().len(), 1, "{files}");
    assert_eq!(
        std::fs::read_dir(content.join("staging")).unwrap().count(),
        0
    );

    // Space is back once the failed upload is gone: a file that fits still goes through.
    assert_eq!(
        s.put_file(&sid, home, "again.bin", "", &vec![4u8; 1_000_000])
            .0,
        200
    );
}

/// The metadata database's disk full: small files (kept in the database with their version)
/// and sign-ins are refused as a full disk is, 507 and code 206 over HTTP, a failure over SFTP,
/// never "unavailable, retry" (503, code 120, as it was: a client retried for ever) nor a 500;
/// nothing half-recorded, and once there is space again everything goes on, every file
/// acknowledged before reads back and the audit chain is intact.
#[test]
fn a_full_metadata_database_is_told_as_a_full_disk_and_loses_nothing() {
    let dir = tempfile::Builder::new()
        .prefix("ferry-test-")
        .tempdir()
        .unwrap();
    let db = dir.path().join("db");
    let _mount = small_tmpfs(&db, "3m");
    let url = format!("sqlite://{}", db.join("ferry.db").display());
    let s = Server::start_in(dir, url, "[sftp]\nlisten = \"127.0.0.1:0\"\n");
    s.add_app(APP);
    let sid = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP).0;
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": sid}));
    let home = home["FolderID"].as_i64().unwrap();

    // An SFTP client signed in before the disk fills (a sign-in writes its session). Its
    // `CLOSE` is sent by hand: paramiko's `close()` swallows a refusal.
    let script = "import sys, paramiko\n\
        t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))\n\
        t.connect(username=sys.argv[2], password=sys.argv[3])\n\
        s = paramiko.SFTPClient.from_transport(t)\n\
        print('ready', flush=True)\n\
        sys.stdin.readline()\n\
        try:\n\
        \x20   f = s.open('/Home/' + sys.argv[2] + '/sftp.bin', 'wb')\n\
        \x20   f.write(b'5' * 8192)\n\
        \x20   f.flush()\n\
        \x20   f._closed = True\n\
        \x20   s._request(paramiko.sftp.CMD_CLOSE, f.handle)\n\
        \x20   print('stored')\n\
        except IOError as e:\n\
        \x20   print('refused', e)\n";
    let mut sftp = Command::new("python3")
        .args([
            "-c",
            script,
            &s.sftp_port().to_string(),
            ADMIN,
            ADMIN_PASSWORD,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = BufReader::new(sftp.stdout.take().unwrap());
    let mut line = String::new();
    said.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");

    // 8 KiB files go into the database: fill it.
    let mut stored = Vec::new();
    let refused = loop {
        let n = stored.len();
        assert!(n < 2_000, "3 MiB never filled");
        let body: Vec<u8> = (0..8192u32).map(|i| (i * 7 + n as u32) as u8).collect();
        let answer = s.put_file(&sid, home, &format!("f{n}.bin"), "", &body);
        if answer.0 != 200 {
            break answer;
        }
        stored.push(body);
    };
    assert!(stored.len() > 10, "{refused:?}");
    assert_error(&refused, 507, 206);
    // Again, and a version of a file that is there: the same answer, nothing replaced.
    assert_error(
        &s.put_file(&sid, home, "f0.bin", "", &[9u8; 8192]),
        507,
        206,
    );
    // A sign-in, which writes its session and record, is told the same.
    let (status, body) = s.call(
        "OpenImmutable",
        json!({"userName": ADMIN, "password": ADMIN_PASSWORD, "applicationID": APP}),
    );
    assert_eq!((status, &body["ErrorCode"]), (507, &json!(206)), "{body}");
    // The SFTP client's upload is refused, and says why.
    writeln!(sftp.stdin.as_mut().unwrap()).unwrap();
    line.clear();
    said.read_line(&mut line).unwrap();
    assert!(
        line.starts_with("refused") && line.contains("error 206"),
        "SFTP: {line}"
    );
    sftp.wait().unwrap();

    // Space again: the same server goes on, with everything acknowledged before.
    let grown = Command::new("mount")
        .args(["-o", "remount,size=64m"])
        .arg(&db)
        .status()
        .unwrap();
    assert!(grown.success());
    assert_eq!(s.put_file(&sid, home, "after.bin", "", b"after").0, 200);
    for (n, body) in stored.iter().enumerate() {
        let (_, file) = s.call(
            "GetFileByName",
            json!({"sessionID": sid, "folderID": home, "name": format!("f{n}.bin")}),
        );
        assert_eq!(file["Version"], 1, "{file}");
        let (status, _, bytes) = s.get_bytes(
            &format!("/api/v1/files/{}/content", file["FileID"]),
            &[("x-session-id", &sid)],
        );
        assert_eq!((status, &bytes), (200, body), "f{n}.bin");
    }
    let verified = s.ferry_ok(&["audit", "verify"], None);
    assert!(verified.contains("audit chain intact"), "{verified}");
    let log = s.log();
    assert!(!log.contains("panicked"), "{log}");
}
