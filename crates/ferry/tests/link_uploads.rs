//! Uploads through an upload link ("Request files"). The link never replaces a file, and its
//! sender learns nothing of what the folder holds: a name that is taken (by a file or a
//! folder, in any case) stores the upload as `name (2).ext`, `name (3).ext`, …, answered exactly
//! as any other. Before, anyone holding it made a new version of any file whose name they
//! guessed (with the maker's Modify); then, until 2026-12-06, a taken name was refused with 409,
//! which told an anonymous sender which names were there.
//!
//! Whoever holds an upload link uploads as its maker, so their uploads in
//! progress took the maker's places among `[limits] uploads_per_user`: before, one recipient's
//! 128 stalled `PATCH`es through the link left its maker unable to upload anything, on any
//! protocol, for as long as they trickled bytes. Now a link holds at most 16 uploads in progress
//! (the 17th is answered 429, error 121, as it is made); the maker keeps the rest. The same
//! holds for a token an integration issues under its one session for each of its customers:
//! one customer's page takes 16 places, and the next customer's page uploads on.
//!
//! For the same reason a link's uploads count toward its maker's storage quota
//! (`tests/storage_quota.rs`): before quotas, whoever held a link could fill the disk.

mod common;
#[path = "upload_tool/fixture.rs"]
mod fixture;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine;
use common::web::Browser;
use common::{APP, Server};
use ferry_testkit::{Backend, on_both_backends};

on_both_backends!(a_taken_name_is_numbered_never_replaced_nor_told);

use common::TEST_KEY as KEY;
const LENGTH: usize = 1_000_000;

/// Makes an upload link as the signed-in `maker` from their folder page `home`, opens it as its
/// recipient would, and returns the page's grant.
fn new_link_grant(s: &Server, maker: &mut Browser, home: &str) -> String {
    let link = maker.request_link(home);
    let (status, page) = s.get(&link);
    assert_eq!(status, 200, "{page}");
    let at = page.find("data-grant=\"").expect(&page) + 12;
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

/// Makes a resumable upload of `name` through the link's page (`grant`); its address.
fn create(s: &Server, grant: &str, name: &str) -> String {
    try_create(s, grant, name).unwrap_or_else(|e| panic!("{e}"))
}

/// [`create`], or the server's whole answer if it refused.
fn try_create(s: &Server, grant: &str, name: &str) -> Result<String, String> {
    try_create_of(s, grant, name, LENGTH).map(|(location, _)| location)
}

/// [`try_create`] of an upload of `length` bytes: its address and the server's whole answer.
fn try_create_of(
    s: &Server,
    grant: &str,
    name: &str,
    length: usize,
) -> Result<(String, String), String> {
    let meta = format!(
        "filename {}",
        base64::engine::general_purpose::STANDARD.encode(name)
    );
    let answer = raw(
        s,
        &format!(
            "POST /tools/tus HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTus-Resumable: 1.0.0\r\n\
             Ferry-Grant: {grant}\r\nUpload-Length: {length}\r\nUpload-Metadata: {meta}\r\n\
             Content-Length: 0\r\n\r\n"
        ),
    );
    if !answer.starts_with("HTTP/1.1 201") {
        return Err(answer);
    }
    let at = answer
        .to_ascii_lowercase()
        .find("\r\nlocation: ")
        .expect(&answer)
        + 12;
    let location = answer[at..answer[at..].find("\r\n").unwrap() + at].to_string();
    Ok((location, answer))
}

fn raw(s: &Server, request: &str) -> String {
    let mut c = TcpStream::connect(s.base.trim_start_matches("http://")).unwrap();
    c.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    answer
}

/// Starts the `PATCH` of `location` and leaves it waiting after 64 KiB; `Err` with the
/// server's answer if it refused the upload instead of asking for its bytes.
fn held_patch(s: &Server, grant: &str, location: &str) -> Result<TcpStream, String> {
    held_patch_of(s, grant, location, LENGTH, 64 * 1024)
}

/// [`held_patch`] of an upload of `length` bytes, left waiting after `sent`.
fn held_patch_of(
    s: &Server,
    grant: &str,
    location: &str,
    length: usize,
    sent: usize,
) -> Result<TcpStream, String> {
    let mut c = TcpStream::connect(s.base.trim_start_matches("http://")).unwrap();
    write!(
        c,
        "PATCH {location} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTus-Resumable: 1.0.0\r\n\
         Ferry-Grant: {grant}\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n\
         Content-Length: {length}\r\nExpect: 100-continue\r\n\r\n"
    )
    .unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        if c.read(&mut byte).unwrap() == 0 {
            break;
        }
        seen.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&seen).into_owned();
    if !head.starts_with("HTTP/1.1 100") {
        let mut rest = String::new();
        let _ = c.read_to_string(&mut rest);
        return Err(head + &rest);
    }
    c.write_all(&vec![b'x'; sent]).unwrap();
    Ok(c)
}

