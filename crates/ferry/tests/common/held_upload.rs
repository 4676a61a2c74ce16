//! An HTTP/1.1 upload that begins and then waits, for tests of what happens to an upload in
//! progress (a per-user limit, a session ended while the bytes arrive).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::Server;

/// The upload's declared length: far more than [`held_upload`] sends.
pub const HELD_LENGTH: usize = 1_000_000;

/// Begins `PUT` of `name` into `folder` on `s` and leaves it waiting after 64 KiB of its
/// [`HELD_LENGTH`] bytes. The server's `100 Continue` says its checks passed and it reads the
/// body: the upload is in progress when this returns.
pub fn held_upload(s: &Server, session: &str, folder: i64, name: &str) -> TcpStream {
    let mut c = TcpStream::connect(s.base.trim_start_matches("http://")).unwrap();
    write!(
        c,
        "PUT /api/v1/folders/{folder}/files/{name} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         X-Session-ID: {session}\r\nContent-Length: {HELD_LENGTH}\r\nExpect: 100-continue\r\n\r\n"
    )
    .unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        assert_eq!(c.read(&mut byte).unwrap(), 1, "closed before 100 Continue");
        seen.push(byte[0]);
    }
    let seen = String::from_utf8_lossy(&seen);
    assert!(seen.starts_with("HTTP/1.1 100"), "{seen}");
    c.write_all(&[b'x'; 64 * 1024]).unwrap();
    c
}

/// Sends the rest of a [`held_upload`]'s bytes and reads the server's whole answer.
pub fn finish_held_upload(mut c: TcpStream) -> String {
    c.write_all(&vec![b'y'; HELD_LENGTH - 64 * 1024]).unwrap();
    let mut answer = String::new();
    let _ = c.read_to_string(&mut answer);
    answer
}
