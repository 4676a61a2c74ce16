//! Files over the JSON API and the streaming routes, on both engines: upload and download with
//! digests, ranges and resume (curl), versions, permissions, bad uploads, interrupted uploads,
//! and concurrency (`file_crashes.rs` has the crash in the middle of uploads).

mod common;
#[path = "files/expect_continue.rs"]
mod expect_continue;

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, assert_error, sha256_hex};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    upload_list_and_download_with_digest_range_and_etag,
    uploads_to_an_existing_name_make_versions,
    curl_downloads_and_resumes,
    file_permissions_are_enforced,
    bad_uploads_are_refused_and_store_nothing,
    an_interrupted_upload_leaves_nothing,
    fifty_concurrent_uploads_of_one_name_make_fifty_versions,
    rename_move_and_delete_files,
);

#[test]
fn uploads_sent_with_expect_continue_on_one_connection() {
    expect_continue::uploads_on_one_connection(Backend::Sqlite);
}

#[test]
fn a_refused_upload_that_expects_100_continue_sends_no_byte() {
    expect_continue::a_refused_upload_sends_no_byte(Backend::Sqlite);
}

fn session(s: &Server, user: &str, password: &str) -> String {
    s.open_with("OpenImmutable", user, password, APP).0
}

fn home(s: &Server, session: &str) -> i64 {
    let (_, body) = s.call("GetHomeFolder", json!({"sessionID": session}));
    body["FolderID"].as_i64().unwrap()
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn upload_list_and_download_with_digest_range_and_etag(backend: Backend) {
    let s = Server::start(backend);
    let sid = session(&s, ADMIN, ADMIN_PASSWORD);
    let folder = home(&s, &sid);
    let content = data(300_000, 7);
    let (status, file) = s.put_file(&sid, folder, "réport 1.bin", "", &content);
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["Size"], 300_000);
    assert_eq!(file["Version"], 1);
    assert_eq!(file["SHA256"], sha256_hex(&content));
    assert_eq!(file["Name"], "réport 1.bin");
    let id = file["FileID"].as_i64().unwrap();

    let (_, listed) = s.call("GetFiles", json!({"sessionID": sid, "folderID": folder}));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (_, by_name) = s.call(
        "GetFileByName",
        json!({"sessionID": sid, "folderID": folder, "name": "RÉPORT 1.bin"}),
    );
    assert_eq!(by_name["FileID"], id);

    let path = format!("/api/v1/files/{id}/content");
    let (status, headers, body) = s.get_bytes(&path, &[("x-session-id", &sid)]);
    assert_eq!(status, 200);
    assert_eq!(sha256_hex(&body), sha256_hex(&content));
    assert_eq!(
        header(&headers, "etag"),
        format!("\"{}\"", sha256_hex(&content))
    );
    assert!(header(&headers, "content-disposition").starts_with("attachment;"));
    assert!(
        header(&headers, "content-disposition").contains("filename*=UTF-8''r%C3%A9port%201.bin")
    );
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");

    let (status, headers, body) = s.get_bytes(
        &path,
        &[("x-session-id", &sid), ("range", "bytes=1000-1999")],
    );
    assert_eq!(status, 206);
    assert_eq!(body, &content[1000..2000]);
    assert_eq!(header(&headers, "content-range"), "bytes 1000-1999/300000");
    let (status, _, body) = s.get_bytes(&path, &[("x-session-id", &sid), ("range", "bytes=-10")]);
    assert_eq!((status, body.as_slice()), (206, &content[299_990..]));
    let (status, headers, _) =
        s.get_bytes(&path, &[("x-session-id", &sid), ("range", "bytes=300000-")]);
    assert_eq!(status, 416);
    assert_eq!(header(&headers, "content-range"), "bytes */300000");
    for ignored in ["bytes=20-10", "bytes=0-1,5-6", "lines=1-2"] {
        let (status, _, body) = s.get_bytes(&path, &[("x-session-id", &sid), ("range", ignored)]);
        assert_eq!((status, body.len()), (200, content.len()), "{ignored}");
    }
    let etag = format!("\"{}\"", sha256_hex(&content));
    let (status, _, body) = s.get_bytes(&path, &[("x-session-id", &sid), ("if-none-match", &etag)]);
    assert_eq!((status, body.len()), (304, 0));

    // The compatibility link of the public Thru documentation.
    let (status, _, body) =
        s.get_bytes(&format!("/download.aspx?fileid={id}&sessionid={sid}"), &[]);
    assert_eq!(status, 200);
    assert_eq!(body.len(), content.len());

    // A zero-byte file.
    let (status, empty) = s.put_file(&sid, folder, "empty.txt", "", b"");
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty["SHA256"], sha256_hex(b""));
    let (status, _, body) = s.get_bytes(
        &format!("/api/v1/files/{}/content", empty["FileID"]),
        &[("x-session-id", &sid)],
    );
    assert_eq!((status, body.len()), (200, 0));

    let audit = s.audit();
    let up = audit
        .iter()
        .find(|r| r["operation"] == "FileUploaded")
        .unwrap();
    assert_eq!(up["digest"], sha256_hex(&content));
    assert_eq!(up["size"], 300_000);
    assert_eq!(up["file_id"], id);
    let downloads = audit
        .iter()
        .filter(|r| r["operation"] == "FileDownloaded")
        .count();
    assert_eq!(
        downloads, 8,
        "every download, ranged or whole, is audited (not the 304 or 416)"
    );
}

