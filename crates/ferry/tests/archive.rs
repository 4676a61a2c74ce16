//! Folder ZIP downloads, opened and CRC-checked by Python's `zipfile` (a reader nobody on the
//! team wrote), on both engines; and curl's `HEAD` of what is downloaded, which downloads
//! nothing.

mod common;

use std::process::Command;

use common::paused_get::{beyond_socket_buffers, paused_get};
use common::{ADMIN, ADMIN_PASSWORD, APP, Server, assert_error, sha256_hex};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    a_folder_downloads_as_a_zip_with_what_the_caller_may_read,
    a_large_tree_zips_whole_read_a_page_at_a_time
);

fn create(s: &Server, sid: &str, parent: i64, name: &str) -> i64 {
    let (status, f) = s.call(
        "CreateFolder",
        json!({"sessionID": sid, "parentFolderID": parent, "name": name}),
    );
    assert_eq!(status, 200, "{f}");
    f["FolderID"].as_i64().unwrap()
}

/// `zip` opened by Python's `zipfile`, every entry's CRC checked, and the JSON of `expr` (over
/// `z`, the archive) read back.
fn read_zip(s: &Server, zip: &[u8], expr: &str) -> Value {
    let path = s.path().join("read.zip");
    std::fs::write(&path, zip).unwrap();
    let script = format!(
        "import zipfile,hashlib,json,sys\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({expr}))"
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .arg(&path)
        .output()
        .expect("python3 is required by the test suite");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn a_folder_downloads_as_a_zip_with_what_the_caller_may_read(backend: Backend) {
    let s = Server::start(backend);
    let bob = s.add_user("bob", "member", "bob-password");
    let admin = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP).0;
    let top = create(&s, &admin, 3, "Deliveries");
    let sub = create(&s, &admin, top, "Sub");
    let hidden = create(&s, &admin, top, "Hidden");
    let files: Vec<(i64, &str, Vec<u8>)> = vec![
        (top, "a.txt", b"alpha".to_vec()),
        (
            top,
            "résumé.pdf",
            (0..300_000u32).map(|i| (i % 251) as u8).collect(),
        ),
        (top, "empty", Vec::new()),
        (sub, "b.bin", vec![7u8; 70_000]),
        (hidden, "secret.txt", b"not for bob".to_vec()),
    ];
    for (folder, name, body) in &files {
        assert_eq!(s.put_file(&admin, *folder, name, "", body).0, 200);
    }
    let grant = |folder: i64, bits: i64, inherit: bool| {
        let (status, body) = s.call(
            "SetFolderPermissionList",
            json!({"sessionID": admin, "folderID": folder, "permissionList": [{"Permission": bits, "UserID": bob}], "inheritPermissions": inherit}),
        );
        assert_eq!(status, 200, "{body}");
    };
    grant(top, 1 | 2 | 8, true);
    grant(hidden, 1, false);

    let b = s.open_with("OpenImmutable", "bob", "bob-password", APP).0;
    let (status, headers, zip) = s.get_bytes(
        &format!("/api/v1/folders/{top}/zip"),
        &[("x-session-id", &b)],
    );
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/zip")
    );
    let listed = read_zip(
        &s,
        &zip,
        "{i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}",
    );
    let expected = json!({
        "a.txt": sha256_hex(b"alpha"),
        "empty": sha256_hex(b""),
        "résumé.pdf": sha256_hex(&files[1].2),
        "Sub/b.bin": sha256_hex(&files[3].2),
    });
    assert_eq!(listed, expected, "the hidden folder is left out");
    let downloads = s
        .audit()
        .iter()
        .filter(|r| r["operation"] == "FileDownloaded" && r["user_id"] == bob)
        .count();
    assert_eq!(
        downloads, 4,
        "each file in the archive is audited as a download"
    );

    // Thru's legacy page gives the same archive: download.aspx?folderid=…&sessionid=…,
    // named after the folder.
    let (status, headers, legacy) =
        s.get_bytes(&format!("/download.aspx?folderid={top}&sessionid={b}"), &[]);
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-disposition" && v.contains("Deliveries.zip")),
        "{headers:?}"
    );
    let listed = read_zip(
        &s,
        &legacy,
        "{i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}",
    );
    assert_eq!(
        listed, expected,
        "the legacy page leaves the hidden folder out too"
    );
    // Both a file and a folder, a folder that is no number, a session that is not live (101)
    // and none at all (110) are refused.
    for (query, status) in [
        (format!("fileid=1&folderid={top}&sessionid={b}"), 400),
        (format!("folderid=x&sessionid={b}"), 400),
        (
            format!("folderid={top}&sessionid=00000000-0000-0000-0000-000000000000"),
            401,
        ),
        (format!("folderid={top}"), 400),
    ] {
        let (got, _, _) = s.get_bytes(&format!("/download.aspx?{query}"), &[]);
        assert_eq!(got, status, "{query}");
    }

    // Without Download, no archive.
    grant(top, 1 | 2, true);
    let (status, _, _) = s.get_bytes(
        &format!("/api/v1/folders/{top}/zip"),
        &[("x-session-id", &b)],
    );
    assert_eq!(status, 403);
    // Bob may see "Hidden" (Show) but not read it, which is why it was left out.
    let (_, seen) = s.call("GetFolder", json!({"sessionID": b, "folderID": hidden}));
    assert_eq!(seen["EffectivePermission"], 1);
    assert_error(
        &s.call("GetFiles", json!({"sessionID": b, "folderID": hidden})),
        403,
        105,
    );
}

