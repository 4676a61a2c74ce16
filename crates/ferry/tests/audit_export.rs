//! The audit trail read in pages while it grows: the console's export and `GetAuditLog`'s
//! `beforeSeq` walk it newest first by sequence number, so records appended meanwhile neither
//! repeat nor push older ones out of the export.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::FromRawFd;
use std::time::Duration;

use common::web::Browser;
use common::{ADMIN, ADMIN_PASSWORD, APP, Server, at_once};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(get_audit_log_pages_by_sequence_number_while_records_are_added);

/// A connection to `addr` whose receive buffer is 4 KiB, set before it connects (so the
/// window it offers stays small): the server's writes stop once the pipe is full, and the
/// test decides when the rest is read.
fn narrow_connection(addr: &str) -> TcpStream {
    let addr: std::net::SocketAddrV4 = addr.parse().unwrap();
    // SAFETY: plain socket calls on a descriptor this function owns until it is handed over
    // to the TcpStream; the address structure lives across the connect.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let size: libc::c_int = 4096;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &size as *const _ as *const libc::c_void,
            std::mem::size_of_val(&size) as libc::socklen_t,
        );
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: addr.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*addr.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let r = libc::connect(
            fd,
            &sa as *const _ as *const libc::sockaddr,
            std::mem::size_of_val(&sa) as libc::socklen_t,
        );
        assert_eq!(r, 0, "connect to {addr}");
        TcpStream::from_raw_fd(fd)
    }
}

/// Creates `n` folders in `home` (one audit record each), sixteen callers at a time.
fn add_records(s: &Server, session: &str, home: i64, tag: &str, n: usize) {
    at_once(16, |caller| {
        for i in (caller..n).step_by(16) {
            let (status, _) = s.call(
                "CreateFolder",
                json!({"sessionID": session, "parentFolderID": home, "name": format!("{tag}-{i}")}),
            );
            assert_eq!(status, 200);
        }
    });
}

/// A server with 10,000 audit records (ann's folders) and an administrator's web cookie.
/// 10,000 records (5.6 MB of JSON lines) are more than the server's socket buffer (Linux
/// grows it to 4 MiB) and its queue hold, so an export read slowly does wait between pages.
fn server_with_a_long_log() -> (Server, String, i64, String) {
    let s = Server::start(Backend::Sqlite);
    s.add_user("ann", "member", "ann-password-1");
    let (session, _) = s.open("ann", "ann-password-1", APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let home = home["FolderID"].as_i64().unwrap();
    add_records(&s, &session, home, "old", 10_000);
    let mut admin = Browser::new(&s);
    assert_eq!(admin.sign_in(ADMIN, ADMIN_PASSWORD).status, 303);
    let cookie = admin.cookie.clone().unwrap();
    (s, session, home, cookie)
}

/// Starts the console's JSON-lines export, reads 2 KiB of it and stops (the server's writer
/// then waits between pages), runs `meanwhile`, then reads the rest. Returns the records'
/// sequence numbers and whether the chunked body ended with its last chunk (a download
/// broken off has none).
fn export_paused(s: &Server, cookie: &str, meanwhile: impl FnOnce()) -> (Vec<i64>, bool) {
    let addr = s.base.trim_start_matches("http://");
    let mut conn = narrow_connection(addr);
    write!(
        conn,
        "GET /admin/audit/export?format=jsonl HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\
         Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = vec![0u8; 2048];
    conn.read_exact(&mut answer).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    meanwhile();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let _ = conn.read_to_end(&mut answer); // a broken-off download may end in a reset
    let at = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&answer[..at]).to_string();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let (body, complete) = dechunked(&answer[at + 4..]);
    let body = String::from_utf8(body).unwrap();
    let seqs = body
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|r| r["seq"].as_i64().unwrap())
        .collect();
    (seqs, complete)
}

/// The data of a chunked body, and whether its last (empty) chunk arrived.
fn dechunked(mut raw: &[u8]) -> (Vec<u8>, bool) {
    let mut data = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return (data, false);
        };
        let size = std::str::from_utf8(&raw[..eol]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return (data, true);
        }
        let chunk = &raw[eol + 2..];
        if chunk.len() < size + 2 {
            data.extend_from_slice(&chunk[..chunk.len().min(size)]);
            return (data, false);
        }
        data.extend_from_slice(&chunk[..size]);
        raw = &chunk[size + 2..];
    }
}

#[test]
fn an_export_read_while_records_are_added_holds_each_record_once() {
    let (s, session, home, cookie) = server_with_a_long_log();
    // 300 records are added while the export waits: the build before this fix repeated them.
    let (seqs, complete) =
        export_paused(&s, &cookie, || add_records(&s, &session, home, "new", 300));
    assert!(complete, "the export ends with its last chunk");
    let newest = seqs[0];
    let repeated = seqs.windows(2).filter(|w| w[1] >= w[0]).count();
    assert_eq!(
        repeated, 0,
        "records repeated or out of order in the export"
    );
    assert_eq!(
        seqs.last(),
        Some(&1),
        "the export reaches the oldest record"
    );
    assert_eq!(
        seqs.len() as i64,
        newest,
        "every record up to the newest, once"
    );
    // The records added meanwhile came after the export's first page: none is in it.
    assert!(s.audit().len() as i64 >= newest + 300);
}

#[test]
fn an_export_stops_when_the_administrators_session_ends() {
    let (s, _, _, _) = server_with_a_long_log();
    s.add_user("ada", "administrator", "ada-password-1");
    let mut ada = Browser::new(&s);
    assert_eq!(ada.sign_in("ada", "ada-password-1").status, 303);
    // Demoted while the export waits: a role change ends the demoted user's sessions, and
    // the export breaks off at its next page.
    let (seqs, complete) = export_paused(&s, ada.cookie.as_ref().unwrap(), || {
        s.ferry_ok(&["user", "set-role", "ada", "member"], None);
    });
    assert!(!complete, "a download broken off, not one that looks whole");
    assert!(
        !seqs.is_empty() && (seqs.len() as i64) < seqs[0] - 1000,
        "{} records of {}",
        seqs.len(),
        seqs[0]
    );
    assert!(s.log().contains("audit export ended early"), "{}", s.log());
}

fn get_audit_log_pages_by_sequence_number_while_records_are_added(backend: Backend) {
    let s = Server::start(backend);
    let (root, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": root}));
    let home = home["FolderID"].as_i64().unwrap();
    add_records(&s, &root, home, "old", 40);
    let page = |before: Option<i64>| -> Vec<i64> {
        let mut args = json!({"sessionID": root, "take": 10});
        if let Some(b) = before {
            args["beforeSeq"] = json!(b);
        }
        let (status, body) = s.call("GetAuditLog", args);
        assert_eq!(status, 200, "{body}");
        body.as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|r| r["seq"].as_i64().unwrap())
            .collect()
    };
    let first = page(None);
    add_records(&s, &root, home, "new", 5);
    let second = page(Some(*first.last().unwrap()));
    assert_eq!(second.len(), 10);
    assert_eq!(
        second[0],
        first.last().unwrap() - 1,
        "{first:?} then {second:?}"
    );

    for bad in [json!(0), json!(-3), json!("x"), json!(1.5)] {
        let (status, body) = s.call(
            "GetAuditLog",
            json!({"sessionID": root, "beforeSeq": bad.clone()}),
        );
        assert_eq!(status, 400, "{bad}: {body}");
    }
}
