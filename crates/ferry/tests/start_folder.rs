//! Where SFTP and FTPS sessions start, per user (issue 16, item 5): the home folder unless an
//! administrator chose another with `ferry user start-folder`; a chosen folder the user can no
//! longer reach is passed over for the home folder; the choice is audited.

mod common;
#[path = "sftp/keyed.rs"]
mod keyed;

use std::process::Command;

use common::{ADMIN, ADMIN_PASSWORD, APP, run_ok};
use keyed::{explain, sftp_batch, start_with_key_and};
use serde_json::json;

#[test]
fn an_administrator_chooses_where_sessions_start_and_an_unreachable_choice_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    let (s, port, key) = start_with_key_and(
        dir.path(),
        "[ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"52000-52999\"\n",
    );
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let (status, partners) = s.call(
        "CreateFolder",
        json!({"sessionID": admin, "parentFolderID": 3, "name": "Partners"}),
    );
    assert_eq!(status, 200, "{partners}");
    let alice = s
        .call(
            "GetCurrentUser",
            json!({"sessionID": s.open("alice", "alice-password", APP).0}),
        )
        .1["UserID"]
        .clone();
    let grant = |bits: i64| {
        let list = if bits == 0 {
            json!([])
        } else {
            json!([{"Permission": bits, "UserID": alice}])
        };
        let (status, body) = s.call(
            "SetFolderPermissionList",
            json!({"sessionID": admin, "folderID": partners["FolderID"], "permissionList": list, "inheritPermissions": false}),
        );
        assert_eq!(status, 200, "{body}");
    };
    grant(1 | 2 | 4 | 8);
    let said = s.ferry_ok(&["user", "start-folder", "alice", "/Shared/Partners"], None);
    assert!(said.contains("start in /Shared/Partners"), "{said}");

    // SFTP: `pwd` and a `put` without a path are in the chosen folder.
    std::fs::write(dir.path().join("x.txt"), b"for the partners").unwrap();
    let out = sftp_batch(dir.path(), port, &key, "pwd\nput x.txt\n");
    let text = explain(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Remote working directory: /Shared/Partners"),
        "{text}"
    );
    let (status, files) = s.call(
        "GetFiles",
        json!({"sessionID": admin, "folderID": partners["FolderID"]}),
    );
    assert_eq!(status, 200, "{files}");
    assert_eq!(files[0]["Name"], "x.txt", "{files}");

    // FTPS starts there too.
    let ftps_pwd = || {
        let script = format!(
            "import ftplib, ssl\n\
             c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE\n\
             f = ftplib.FTP_TLS(context=c, timeout=20); f.connect('127.0.0.1', {})\n\
             f.auth(); f.login('alice', 'alice-password'); print(f.pwd()); f.quit()\n",
            s.ftps_port()
        );
        run_ok(Command::new("python3").args(["-c", &script]))
            .trim()
            .to_string()
    };
    assert_eq!(ftps_pwd(), "/Shared/Partners");

    // Without Show on the folder any more, sessions start at home again.
    grant(0);
    let out = sftp_batch(dir.path(), port, &key, "pwd\n");
    assert!(
        explain(&out).contains("Remote working directory: /Home/alice"),
        "{}",
        explain(&out)
    );
    assert_eq!(ftps_pwd(), "/Home/alice");

    // Cleared: home, even with the grant back. A path naming nothing is refused.
    grant(1 | 2 | 4 | 8);
    let said = s.ferry_ok(&["user", "start-folder", "alice"], None);
    assert!(said.contains("home folder"), "{said}");
    assert_eq!(ftps_pwd(), "/Home/alice");
    let refused = s.ferry(&["user", "start-folder", "alice", "/Shared/Nowhere"], None);
    assert!(!refused.status.success());

    let audit = s.audit();
    let details: Vec<&str> = common::audit_records(&audit, "UserUpdated", 4, "start folder")
        .iter()
        .map(|r| r["detail"].as_str().unwrap())
        .collect();
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(
        details[0].starts_with("start folder /Shared/Partners (folder "),
        "{details:?}"
    );
    assert_eq!(details[1], "start folder: the home folder");
}