/// Ferry's names may hold what Windows cannot: a ZIP's entries are escaped so that they extract
/// where they belong (`C:evil.bat` names no drive, `con.txt` no device) and stay apart.
#[test]
fn zip_entry_names_extract_safely_on_windows() {
    let s = Server::start(ferry_testkit::Backend::Sqlite);
    let admin = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP).0;
    let top = create(&s, &admin, 3, "Out");
    for name in ["C:evil.bat", "con.txt", "a:b.txt", "a_b.txt", "what?.txt"] {
        assert_eq!(
            s.put_file(&admin, top, name, "", name.as_bytes()).0,
            200,
            "{name}"
        );
    }
    let (status, _, zip) = s.get_bytes(
        &format!("/api/v1/folders/{top}/zip"),
        &[("x-session-id", &admin)],
    );
    assert_eq!(status, 200);
    let listed = read_zip(
        &s,
        &zip,
        "{i.filename: z.read(i).decode() for i in z.infolist()}",
    );
    assert_eq!(
        listed,
        json!({
            "C_evil.bat": "C:evil.bat",
            "_con.txt": "con.txt",
            "a_b.txt": "a:b.txt",
            "a_b (2).txt": "a_b.txt",
            "what_.txt": "what?.txt",
        })
    );
}

/// curl's `HEAD` (`-I`), over HTTP/1.1 and HTTP/2, of a file's content, of the legacy link
/// and of a folder's ZIP: the headers a `GET` would have, and no download recorded (before,
/// each `HEAD` was audited as a download, and a ZIP's began writing its first file).
#[test]
fn a_head_answers_without_downloading() {
    let s = Server::start(Backend::Sqlite);
    let sid = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP).0;
    let folder = create(&s, &sid, 3, "Heads");
    let mut file = 0;
    for name in ["a.txt", "b.txt", "c.txt"] {
        let (status, f) = s.put_file(&sid, folder, name, "", name.as_bytes());
        assert_eq!(status, 200, "{f}");
        file = f["FileID"].as_i64().unwrap();
    }
    let downloads = |s: &Server| {
        s.audit()
            .iter()
            .filter(|r| r["operation"] == "FileDownloaded")
            .count()
    };
    let head = |path: &str, http: &str| {
        let out = Command::new("curl")
            .args(["-s", "-I", http, "-H", &format!("x-session-id: {sid}")])
            .arg(format!("{}{path}", s.base))
            .output()
            .expect("curl runs");
        String::from_utf8_lossy(&out.stdout).to_lowercase()
    };
    let content = format!("/api/v1/files/{file}/content");
    let legacy = format!("/download.aspx?fileid={file}&sessionid={sid}");
    let zip = format!("/api/v1/folders/{folder}/zip");
    for http in ["--http1.1", "--http2-prior-knowledge"] {
        for path in [&content, &legacy] {
            let answer = head(path, http);
            assert!(answer.contains(" 200"), "{http} {path}: {answer}");
            assert!(answer.contains("content-length: 5"), "{answer}");
            assert!(answer.contains(&format!("etag: \"{}\"", sha256_hex(b"c.txt"))));
            assert!(answer.contains("filename=\"c.txt\""), "{answer}");
        }
        let answer = head(&zip, http);
        assert!(answer.contains("content-type: application/zip"), "{answer}");
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(downloads(&s), 0, "a HEAD is not a download");
    // The GETs are, once each, and a ZIP's three files three times.
    let (status, _, body) = s.get_bytes(&content, &[("x-session-id", &sid)]);
    assert_eq!((status, body.as_slice()), (200, b"c.txt".as_slice()));
    let (status, _, _) = s.get_bytes(&zip, &[("x-session-id", &sid)]);
    assert_eq!(status, 200);
    assert_eq!(downloads(&s), 4);
}

