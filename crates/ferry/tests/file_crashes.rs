//! What a crash leaves of files, on both engines: a server killed in the middle of uploads
//! keeps only whole files (and an intact audit chain), and content no version references is
//! swept at start-up once old enough.

mod common;

use std::io::Write;
use std::net::TcpStream;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, sha256_hex};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(
    a_crash_during_uploads_leaves_only_whole_files,
    content_no_file_references_is_swept_when_old_enough,
);

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

fn a_crash_during_uploads_leaves_only_whole_files(backend: Backend) {
    let mut s = Server::start(backend);
    let sid = session(&s, ADMIN, ADMIN_PASSWORD);
    let folder = home(&s, &sid);
    // Ten finished uploads, then twenty still streaming when the server is killed.
    for i in 0..10 {
        assert_eq!(
            s.put_file(&sid, folder, &format!("done-{i}.bin"), "", &data(50_000, i))
                .0,
            200
        );
    }
    let addr = s.base.trim_start_matches("http://").to_string();
    let streams: Vec<TcpStream> = (0..20)
        .map(|i| {
            let mut stream = TcpStream::connect(&addr).unwrap();
            write!(
                stream,
                "PUT /api/v1/folders/{folder}/files/open-{i}.bin HTTP/1.1\r\nHost: {addr}\r\nX-Session-ID: {sid}\r\nContent-Length: 5000000\r\n\r\n"
            )
            .unwrap();
            stream.write_all(&data(400_000, i as u8)).unwrap();
            stream
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    s.kill();
    drop(streams);
    let s = s.restart();
    let sid = session(&s, ADMIN, ADMIN_PASSWORD);
    let (_, files) = s.call(
        "GetFiles",
        json!({"sessionID": sid, "folderID": folder, "take": 1000}),
    );
    let files = files.as_array().unwrap();
    assert_eq!(files.len(), 10, "only the finished uploads exist");
    for f in files {
        let (status, _, body) = s.get_bytes(
            &format!("/api/v1/files/{}/content", f["FileID"]),
            &[("x-session-id", &sid)],
        );
        assert_eq!(status, 200);
        assert_eq!(
            sha256_hex(&body),
            f["SHA256"].as_str().unwrap(),
            "{}",
            f["Name"]
        );
    }
    assert_eq!(
        std::fs::read_dir(s.path().join("content/staging"))
            .unwrap()
            .count(),
        0
    );
    assert!(s.ferry_ok(&["audit", "verify"], None).contains("intact"));
}

fn content_no_file_references_is_swept_when_old_enough(backend: Backend) {
    let s = Server::start(backend);
    let sid = session(&s, ADMIN, ADMIN_PASSWORD);
    let folder = home(&s, &sid);
    let (_, file) = s.put_file(&sid, folder, "kept.bin", "", b"kept");
    // What a crash between the content commit and the metadata commit leaves: objects no
    // version references, one old, one fresh (it could be an upload committing right now).
    let (old, young) = common::plant_orphans(&s.path().join("content/objects/ab"));
    // The sweep runs at start-up.
    let s = s.restart();
    let mut swept = false;
    for _ in 0..100 {
        if !old.exists() {
            swept = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(swept, "the old unreferenced object is removed");
    assert!(young.exists(), "a young object is left alone");
    let sid = session(&s, ADMIN, ADMIN_PASSWORD);
    let (status, _, body) = s.get_bytes(
        &format!("/api/v1/files/{}/content", file["FileID"]),
        &[("x-session-id", &sid)],
    );
    assert_eq!((status, body.as_slice()), (200, b"kept".as_slice()));
}
