//! A drop box: senders hold Create on a folder without Read, so they cannot see what others
//! left there. A sender whose file's name another sender took first gets it stored under a
//! numbered name (`scan (2).pdf`), over the API, SFTP (curl) and FTPS (ftplib), as a shared
//! link's uploads do; the other sender's file is untouched. Before (2026-12-07) the second
//! sender was refused (105, or 204 with `overwrite=false`), so their delivery failed and the
//! refusal told them the name was there, one probe per name. A rewrite or append of the
//! stored file still needs Modify, and a sender who can read the folder is refused as before.

mod common;

use common::file_clients::ftplib_as;
use common::{APP, Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;
use std::process::Command;

on_both_backends!(a_taken_name_in_a_drop_box_is_numbered_for_a_sender_who_cannot_read_it);

const PROTOCOLS: &str = "[sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\n";
const SHOW: i64 = 1;
const READ: i64 = 2;
const CREATE: i64 = 4;

/// Uploads `body` to `path` over SFTP with curl as `user`; `append` with `--append`. Whether
/// curl succeeded.
fn curl_sftp(s: &Server, user: &str, path: &str, body: &[u8], append: bool) -> bool {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), body).unwrap();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-k", "-u", &format!("{user}:{user}-password"), "-T"])
        .arg(file.path())
        .arg(format!("sftp://127.0.0.1:{}{path}", s.sftp_port()));
    if append {
        cmd.arg("--append");
    }
    let out = cmd.output().unwrap();
    eprintln!("curl: {}", String::from_utf8_lossy(&out.stderr));
    out.status.success()
}

fn a_taken_name_in_a_drop_box_is_numbered_for_a_sender_who_cannot_read_it(backend: Backend) {
    let s = Server::start_with(backend, PROTOCOLS);
    let (admin, _) = s.open(common::ADMIN, common::ADMIN_PASSWORD, APP);
    let senders: Vec<i64> = ["carl", "bob"]
        .iter()
        .map(|u| s.add_user(u, "member", &format!("{u}-password")))
        .collect();
    let reader = s.add_user("dave", "member", "dave-password");
    let (status, inbound) = s.call(
        "CreateFolder",
        json!({"sessionID": admin, "parentFolderID": 3, "name": "Inbound"}),
    );
    assert_eq!(status, 200, "{inbound}");
    let inbound = inbound["FolderID"].as_i64().unwrap();
    let mut grants: Vec<(i64, i64)> = senders.iter().map(|u| (*u, SHOW | CREATE)).collect();
    grants.push((reader, SHOW | READ | CREATE));
    s.set_grants(&admin, inbound, &grants);

    let (carl, _) = s.open("carl", "carl-password", APP);
    let (status, first) = s.put_file(&carl, inbound, "scan.pdf", "", b"carl's scan");
    assert_eq!(status, 200, "{first}");

    // bob's scan.pdf, over the API (with and without overwrite=false), SFTP and FTPS.
    let (bob, _) = s.open("bob", "bob-password", APP);
    let (status, put) = s.put_file(&bob, inbound, "scan.pdf", "", b"bob's scan 1");
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["Name"], "scan (2).pdf");
    let (status, put) = s.put_file(
        &bob,
        inbound,
        "scan.pdf",
        "?overwrite=false",
        b"bob's scan 2",
    );
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["Name"], "scan (3).pdf");
    assert!(curl_sftp(
        &s,
        "bob",
        "/Shared/Inbound/scan.pdf",
        b"bob's scan 3",
        false
    ));
    ftplib_as(
        s.ftps_port(),
        "bob",
        "f.storbinary('STOR /Shared/Inbound/scan.pdf', io.BytesIO(b\"bob's scan 4\"))",
        &[],
    );

    // A rewrite or an append of the stored file needs Modify: refused, over SFTP and FTPS.
    assert!(!curl_sftp(
        &s,
        "bob",
        "/Shared/Inbound/scan.pdf",
        b" more",
        true
    ));
    let appended = ftplib_as(
        s.ftps_port(),
        "bob",
        "try:\n    f.storbinary('APPE /Shared/Inbound/scan.pdf', io.BytesIO(b' more'))\n    print('stored')\nexcept ftplib.error_perm as e:\n    print(e)",
        &[],
    );
    assert!(appended.starts_with("550"), "{appended}");

    // dave can read the folder: he sees the name, and is refused a new version as before.
    let (dave, _) = s.open("dave", "dave-password", APP);
    let refused = s.put_file(&dave, inbound, "scan.pdf", "", b"dave's");
    assert_error(&refused, 403, 105);

    // Every delivery is there, carl's file untouched.
    let (status, files) = s.call(
        "GetFiles",
        json!({"sessionID": admin, "folderID": inbound, "skip": 0, "take": 100}),
    );
    assert_eq!(status, 200, "{files}");
    let mut held: Vec<(String, i64, i64)> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["Name"].as_str().unwrap().to_string(),
                f["Version"].as_i64().unwrap(),
                f["CreatedByUserID"].as_i64().unwrap(),
            )
        })
        .collect();
    held.sort();
    let bob_id = senders[1];
    assert_eq!(
        held,
        vec![
            ("scan (2).pdf".to_string(), 1, bob_id),
            ("scan (3).pdf".to_string(), 1, bob_id),
            ("scan (4).pdf".to_string(), 1, bob_id),
            ("scan (5).pdf".to_string(), 1, bob_id),
            ("scan.pdf".to_string(), 1, senders[0]),
        ]
    );
    let first_id = first["FileID"].as_i64().unwrap();
    let (status, _, bytes) = s.get_bytes(
        &format!("/api/v1/files/{first_id}/content"),
        &[("X-Session-ID", &admin)],
    );
    assert_eq!((status, bytes.as_slice()), (200, b"carl's scan".as_slice()));
}