/// A tree of more files than one page read (1,000) in its top folder, with subfolders, zips
/// whole: every file once, in the order of the walk (a folder's files by name, then its
/// subfolders). The archive's listing is read as it is written, a page at a time, so it is
/// the pages' boundaries that this crosses.
fn a_large_tree_zips_whole_read_a_page_at_a_time(backend: Backend) {
    let s = Server::start(backend);
    let admin = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP).0;
    let top = create(&s, &admin, 3, "Statements");
    let inner = create(&s, &admin, top, "b-inner");
    let deeper = create(&s, &admin, inner, "deeper");
    let other = create(&s, &admin, top, "a-other");
    let mut expected = Vec::new();
    for i in 0..2100 {
        let name = format!("s{i:05}.txt");
        assert_eq!(s.put_file(&admin, top, &name, "", name.as_bytes()).0, 200);
        expected.push(name);
    }
    for (folder, path) in [
        (inner, "b-inner/"),
        (deeper, "b-inner/deeper/"),
        (other, "a-other/"),
    ] {
        for name in ["x.txt", "y.txt"] {
            assert_eq!(s.put_file(&admin, folder, name, "", name.as_bytes()).0, 200);
        }
        expected.push(format!("{path}x.txt"));
        expected.push(format!("{path}y.txt"));
    }
    // More subfolders than the walk reads at a time, each with a file.
    let many = create(&s, &admin, top, "c-many");
    let mut in_many = Vec::new();
    for i in 0..150 {
        let sub = create(&s, &admin, many, &format!("m{i:03}"));
        assert_eq!(s.put_file(&admin, sub, "f.txt", "", b"f").0, 200);
        in_many.push(format!("c-many/m{i:03}/f.txt"));
    }
    let (status, _, zip) = s.get_bytes(
        &format!("/api/v1/folders/{top}/zip"),
        &[("x-session-id", &admin)],
    );
    assert_eq!(status, 200);
    let listed: Vec<String> =
        serde_json::from_value(read_zip(&s, &zip, "[i.filename for i in z.infolist()]")).unwrap();
    // Sorted: a-other/…, b-inner/deeper/…, b-inner/….
    expected[2100..].sort();
    let order: Vec<String> = [
        &expected[..2100],     // the top folder's files
        &expected[2100..2102], // a-other/
        &expected[2104..2106], // b-inner/
        &expected[2102..2104], // b-inner/deeper/
        &in_many,              // c-many/m000/ … c-many/m149/
    ]
    .concat();
    assert_eq!(listed.len(), 2256);
    assert_eq!(listed, order);
}

/// Bob's home holding 40 files of 256 KiB (10 MiB: more than the server's socket buffer takes,
/// so a ZIP of it read slowly makes the writer wait); his session and the home's ID.
fn a_home_of_ten_mebibytes(s: &Server) -> (String, i64, usize) {
    s.add_user("bob", "member", "bob-password");
    let (bob, _) = s.open("bob", "bob-password", APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": bob}));
    let home = home["FolderID"].as_i64().unwrap();
    let files = beyond_socket_buffers(40);
    for i in 0..files as u32 {
        let content: Vec<u8> = (0..256 * 1024u32)
            .map(|j| (i * 7 + j % 251) as u8)
            .collect();
        assert_eq!(
            s.put_file(&bob, home, &format!("f{i:02}.bin"), "", &content)
                .0,
            200
        );
    }
    (bob, home, files)
}

/// How many entries a ZIP's bytes begin (local headers), and whether it has an end of
/// central directory (a whole archive does).
fn zip_shape(zip: &[u8]) -> (usize, bool) {
    let count = |sig: &[u8]| zip.windows(4).filter(|w| *w == sig).count();
    (count(b"PK\x03\x04"), count(b"PK\x05\x06") == 1)
}

/// A ZIP runs for as long as its client reads: one read slowly by a live session is whole, and
/// one whose user is disabled meanwhile (which ends their sessions) stops within a second, cut
/// short, instead of sending the rest of the tree to an account that no longer exists.
#[test]
fn a_zip_stops_when_its_session_ends_and_not_before() {
    let s = Server::start(Backend::Sqlite);
    let (bob, home, files) = a_home_of_ten_mebibytes(&s);
    let path = format!("/api/v1/folders/{home}/zip");
    let slow = paused_get(&s.base, &path, &[("X-Session-ID", &bob)], || {
        std::thread::sleep(std::time::Duration::from_millis(1500))
    });
    assert!(slow.head.starts_with("HTTP/1.1 200"), "{}", slow.head);
    assert!(slow.complete);
    assert_eq!(zip_shape(&slow.body), (files, true));
    read_zip(&s, &slow.body, "len(z.infolist())");

    let cut = paused_get(&s.base, &path, &[("X-Session-ID", &bob)], || {
        s.ferry_ok(&["user", "disable", "bob"], None);
        std::thread::sleep(std::time::Duration::from_millis(1500));
    });
    let (entries, whole) = zip_shape(&cut.body);
    assert!(
        entries < files && !whole,
        "{entries} entries, whole: {whole}"
    );
    assert!(s.log().contains("ZIP stream ended early"), "{}", s.log());
}
