//! Whoever holds an upload link ("Request files") uploads as its maker, so their uploads in
//! progress took the maker's places among `[limits] uploads_per_user`: before, one recipient's
//! 128 stalled `PATCH`es through the link left its maker unable to upload anything, on any
//! protocol, for as long as they trickled bytes. Now a link holds at most 16 uploads in progress
//! (the 17th is answered 429, error 121, as it is made); the maker keeps the rest. The same
//! holds for a token an integration issues under its one session for each of its customers:
//! one customer's page takes 16 places, and the next customer's page uploads on.

mod common;
#[path = "upload_tool/fixture.rs"]
mod fixture;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine;
use common::web::Browser;
use common::{APP, Server};
use ferry_testkit::Backend;

const KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
const LENGTH: usize = 1_000_000;

/// Makes a resumable upload of `name` through the link's page (`grant`); its address.
fn create(s: &Server, grant: &str, name: &str) -> String {
    try_create(s, grant, name).unwrap_or_else(|e| panic!("{e}"))
}

/// [`create`], or the server's whole answer if it refused.
fn try_create(s: &Server, grant: &str, name: &str) -> Result<String, String> {
    let meta = format!(
        "filename {}",
        base64::engine::general_purpose::STANDARD.encode(name)
    );
    let answer = raw(
        s,
        &format!(
            "POST /tools/tus HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTus-Resumable: 1.0.0\r\n\
             Ferry-Grant: {grant}\r\nUpload-Length: {LENGTH}\r\nUpload-Metadata: {meta}\r\n\
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
    Ok(answer[at..answer[at..].find("\r\n").unwrap() + at].to_string())
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
    let mut c = TcpStream::connect(s.base.trim_start_matches("http://")).unwrap();
    write!(
        c,
        "PATCH {location} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTus-Resumable: 1.0.0\r\n\
         Ferry-Grant: {grant}\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n\
         Content-Length: {LENGTH}\r\nExpect: 100-continue\r\n\r\n"
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
    c.write_all(&[b'x'; 64 * 1024]).unwrap();
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
    let token = ann.csrf(&home);
    let made = ann.post(
        &format!("{home}/request-link"),
        &[("csrf", &token), ("days", "1")],
    );
    assert_eq!(made.status, 200, "{}", made.body);
    let at = made.body.find("/tools/upload?token=").expect(&made.body);
    let link: String = made.body[at..]
        .chars()
        .take_while(|c| *c != '"')
        .collect::<String>()
        .replace("&amp;", "&");
    let (status, page) = s.get(&link);
    assert_eq!(status, 200, "{page}");
    let at = page.find("data-grant=\"").expect(&page) + 12;
    let grant = page[at..at + page[at..].find('"').unwrap()].to_string();

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