fn uploads_to_an_existing_name_make_versions(backend: Backend) {
    let s = Server::start(backend);
    let sid = session(&s, ADMIN, ADMIN_PASSWORD);
    let folder = home(&s, &sid);
    let (_, v1) = s.put_file(&sid, folder, "a.txt", "", b"one");
    let (_, v2) = s.put_file(&sid, folder, "A.TXT", "?overwrite=true", b"two!");
    assert_eq!(v2["FileID"], v1["FileID"]);
    assert_eq!(v2["Version"], 2);
    assert_eq!(v2["Name"], "a.txt", "the name keeps its first spelling");
    assert_error(
        &s.put_file(&sid, folder, "a.txt", "?overwrite=false", b"three"),
        409,
        204,
    );
    let (_, versions) = s.call(
        "GetFileVersions",
        json!({"sessionID": sid, "fileID": v1["FileID"]}),
    );
    let versions = versions.as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["SHA256"], sha256_hex(b"one"));
    assert_eq!(versions[1]["SHA256"], sha256_hex(b"two!"));
    let (_, _, body) = s.get_bytes(
        &format!("/api/v1/files/{}/content", v1["FileID"]),
        &[("x-session-id", &sid)],
    );
    assert_eq!(body, b"two!");
}

fn curl_downloads_and_resumes(backend: Backend) {
    let s = Server::start(backend);
    let sid = session(&s, ADMIN, ADMIN_PASSWORD);
    let folder = home(&s, &sid);
    let content = data(2_000_000, 3);
    let (_, file) = s.put_file(&sid, folder, "big.bin", "", &content);
    let url = format!("{}/api/v1/files/{}/content", s.base, file["FileID"]);
    let out = s.path().join("curl.bin");
    // A partial first part, as if the connection had dropped, then curl's own resume.
    std::fs::write(&out, &content[..700_000]).unwrap();
    let status = Command::new("curl")
        .args(["-sS", "-f", "-C", "-", "-H"])
        .arg(format!("X-Session-ID: {sid}"))
        .arg("-o")
        .arg(&out)
        .arg(&url)
        .status()
        .expect("curl is required by the test suite");
    assert!(status.success());
    assert_eq!(
        sha256_hex(&std::fs::read(&out).unwrap()),
        sha256_hex(&content)
    );
    // curl uploads too.
    let src = s.path().join("src.bin");
    std::fs::write(&src, &content).unwrap();
    let put = Command::new("curl")
        .args(["-sS", "-f", "-T"])
        .arg(&src)
        .args(["-H", &format!("X-Session-ID: {sid}")])
        .arg(format!(
            "{}/api/v1/folders/{folder}/files/from-curl.bin",
            s.base
        ))
        .output()
        .unwrap();
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let answer: Value = serde_json::from_slice(&put.stdout).unwrap();
    assert_eq!(answer["SHA256"], sha256_hex(&content));
}

