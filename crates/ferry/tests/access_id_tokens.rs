//! SARG 2.7.2.2's download token, without a session (issue 19): `RetrieveUploadInfo` gives a
//! file's `AccessID`; a token `{Version, FilePublicID, Email, AllowedIP, TimeStamp}` sealed
//! with the documented encoders (Python, versions 1 and 2) opens the download tool for it and
//! keeps working after the session that asked is closed; the page acts as that session's user,
//! whose rights are checked when the page opens and on every download. Forged, foreign and
//! mixed IDs get the one refusal every bad token gets. Ferry's own download token (with
//! `Session`) keeps working beside it.

mod common;
#[path = "upload_tool/fixture.rs"]
mod fixture;

use common::utc_stamp;
use ferry_testkit::{Backend, on_both_backends};
use fixture::*;
use serde_json::{Value, json};

on_both_backends!(a_session_less_token_downloads_as_the_user_who_asked);

fn sessionless(ids: &str, version: u8) -> Value {
    json!({"Version": version.to_string(), "FilePublicID": ids, "Email": EMAIL,
           "AllowedIP": "127.0.0.1", "TimeStamp": utc_stamp(0)})
}

fn download_page(f: &Fixture, token: &str) -> (u16, String) {
    f.open_path(&format!("/tools/download?token={}", pct(token)), &[])
}

