//! Uploads sent with `Expect: 100-continue`, curl's way: bodies asked for one after another
//! on one connection, and refusals answered before a byte of the body is asked for.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;

use ferry_testkit::Backend;
use serde_json::{Value, json};

use super::{data, home, session};
use crate::common::{ADMIN, ADMIN_PASSWORD, Server, sha256_hex};

/// Reads one response head from `stream`: its status and `Content-Length`.
fn read_head(stream: &mut BufReader<TcpStream>) -> (u16, usize) {
    let (mut status, mut length) = (0, 0);
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            return (status, length);
        }
        if let Some(rest) = line.strip_prefix("HTTP/1.1 ") {
            status = rest[..3].parse().unwrap();
        } else if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap();
        }
    }
}

/// Issue 21: the server keeps such a connection on one worker; each body waits for `100
/// Continue`, and several uploads share one connection.
pub fn uploads_on_one_connection(backend: Backend) {
    let s = Server::start(backend);
    let sid = session(&s, ADMIN, ADMIN_PASSWORD);
    let folder = home(&s, &sid);
    let addr = s.base.trim_start_matches("http://").to_string();
    let stream = TcpStream::connect(&addr).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let put = |w: &mut TcpStream, name: &str, session: &str, len: usize| {
        write!(
            w,
            "PUT /api/v1/folders/{folder}/files/{name} HTTP/1.1\r\nHost: {addr}\r\nX-Session-ID: {session}\r\nContent-Length: {len}\r\nExpect: 100-continue\r\n\r\n"
        )
        .unwrap();
    };
    for i in 0..3u8 {
        let body = data(4096 + usize::from(i), i);
        put(&mut writer, &format!("e{i}.bin"), &sid, body.len());
        assert_eq!(read_head(&mut reader).0, 100, "the body is asked for");
        writer.write_all(&body).unwrap();
        let (status, length) = read_head(&mut reader);
        assert!(status == 200 || status == 201, "upload {i}: {status}");
        let mut answer = vec![0; length];
        reader.read_exact(&mut answer).unwrap();
        let id = serde_json::from_slice::<Value>(&answer).unwrap()["FileID"]
            .as_i64()
            .unwrap();
        let (got, _, bytes) = s.get_bytes(
            &format!("/api/v1/files/{id}/content"),
            &[("X-Session-ID", &sid)],
        );
        assert_eq!((got, sha256_hex(&bytes)), (200, sha256_hex(&body)));
    }
    // A session that is not one: refused without asking for the body (drain.rs), and the
    // connection ends there, since its body was never read; nothing is stored.
    put(&mut writer, "refused.bin", "not-a-session", 4096);
    let (status, length) = read_head(&mut reader);
    assert_eq!(status, 400, "not a session ID, and no 100 Continue first");
    let mut answer = vec![0; length];
    reader.read_exact(&mut answer).unwrap();
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "the server closes: {rest:?}");
    let (_, files) = s.call("GetFiles", json!({"sessionID": sid, "folderID": folder}));
    assert_eq!(files.as_array().unwrap().len(), 3);
}

/// curl sends `Expect: 100-continue` with an upload: a refusal (no session, no such folder,
/// no right to write there, a bad path) reaches it before it sends a byte, where the body used
/// to be asked for and 8 MiB of it read and thrown away. The same upload then succeeds on a new
/// connection, and one sent without `Expect` is still read and dropped before its answer.
pub fn a_refused_upload_sends_no_byte(backend: Backend) {
    let s = Server::start(backend);
    s.add_user("bob", "member", "bob-password");
    let admin = session(&s, ADMIN, ADMIN_PASSWORD);
    let bob = session(&s, "bob", "bob-password");
    let (_, team) = s.call(
        "CreateFolder",
        json!({"sessionID": admin, "parentFolderID": 3, "name": "Team"}),
    );
    let team = team["FolderID"].as_i64().unwrap();
    let big = s.path().join("big.bin");
    let content = data(20_000_000, 5);
    std::fs::write(&big, &content).unwrap();
    // Under what the server reads and drops before a refusal (drain.rs, 8 MiB).
    let small = s.path().join("small.bin");
    std::fs::write(&small, data(1_000_000, 6)).unwrap();
    // `%{size_upload}`: the bytes of the body curl sent. curl waits 1 s for `100 Continue`
    // and then sends anyway; the tests with `Expect` give it a minute, so that a slow
    // machine cannot make the body go before the answer.
    let curl = |src: &std::path::Path, session: &str, folder: &str, extra: &[&str]| {
        let out = Command::new("curl")
            .args([
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{size_upload}",
            ])
            .args(extra)
            .arg("-T")
            .arg(src)
            .args(["-H", &format!("X-Session-ID: {session}")])
            .arg(format!("{}/api/v1/folders/{folder}/files/big.bin", s.base))
            .output()
            .expect("curl is required by the test suite");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let (code, sent) = text.split_once(' ').unwrap();
        (code.to_string(), sent.to_string())
    };
    let nobody = "00000000-0000-0000-0000-000000000000";
    let team_id = team;
    let team = team.to_string();
    for (who, folder, code) in [
        (nobody, team.as_str(), "401"),
        (admin.as_str(), "999999", "404"),
        (bob.as_str(), team.as_str(), "404"),
        (admin.as_str(), "not-a-number", "400"),
    ] {
        assert_eq!(
            curl(&big, who, folder, &["--expect100-timeout", "60"]),
            (code.to_string(), "0".to_string()),
            "{folder}"
        );
    }
    // Without `Expect` the client sends at once: the server reads and drops the body before
    // answering, so the answer is not lost to a reset. (Past 8 MiB it stops reading and
    // closes, and a client still sending may see a broken pipe: that bound is drain.rs's.)
    assert_eq!(
        curl(&small, nobody, &team, &["-H", "Expect:"]),
        ("401".to_string(), "1000000".to_string())
    );
    let (_, files) = s.call("GetFiles", json!({"sessionID": admin, "folderID": team_id}));
    assert_eq!(
        files.as_array().unwrap().len(),
        0,
        "nothing stored: {files}"
    );
    // The same upload where it may go.
    assert_eq!(
        curl(&big, &admin, &team, &["--expect100-timeout", "60"]),
        ("200".to_string(), content.len().to_string())
    );
}