fn file_permissions_are_enforced(backend: Backend) {
    let s = Server::start(backend);
    let bob = s.add_user("bob", "member", "bob-password");
    let admin = session(&s, ADMIN, ADMIN_PASSWORD);
    let (_, team) = s.call(
        "CreateFolder",
        json!({"sessionID": admin, "parentFolderID": 3, "name": "Team"}),
    );
    let team = team["FolderID"].as_i64().unwrap();
    let (_, file) = s.put_file(&admin, team, "plan.txt", "", b"secret plan");
    let grant = |bits: i64| {
        let (status, body) = s.call(
            "SetFolderPermissionList",
            json!({"sessionID": admin, "folderID": team, "permissionList": [{"Permission": bits, "UserID": bob}]}),
        );
        assert_eq!(status, 200, "{body}");
    };
    let b = session(&s, "bob", "bob-password");
    let content = format!("/api/v1/files/{}/content", file["FileID"]);
    // Nothing granted: the folder and its files are invisible.
    assert_error(
        &s.call("GetFiles", json!({"sessionID": b, "folderID": team})),
        404,
        201,
    );
    assert_eq!(s.get_bytes(&content, &[("x-session-id", &b)]).0, 404);
    // Show only: the folder is visible, its files are not readable.
    grant(1);
    assert_error(
        &s.call("GetFiles", json!({"sessionID": b, "folderID": team})),
        403,
        105,
    );
    assert_eq!(s.get_bytes(&content, &[("x-session-id", &b)]).0, 404);
    // Show + Read: listed, but no download.
    grant(3);
    let (status, list) = s.call("GetFiles", json!({"sessionID": b, "folderID": team}));
    assert_eq!(status, 200);
    assert_eq!(list[0]["EffectivePermission"], 3);
    assert_eq!(s.get_bytes(&content, &[("x-session-id", &b)]).0, 403);
    assert_error(&s.put_file(&b, team, "new.txt", "", b"x"), 403, 105);
    // + Download, + Create: download works, new names work, overwriting needs Modify.
    grant(1 | 2 | 4 | 8);
    let (status, _, body) = s.get_bytes(&content, &[("x-session-id", &b)]);
    assert_eq!((status, body.as_slice()), (200, b"secret plan".as_slice()));
    assert_eq!(s.put_file(&b, team, "new.txt", "", b"x").0, 200);
    assert_error(
        &s.put_file(&b, team, "plan.txt", "", b"overwritten"),
        403,
        105,
    );
    assert_error(
        &s.call(
            "DeleteFile",
            json!({"sessionID": b, "fileID": file["FileID"]}),
        ),
        403,
        105,
    );
    grant(1 | 2 | 4 | 8 | 64);
    assert_eq!(s.put_file(&b, team, "plan.txt", "", b"v2").0, 200);
    let (_, _, body) = s.get_bytes(&content, &[("x-session-id", &b)]);
    assert_eq!(body, b"v2");
}