fn a_session_less_token_downloads_as_the_user_who_asked(backend: Backend) {
    let f = fixture(backend, "", "");
    let py = doc_python();
    let (_, a) =
        f.s.put_file(&f.session, f.folder, "report.pdf", "", b"quarterly figures");
    let (_, b) = f.s.put_file(&f.session, f.folder, "b.txt", "", b"bravo");
    let (a, b) = (a["FileID"].as_i64().unwrap(), b["FileID"].as_i64().unwrap());
    let info = |file: i64| {
        let (status, v) = f.s.call(
            "RetrieveUploadInfo",
            json!({"sessionID": f.session, "fileID": file}),
        );
        assert_eq!(status, 200, "{v}");
        v
    };
    let ia = info(a);
    assert_eq!(ia["Folders"], json!([]), "{ia}");
    let fa = &ia["Files"][0];
    assert_eq!(
        (
            fa["FileData"]["FileID"].as_i64(),
            fa["FileData"]["Name"].as_str()
        ),
        (Some(a), Some("report.pdf"))
    );
    assert_eq!(
        (fa["FileData"]["Size"].as_i64(), fa["BaseFileId"].as_i64()),
        (Some(17), Some(a))
    );
    let access_a = fa["AccessId"].as_str().unwrap().to_string();
    let access_b = info(b)["Files"][0]["AccessId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(access_a.len(), 43, "{access_a}");
    assert_eq!(
        info(a)["Files"][0]["AccessId"],
        access_a.as_str(),
        "an access ID is stable"
    );

    // The session that asked is closed: the token does not depend on it.
    let (status, _) = f.s.call("Close", json!({"sessionID": f.session}));
    assert_eq!(status, 204);
    for version in [2u8, 1] {
        let plain = sessionless(&format!("{access_a},{access_b}"), version);
        let token = seal(py.path(), version, plain.to_string().as_bytes(), KEY, IV);
        let (status, html) = download_page(&f, &token);
        assert_eq!(status, 200, "version {version}: {html}");
        assert!(
            html.contains("report.pdf") && html.contains("b.txt"),
            "{html}"
        );
        let grant = grant_of_download(&html);
        let (status, _, body) = f.get(&format!("/tools/files/{a}?grant={grant}"), &[]);
        assert_eq!((status, body.as_slice()), (200, &b"quarterly figures"[..]));
    }
    let (_, ann) = f.s.call(
        "GetCurrentUser",
        json!({"sessionID": f.s.open("ann", "ann-password-123", 1000).0}),
    );
    let downloads: Vec<Value> =
        f.s.audit()
            .into_iter()
            .filter(|e| e["operation"] == "FileDownloaded")
            .collect();
    assert_eq!(downloads.len(), 2);
    assert!(downloads.iter().all(|e| e["user_id"] == ann["UserID"]
        && e["external_user"] == EMAIL
        && e["application_id"] == 1));

    // The one answer every bad token gets (the same bytes as a garbage token's).
    let (refused_status, refused_page) = download_page(&f, "garbage");
    assert_eq!(refused_status, 403);
    let mut flipped = access_a.clone().into_bytes();
    flipped[20] = if flipped[20] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let bad: Vec<(&str, Value)> = vec![
        ("a forged access ID", sessionless(&flipped, 2)),
        (
            "a forged ID beside a good one",
            sessionless(&format!("{access_a},{flipped}"), 2),
        ),
        (
            "a file ID without a session",
            sessionless(&a.to_string(), 2),
        ),
        (
            "a folder without a session",
            json!({"Version": "2", "FolderID": f.folder.to_string(),
            "Email": EMAIL, "AllowedIP": "127.0.0.1", "TimeStamp": utc_stamp(0)}),
        ),
        ("an access ID with a session", {
            let mut v = sessionless(&access_a, 2);
            v["Session"] = json!("A2A1163E-555A-469D-BFB4-4DA33980409B");
            v
        }),
        ("another address", {
            let mut v = sessionless(&access_a, 2);
            v["AllowedIP"] = json!("192.0.2.9");
            v
        }),
        ("an old token", {
            let mut v = sessionless(&access_a, 2);
            v["TimeStamp"] = json!(utc_stamp(-3600));
            v
        }),
    ];
    for (what, plain) in bad {
        let token = seal(py.path(), 2, plain.to_string().as_bytes(), KEY, IV);
        let (status, page) = download_page(&f, &token);
        assert_eq!((status, &page), (403, &refused_page), "{what}");
    }

    // Rights are the user's, now: without Download on the folder, the token is refused, and
    // a page opened before stops serving.
    let token = seal(
        py.path(),
        2,
        sessionless(&access_b, 2).to_string().as_bytes(),
        KEY,
        IV,
    );
    let (status, html) = download_page(&f, &token);
    assert_eq!(status, 200);
    let grant = grant_of_download(&html);
    f.s.ferry_ok(&["user", "disable", "ann"], None);
    assert_eq!(
        f.get(&format!("/tools/files/{b}?grant={grant}"), &[]).0,
        403
    );
    let token = seal(
        py.path(),
        2,
        sessionless(&access_b, 2).to_string().as_bytes(),
        KEY,
        IV,
    );
    assert_eq!(download_page(&f, &token).0, 403);
}

/// `RetrieveUploadInfo` asks for Download on the file, and for the browser tools; the
/// `ferry token issue --access-id` command makes the session-less token.
#[test]
fn retrieve_upload_info_checks_rights_and_the_cli_issues_the_token() {
    let f = fixture(Backend::Sqlite, "", "");
    let (_, file) = f.s.put_file(&f.session, f.folder, "x.txt", "", b"x");
    let file = file["FileID"].as_i64().unwrap();
    f.s.add_user("bo", "member", "bo-password-123");
    let (bo, _) =
        f.s.open_with("OpenImmutable", "bo", "bo-password-123", 1000);
    let (status, v) = f.s.call(
        "RetrieveUploadInfo",
        json!({"sessionID": bo, "fileID": file}),
    );
    assert_eq!((status, v["ErrorCode"].as_i64()), (404, Some(202)), "{v}");
    let (status, v) = f.s.call(
        "RetrieveUploadInfo",
        json!({"sessionID": f.session, "fileID": "x"}),
    );
    assert_eq!((status, v["ErrorCode"].as_i64()), (400, Some(110)), "{v}");
    let (_, v) = f.s.call(
        "RetrieveUploadInfo",
        json!({"sessionID": f.session, "fileID": file}),
    );
    let access = v["Files"][0]["AccessId"].as_str().unwrap();
    let token = f.s.ferry_ok(
        &[
            "token",
            "issue",
            "--download",
            "--access-id",
            access,
            "--allowed-ip",
            "127.0.0.1",
        ],
        None,
    );
    let (status, html) = download_page(&f, token.trim());
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("x.txt"));

    // Without the tools, there is no access ID to give.
    let s = common::Server::start(Backend::Sqlite);
    let (session, _) = s.open(common::ADMIN, common::ADMIN_PASSWORD, common::APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let (_, put) = s.put_file(&session, home["FolderID"].as_i64().unwrap(), "y", "", b"y");
    let (status, v) = s.call(
        "RetrieveUploadInfo",
        json!({"sessionID": session, "fileID": put["FileID"]}),
    );
    assert_eq!((status, v["ErrorCode"].as_i64()), (403, Some(105)), "{v}");
}

/// An access ID asked for by an administrator's impersonated session (as an integrator's
/// portal acting for its users asks) acts on the administrator's behalf: the page's records
/// name them, as the impersonated session's own would. Before, they named the user alone, so
/// what the administrator did through such a token was audited as the user's own doing. It
/// works only while the administrator may still impersonate, and cannot be mixed with the
/// user's own access IDs in one token.
#[test]
fn an_access_id_asked_for_on_behalf_of_an_administrator_is_audited_so() {
    let f = fixture(Backend::Sqlite, "", "");
    let py = doc_python();
    let (_, put) =
        f.s.put_file(&f.session, f.folder, "ledger.csv", "", b"a,b\n1,2\n");
    let file = put["FileID"].as_i64().unwrap();
    let ann = f.s.open("ann", "ann-password-123", 1000).1;
    let ada = f.s.add_user("ada", "administrator", "ada-password-123");
    let (admin, _) = f.s.open("ada", "ada-password-123", 1000);
    let (status, v) = f.s.call(
        "OpenImmutableImpersonate",
        json!({"serviceSessionId": admin, "userID": ann, "applicationID": 1000,
               "ipAddress": "203.0.113.7"}),
    );
    assert_eq!(status, 200, "{v}");
    let posing = v["SessionID"].as_str().unwrap().to_string();
    let access_of = |session: &str| {
        let (status, v) = f.s.call(
            "RetrieveUploadInfo",
            json!({"sessionID": session, "fileID": file}),
        );
        assert_eq!(status, 200, "{v}");
        v["Files"][0]["AccessId"].as_str().unwrap().to_string()
    };
    let on_behalf = access_of(&posing);
    let own = access_of(&f.session);
    assert_eq!((on_behalf.len(), own.len()), (54, 43));
    let token = |ids: &str| {
        let plain = sessionless(ids, 2).to_string();
        seal(py.path(), 2, plain.as_bytes(), KEY, IV)
    };

    let (status, html) = download_page(&f, &token(&on_behalf));
    assert_eq!(status, 200, "{html}");
    let grant = grant_of_download(&html);
    let (status, _, body) = f.get(&format!("/tools/files/{file}?grant={grant}"), &[]);
    assert_eq!((status, body.as_slice()), (200, &b"a,b\n1,2\n"[..]));
    let downloads: Vec<Value> =
        f.s.audit()
            .into_iter()
            .filter(|e| e["operation"] == "FileDownloaded")
            .collect();
    assert_eq!(downloads.len(), 1, "{downloads:?}");
    assert_eq!(
        (&downloads[0]["user_id"], &downloads[0]["impersonator_id"]),
        (&json!(ann), &json!(ada)),
        "{downloads:?}"
    );

    // The user's own and an on-behalf access ID together: the one refusal.
    let (refused_status, refused_page) = download_page(&f, "garbage");
    assert_eq!(
        download_page(&f, &token(&format!("{own},{on_behalf}"))),
        (refused_status, refused_page.clone())
    );
    // The user's own still acts as the user alone.
    assert_eq!(download_page(&f, &token(&own)).0, 200);

    // The administrator is one no more: the token is refused, and the page opened before
    // stops serving; the user's own access ID is untouched.
    f.s.ferry_ok(&["user", "set-role", "ada", "member"], None);
    assert_eq!(
        download_page(&f, &token(&on_behalf)),
        (refused_status, refused_page)
    );
    let (status, _, _) = f.get(&format!("/tools/files/{file}?grant={grant}"), &[]);
    assert_eq!(status, 403);
    assert_eq!(download_page(&f, &token(&own)).0, 200);
}