#[test]
fn one_link_cannot_hold_every_upload_place_of_its_maker() {
    let s = Server::start_with(
        Backend::Sqlite,
        &format!("[tools]\nkey = \"{KEY}\"\nversion_1 = false"),
    );
    s.add_user("ann", "member", "ann-password-1");
    let mut ann = Browser::new(&s);
    let home = ann.sign_in("ann", "ann-password-1").location.unwrap();
    let folder: i64 = home.rsplit('/').next().unwrap().parse().unwrap();
    let grant = new_link_grant(&s, &mut ann, &home);

    let mut held = Vec::new();
    for i in 0..16 {
        let location = create(&s, &grant, &format!("part{i}.bin"));
        held.push(held_patch(&s, &grant, &location).unwrap_or_else(|e| panic!("{i}: {e}")));
    }
    // Making a resumable upload stages it, so the 17th is refused as it is made.
    let refused = try_create(&s, &grant, "one-too-many.bin").unwrap_err();
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    assert!(refused.contains("\"ErrorCode\":121"), "{refused}");

    // The maker uploads on: the link took 16 of their 128 places.
    let (session, _) = s.open("ann", "ann-password-1", APP);
    let (status, body) = s.put_file(&session, folder, "mine.txt", "", b"still mine");
    assert_eq!(status, 200, "{body}");

    // One of the link's uploads given up: its place comes back.
    drop(held.pop());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match try_create(&s, &grant, "one-more.bin") {
            Ok(_) => break,
            Err(e) if std::time::Instant::now() < deadline && e.starts_with("HTTP/1.1 429") => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn one_token_of_an_integration_cannot_hold_its_other_tokens_places() {
    let f = fixture::fixture(Backend::Sqlite, "", "");
    let py = fixture::doc_python();
    let first = f.grant_for(py.path(), "first@example.net");
    let mut held = Vec::new();
    for i in 0..16 {
        let location = create(&f.s, &first, &format!("part{i}.bin"));
        held.push(held_patch(&f.s, &first, &location).unwrap_or_else(|e| panic!("{i}: {e}")));
    }
    let refused = try_create(&f.s, &first, "one-too-many.bin").unwrap_err();
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    // Another customer's token, under the same session of the same user, uploads on.
    let second = f.grant_for(py.path(), "second@example.net");
    let location = create(&f.s, &second, "theirs.bin");
    held.push(held_patch(&f.s, &second, &location).expect("a place for the second token"));
}

/// Sends all of an upload's bytes in one `PATCH`; the server's answer.
fn send(s: &Server, grant: &str, location: &str, body: &[u8]) -> String {
    let mut c = TcpStream::connect(s.base.trim_start_matches("http://")).unwrap();
    write!(
        c,
        "PATCH {location} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTus-Resumable: 1.0.0\r\n\
         Ferry-Grant: {grant}\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    c.write_all(body).unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    answer
}

/// Makes and sends a whole upload of `name` through the link's page: the creation's answer,
/// then the `PATCH`'s; or the creation's refusal.
fn upload(s: &Server, grant: &str, name: &str, body: &[u8]) -> Result<(String, String), String> {
    let (location, made) = try_create_of(s, grant, name, body.len())?;
    let sent = send(s, grant, &location, body);
    Ok((made, sent))
}

fn a_taken_name_is_numbered_never_replaced_nor_told(backend: Backend) {
    let s = Server::start_with(backend, common::TOOLS);
    s.add_user("ann", "member", "ann-password-1");
    let mut ann = Browser::new(&s);
    let home = ann.sign_in("ann", "ann-password-1").location.unwrap();
    let folder: i64 = home.rsplit('/').next().unwrap().parse().unwrap();
    let (session, _) = s.open("ann", "ann-password-1", APP);
    let (status, _) = s.put_file(&session, folder, "contract.pdf", "", b"%PDF signed");
    assert_eq!(status, 200);
    let (status, body) = s.call(
        "CreateFolder",
        serde_json::json!({"sessionID": session, "parentFolderID": folder, "name": "Invoices"}),
    );
    assert_eq!(status, 200, "{body}");
    let grant = new_link_grant(&s, &mut ann, &home);

    // A free name, a taken one (twice, and in another case), a folder's name: every answer
    // alike, 201 then 204, naming nothing.
    let mut answers = Vec::new();
    for (name, body) in [
        ("notes.txt", &b"notes"[..]),
        ("contract.pdf", b"%PDF forged"),
        ("Contract.PDF", b"%PDF forged again"),
        ("invoices", b"not a folder"),
    ] {
        let (made, sent) = upload(&s, &grant, name, body).unwrap_or_else(|e| panic!("{e}"));
        assert!(sent.starts_with("HTTP/1.1 204"), "{name}: {sent}");
        let shape = |a: &str| {
            a.lines()
                .filter(|l| !l.to_ascii_lowercase().starts_with("date:"))
                .filter(|l| !l.to_ascii_lowercase().starts_with("location:"))
                .filter(|l| !l.to_ascii_lowercase().starts_with("ferry-file-"))
                .filter(|l| !l.to_ascii_lowercase().starts_with("upload-offset:"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        assert!(!made.contains("(2)") && !sent.contains("(2)") && !sent.contains("(3)"));
        answers.push((shape(&made), shape(&sent)));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");

    let files = s.home_files(&session);
    let by_name = |n: &str| files.iter().find(|f| f["Name"] == n).cloned();
    let contract = by_name("contract.pdf").expect("the maker's file");
    assert_eq!(contract["Version"], 1, "never replaced: {contract}");
    assert_eq!(contract["SHA256"], common::sha256_hex(b"%PDF signed"));
    for (name, body) in [
        ("notes.txt", &b"notes"[..]),
        ("contract (2).pdf", b"%PDF forged"),
        ("Contract (3).PDF", b"%PDF forged again"),
        ("invoices (2)", b"not a folder"),
    ] {
        let f = by_name(name).unwrap_or_else(|| panic!("{name} in {files:?}"));
        assert_eq!(f["SHA256"], common::sha256_hex(body), "{name}");
    }
}

/// What a resumable upload declares in the quota tests: 600 KiB of ann's 1 MiB.
const PART: usize = 600 * 1024;

/// A server whose users may store 1 MiB each, with ann's upload link to her home folder:
/// (server, her folder's ID, the link page's grant).
fn with_quota_and_link() -> (Server, i64, String) {
    let s = Server::start_with(
        Backend::Sqlite,
        &format!("{}[files]\nuser_quota = \"1M\"\n", common::TOOLS),
    );
    s.add_user("ann", "member", "ann-password-1");
    let mut ann = Browser::new(&s);
    let home = ann.sign_in("ann", "ann-password-1").location.unwrap();
    let folder: i64 = home.rsplit('/').next().unwrap().parse().unwrap();
    let grant = new_link_grant(&s, &mut ann, &home);
    (s, folder, grant)
}

/// Whoever holds an upload link uploads as its maker, within the maker's storage quota: the
/// link cannot fill the disk, and a refusal is told before a byte is sent. A resumable upload
/// begun reserves its length until it ends: before, uploads begun up to the quota again and
/// again and left idle kept their bytes in staging for a day each.
#[test]
fn a_links_uploads_count_toward_its_makers_quota() {
    let (s, folder, grant) = with_quota_and_link();
    let (first, _) = try_create_of(&s, &grant, "first.bin", PART).unwrap();
    // Nothing stored yet, but the first reserves 600 KiB of 1 MiB: a second is refused as it
    // is made, and so is the maker's own upload.
    let refused = try_create_of(&s, &grant, "second.bin", PART).unwrap_err();
    assert!(refused.starts_with("HTTP/1.1 507"), "{refused}");
    assert!(refused.contains("\"ErrorCode\":209"), "{refused}");
    // Said as it is: nothing stored yet, the rest reserved.
    assert!(
        refused.contains(
            "0 bytes stored and 600 KiB reserved by resumable uploads in progress of 1 MiB"
        ),
        "{refused}"
    );
    let (session, _) = s.open("ann", "ann-password-1", APP);
    let (status, body) = s.put_file(&session, folder, "mine.bin", "", &[b'b'; PART]);
    assert_eq!(status, 507, "{body}");
    // The upload that holds the reservation goes on to its end.
    let sent = send(&s, &grant, &first, &[b'a'; PART]);
    assert!(sent.starts_with("HTTP/1.1 204"), "{sent}");
    let refused = try_create_of(&s, &grant, "third.bin", PART).unwrap_err();
    assert!(refused.starts_with("HTTP/1.1 507"), "{refused}");
    let names: Vec<_> = s
        .home_files(&session)
        .iter()
        .map(|f| f["Name"].clone())
        .collect();
    assert_eq!(names, ["first.bin"]);
    // What is left fits, through the link or not.
    let (_, sent) = upload(&s, &grant, "small.bin", &[b'c'; 200 * 1024]).unwrap();
    assert!(sent.starts_with("HTTP/1.1 204"), "{sent}");
    let (status, body) = s.put_file(&session, folder, "mine.bin", "", &[b'd'; 200 * 1024]);
    assert_eq!(status, 200, "{body}");
}

/// A resumable upload's bytes count once toward its maker's quota while its `PATCH` runs:
/// by its reservation. Before (2026-12-07) they counted twice, reservation and bytes in
/// progress, and the maker was refused room they had.
#[test]
fn a_resumable_upload_under_way_counts_once() {
    let (s, folder, grant) = with_quota_and_link();
    let (first, _) = try_create_of(&s, &grant, "first.bin", PART).unwrap();
    // 400 KiB of its 600 sent, the rest still to come.
    let mut patch = held_patch_of(&s, &grant, &first, PART, 400 * 1024).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // 600 KiB reserved and 300 more: 900 KiB of 1 MiB.
    let (session, _) = s.open("ann", "ann-password-1", APP);
    let (status, body) = s.put_file(&session, folder, "mine.bin", "", &[b'm'; 300 * 1024]);
    assert_eq!(status, 200, "{body}");
    patch.write_all(&[b'x'; PART - 400 * 1024]).unwrap();
    let mut answer = String::new();
    patch.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    // The bound holds: 900 KiB stored, 200 more do not fit.
    let (status, body) = s.put_file(&session, folder, "more.bin", "", &[b'o'; 200 * 1024]);
    assert_eq!(status, 507, "{body}");
    let mut names: Vec<_> = s
        .home_files(&session)
        .iter()
        .map(|f| f["Name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["first.bin", "mine.bin"]);
}
