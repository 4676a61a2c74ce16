//! A full disk during an upload: a clear error (507, code 206), nothing recorded, nothing left
//! in staging, and the server keeps serving. The content directory is a 4 MiB tmpfs, which
//! needs root (as CI runs); without it the test fails rather than pretending.

mod common;

use std::process::Command;

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

fn an_upload_that_fills_the_disk_is_refused_and_leaves_nothing(backend: Backend) {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test mounts a small tmpfs and must run as root (CI does)"
    );
    let dir = tempfile::Builder::new()
        .prefix("ferry-test-")
        .tempdir()
        .unwrap();
    let content = dir.path().join("content");
    std::fs::create_dir_all(&content).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&content)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount tmpfs failed");
    let url = backend.fresh_database_url(dir.path());
    let s = Server::start_in(
        dir,
        url,
        "[sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"40000-49999\"\n",
    );
    let _mount = Mount(content.clone());
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
