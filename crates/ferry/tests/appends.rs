//! Appends over SFTP (paramiko's "a" mode: `APPEND`) and FTPS (curl's `--append`: `APPE`)
//! need Modify on the folder, like any new version: without it they are refused and the stored
//! file does not change; with it, the new version holds the old bytes and the new.

mod common;

use std::process::Command;

use common::{ADMIN, ADMIN_PASSWORD, Server, sha256_hex};
use serde_json::json;

/// Appends `text` to `path` over SFTP with paramiko; prints `appended` or `refused`.
const PARAMIKO_APPEND: &str = "import sys, paramiko\n\
    t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))\n\
    t.connect(username=sys.argv[2], password=sys.argv[3])\n\
    s = paramiko.SFTPClient.from_transport(t)\n\
    try:\n\
    \x20   with s.open(sys.argv[4], 'a') as f:\n\
    \x20       f.write(sys.argv[5].encode())\n\
    \x20   print('appended')\n\
    except IOError as e:\n\
    \x20   print('refused', e)\n";

#[test]
fn appends_need_modify_and_never_change_a_stored_version() {
    let s = Server::start_with(
        ferry_testkit::Backend::Sqlite,
        "[sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"40000-49999\"\n",
    );
    s.add_app(1000);
    let bob = s.add_user("bob", "member", "bob-password");
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, 1000);
    let (_, team) = s.call(
        "CreateFolder",
        json!({"sessionID": admin, "parentFolderID": 3, "name": "Team"}),
    );
    let team = team["FolderID"].as_i64().unwrap();
    let (status, plan) = s.put_file(&admin, team, "plan.txt", "", b"the plan");
    assert_eq!(status, 200, "{plan}");
    let grant = |bits: i64| {
        let (status, body) = s.call(
            "SetFolderPermissionList",
            json!({"sessionID": admin, "folderID": team, "permissionList": [{"Permission": bits, "UserID": bob}]}),
        );
        assert_eq!(status, 200, "{body}");
    };
    let sftp_append = |text: &str| {
        let out = Command::new("python3")
            .args([
                "-c",
                PARAMIKO_APPEND,
                &s.sftp_port().to_string(),
                "bob",
                "bob-password",
            ])
            .args(["/Shared/Team/plan.txt", text])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let tail = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tail.path(), b" and its tail").unwrap();
    let ftps_append = || {
        Command::new("curl")
            .args(["-sS", "--ssl-reqd", "-k", "--append", "-T"])
            .arg(tail.path())
            .arg(format!(
                "ftp://bob:bob-password@127.0.0.1:{}/%2FShared/Team/plan.txt",
                s.ftps_port()
            ))
            .output()
            .unwrap()
    };
    let stored = || {
        let (status, files) = s.call("GetFiles", json!({"sessionID": admin, "folderID": team}));
        assert_eq!(status, 200, "{files}");
        (files[0]["Version"].clone(), files[0]["SHA256"].clone())
    };

    // Show, Read, Download and Create, but not Modify: both appends are refused.
    grant(1 | 2 | 4 | 8);
    let out = sftp_append(" over SFTP");
    assert!(out.starts_with("refused"), "SFTP: {out}");
    let curl = ftps_append();
    assert!(!curl.status.success());
    assert!(
        String::from_utf8_lossy(&curl.stderr).contains("550"),
        "FTPS: {}",
        String::from_utf8_lossy(&curl.stderr)
    );
    assert_eq!(stored(), (json!(1), json!(sha256_hex(b"the plan"))));

    // With Modify, each append is a new version; the first version is still there as it was.
    grant(1 | 2 | 4 | 8 | 64);
    assert_eq!(sftp_append(" over SFTP").trim(), "appended");
    let curl = ftps_append();
    assert!(
        curl.status.success(),
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    assert_eq!(
        stored(),
        (
            json!(3),
            json!(sha256_hex(b"the plan over SFTP and its tail"))
        )
    );
    let (status, versions) = s.call(
        "GetFileVersions",
        json!({"sessionID": admin, "fileID": plan["FileID"]}),
    );
    assert_eq!(status, 200, "{versions}");
    assert_eq!(versions[0]["SHA256"], sha256_hex(b"the plan"), "{versions}");
}