fn bad_uploads_are_refused_and_store_nothing(backend: Backend) {
    let s = Server::start(backend);
    let sid = session(&s, ADMIN, ADMIN_PASSWORD);
    let folder = home(&s, &sid);
    let wrong = "0".repeat(64);
    assert_error(
        &s.put_file_with(
            &sid,
            folder,
            "d.bin",
            "",
            b"data",
            &[("x-content-sha256", &wrong)],
        ),
        400,
        205,
    );
    let zeros = format!("SHA-256={}=", "A".repeat(43));
    assert_error(
        &s.put_file_with(&sid, folder, "d.bin", "", b"data", &[("digest", &zeros)]),
        400,
        205,
    );
    assert_error(
        &s.put_file_with(
            &sid,
            folder,
            "d.bin",
            "",
            b"data",
            &[("digest", "SHA-256=AAAA")],
        ),
        400,
        110,
    );
    assert_error(
        &s.put_file_with(
            &sid,
            folder,
            "d.bin",
            "",
            b"data",
            &[("x-content-sha256", "nothex")],
        ),
        400,
        110,
    );
    let right = sha256_hex(b"data");
    assert_eq!(
        s.put_file_with(
            &sid,
            folder,
            "ok.bin",
            "",
            b"data",
            &[("x-content-sha256", &right)]
        )
        .0,
        200
    );
    for bad in ["..", ".", "a\\b", "trailing.", "nul\u{0}byte", "ctl\u{1}x"] {
        assert_error(&s.put_file(&sid, folder, bad, "", b"x"), 400, 110);
    }
    // An encoded slash is a name with a slash, refused, never a path.
    let (status, _) = s.put_raw_path(
        &sid,
        &format!("/api/v1/folders/{folder}/files/..%2F..%2Fetc%2Fpasswd"),
        b"x",
    );
    assert_eq!(status, 400);
    assert_error(
        &s.put_file("not-a-guid", folder, "x.bin", "", b"x"),
        400,
        110,
    );
    assert_error(
        &s.put_file(&uuid::Uuid::new_v4().to_string(), folder, "x.bin", "", b"x"),
        401,
        101,
    );
    assert_error(&s.put_file(&sid, 999_999, "x.bin", "", b"x"), 404, 201);
    assert_error(
        &s.put_file(&sid, folder, "x.bin", "?overwrite=maybe", b"x"),
        400,
        110,
    );
    let (_, files) = s.call("GetFiles", json!({"sessionID": sid, "folderID": folder}));
    let names: Vec<_> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["Name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["ok.bin"]);
    assert_eq!(
        std::fs::read_dir(s.path().join("content/staging"))
            .unwrap()
            .count(),
        0
    );
    assert!(s.audit().iter().any(|r| r["operation"] == "UploadFailed"));
    for (skip, take) in [(-1, 10), (0, 0), (0, 1001)] {
        assert_error(
            &s.call(
                "GetFiles",
                json!({"sessionID": sid, "folderID": folder, "skip": skip, "take": take}),
            ),
            400,
            110,
        );
    }
}

fn an_interrupted_upload_leaves_nothing(backend: Backend) {
    let s = Server::start(backend);
    let sid = session(&s, ADMIN, ADMIN_PASSWORD);
    let folder = home(&s, &sid);
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "PUT /api/v1/folders/{folder}/files/partial.bin HTTP/1.1\r\nHost: {addr}\r\nX-Session-ID: {sid}\r\nContent-Length: 10000000\r\n\r\n"
    )
    .unwrap();
    stream.write_all(&data(1_000_000, 1)).unwrap();
    drop(stream);
    let staging = s.path().join("content/staging");
    let mut clean = false;
    for _ in 0..100 {
        if s.audit().iter().any(|r| r["operation"] == "UploadFailed")
            && std::fs::read_dir(&staging).unwrap().count() == 0
        {
            clean = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(clean, "staging is cleaned and the failure audited");
    let (_, files) = s.call("GetFiles", json!({"sessionID": sid, "folderID": folder}));
    assert_eq!(files, json!([]));
}

fn fifty_concurrent_uploads_of_one_name_make_fifty_versions(backend: Backend) {
    let s = Server::start(backend);
    let sid = session(&s, ADMIN, ADMIN_PASSWORD);
    let folder = home(&s, &sid);
    let bodies: Vec<Vec<u8>> = (0..50).map(|i| data(20_000 + i, i as u8)).collect();
    std::thread::scope(|scope| {
        for body in &bodies {
            let (s, sid) = (&s, &sid);
            scope.spawn(move || {
                let (status, answer) = s.put_file(sid, folder, "same.bin", "", body);
                assert_eq!(status, 200, "{answer}");
            });
        }
    });
    let (_, file) = s.call(
        "GetFileByName",
        json!({"sessionID": sid, "folderID": folder, "name": "same.bin"}),
    );
    assert_eq!(file["Version"], 50);
    let (_, versions) = s.call(
        "GetFileVersions",
        json!({"sessionID": sid, "fileID": file["FileID"]}),
    );
    let versions = versions.as_array().unwrap();
    let numbers: Vec<i64> = versions
        .iter()
        .map(|v| v["Version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=50).collect::<Vec<_>>());
    let mut stored: Vec<String> = versions
        .iter()
        .map(|v| v["SHA256"].as_str().unwrap().to_string())
        .collect();
    let mut sent: Vec<String> = bodies.iter().map(|b| sha256_hex(b)).collect();
    stored.sort();
    sent.sort();
    assert_eq!(stored, sent, "no content was lost");
}

fn rename_move_and_delete_files(backend: Backend) {
    let s = Server::start(backend);
    let sid = session(&s, ADMIN, ADMIN_PASSWORD);
    let folder = home(&s, &sid);
    let (_, sub) = s.call(
        "CreateFolder",
        json!({"sessionID": sid, "parentFolderID": folder, "name": "Sub"}),
    );
    let (_, f) = s.put_file(&sid, folder, "x.txt", "", b"x");
    s.put_file(&sid, folder, "y.txt", "", b"y");
    let id = f["FileID"].clone();
    assert_error(
        &s.call(
            "RenameFile",
            json!({"sessionID": sid, "fileID": id, "name": "Y.txt"}),
        ),
        409,
        108,
    );
    assert_error(
        &s.call(
            "RenameFile",
            json!({"sessionID": sid, "fileID": id, "name": "../z"}),
        ),
        400,
        110,
    );
    let (_, renamed) = s.call(
        "RenameFile",
        json!({"sessionID": sid, "fileID": id, "name": "z.txt"}),
    );
    assert_eq!(renamed["Name"], "z.txt");
    let (_, moved) = s.call(
        "MoveFile",
        json!({"sessionID": sid, "fileID": id, "newFolderID": sub["FolderID"]}),
    );
    assert_eq!(moved["ParentFolderID"], sub["FolderID"]);
    let (status, _) = s.call("DeleteFile", json!({"sessionID": sid, "fileID": id}));
    assert_eq!(status, 204);
    assert_error(
        &s.call("GetFile", json!({"sessionID": sid, "fileID": id})),
        404,
        202,
    );
    let (_, files) = s.call(
        "GetFiles",
        json!({"sessionID": sid, "folderID": sub["FolderID"]}),
    );
    assert_eq!(files, json!([]));
    // The name is free again.
    assert_eq!(
        s.put_file(
            &sid,
            sub["FolderID"].as_i64().unwrap(),
            "z.txt",
            "?overwrite=false",
            b"new"
        )
        .0,
        200
    );
    let ops: Vec<_> = s
        .audit()
        .iter()
        .map(|r| r["operation"].as_str().unwrap().to_string())
        .collect();
    for op in ["FileRenamed", "FileMoved", "FileDeleted"] {
        assert!(ops.iter().any(|o| o == op), "{op} is audited");
    }
}
