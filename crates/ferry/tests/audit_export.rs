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

#[test]
fn an_export_read_while_records_are_added_holds_each_record_once() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("ann", "member", "ann-password-1");
    let (session, _) = s.open("ann", "ann-password-1", APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let home = home["FolderID"].as_i64().unwrap();
    add_records(&s, &session, home, "old", 10_000);
    let mut admin = Browser::new(&s);
    assert_eq!(admin.sign_in(ADMIN, ADMIN_PASSWORD).status, 303);
    let cookie = admin.cookie.clone().unwrap();

    // The export starts; the test reads a little and stops, so the server's writer waits
    // between pages while 300 more records are added; then it reads the rest. 10,000 records
    // (5.6 MB) are more than the server's socket buffer (Linux grows it to 4 MiB) and its
    // queue hold, so the writer does wait: the build before this fix repeated 300 records.
    let addr = s.base.trim_start_matches("http://");
    let mut conn = narrow_connection(addr);
    write!(
        conn,
        "GET /admin/audit/export?format=jsonl HTTP/1.0\r\nHost: {addr}\r\nCookie: {cookie}\r\n\r\n"
    )
    .unwrap();
    let mut start = [0u8; 2048];
    conn.read_exact(&mut start).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    add_records(&s, &session, home, "new", 300);
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).unwrap();
    let mut answer = start.to_vec();
    answer.extend(rest);
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );

    let seqs: Vec<i64> = body
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect();
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
