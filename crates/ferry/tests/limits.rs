//! Denial of service (issue 15): silent connections (slowloris) on every protocol, stalled
//! request bodies, FTPS passive ports hoarded by one user, SFTP handles opened and never
//! used, and the open-file limit raised at start-up. Tried with raw sockets, curl, ftplib and
//! paramiko against the real server.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::file_clients::ftplib_as;
use common::held_upload::held_upload;
use common::{APP, Server, run_ok};
use ferry_testkit::Backend;
use serde_json::json;

const PROTOCOLS: &str = "[sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\n";

/// Whether the server closes `stream` within `within` (a read answers end-of-file or an
/// error); bytes the server says first (a banner, a 421) are read past.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        stream
            .set_read_timeout(Some(deadline - Instant::now()))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return false,
            Err(_) => return true,
        }
    }
    false
}

/// `curl` from another loopback address, so that the per-address limit of 127.0.0.1 does not
/// apply to it; the HTTP status.
fn curl_status_from(source: &str, url: &str) -> String {
    run_ok(Command::new("curl").args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "10",
        "--interface",
        source,
        url,
    ]))
}

#[test]
fn silent_connections_cannot_take_the_server() {
    let s = Server::start_with(
        Backend::Sqlite,
        &format!(
            "{PROTOCOLS}[limits]\nhttp_connections_per_ip = 10\nheader_read_timeout_seconds = 2\n\
             sign_in_timeout_seconds = 3\n"
        ),
    );
    let http = s.base.trim_start_matches("http://").to_string();
    // Ten silent connections from one address hold its whole allowance...
    let mut held: Vec<TcpStream> = (0..10)
        .map(|_| TcpStream::connect(&http).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut refused = TcpStream::connect(&http).unwrap();
    assert!(
        closed_within(&mut refused, Duration::from_secs(2)),
        "an eleventh connection from the same address is closed at once"
    );
    // ...but not anyone else's.
    let url = format!("{}/healthz", s.base);
    assert_eq!(curl_status_from("127.0.0.2", &url), "200");
    // And they are closed once the header time is up.
    for c in &mut held {
        assert!(
            closed_within(c, Duration::from_secs(4)),
            "a silent connection stayed"
        );
    }
    assert_eq!(curl_status_from("127.0.0.1", &url), "200");

    // Half a request's headers, then nothing: closed too.
    let mut partial = TcpStream::connect(&http).unwrap();
    partial
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    assert!(closed_within(&mut partial, Duration::from_secs(4)));

    // SSH and FTPS connections that never sign in are closed after the sign-in time, not the
    // ten-minute idle timeout.
    let mut ssh = TcpStream::connect(s.sftp.as_deref().unwrap()).unwrap();
    assert!(closed_within(&mut ssh, Duration::from_secs(6)), "SSH");
    let mut ssh_id_only = TcpStream::connect(s.sftp.as_deref().unwrap()).unwrap();
    ssh_id_only.write_all(b"SSH-2.0-slow\r\n").unwrap();
    assert!(
        closed_within(&mut ssh_id_only, Duration::from_secs(9)),
        "SSH after its id"
    );
    let mut ftps = TcpStream::connect(s.ftps.as_deref().unwrap()).unwrap();
    let started = Instant::now();
    let mut said = String::new();
    ftps.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    let _ = ftps.read_to_string(&mut said);
    assert!(said.contains("421 Not signed in in time"), "{said:?}");
    assert!(started.elapsed() < Duration::from_secs(8));

    // The soft open-file limit was raised to the hard one at start-up.
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", s.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[3], fields[4], "soft = hard: {line}");
}

#[test]
fn a_stalled_upload_is_cut_and_stores_nothing() {
    let s = Server::start_with(Backend::Sqlite, "[limits]\nbody_read_timeout_seconds = 2\n");
    s.add_user("ann", "member", "ann-password");
    let (session, _) = s.open("ann", "ann-password", APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let home = home["FolderID"].as_i64().unwrap();
    let mut c = TcpStream::connect(s.base.trim_start_matches("http://")).unwrap();
    write!(
        c,
        "PUT /api/v1/folders/{home}/files/stalled.bin HTTP/1.1\r\nHost: x\r\n\
         X-Session-ID: {session}\r\nContent-Length: 1000\r\n\r\n0123456789"
    )
    .unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = c.read_to_string(&mut answer);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the server waited for the body"
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "{answer}"
    );
    assert!(s.home_files(&session).is_empty(), "nothing was stored");
    assert!(s.audit().iter().any(|r| r["operation"] == "UploadFailed"));
}

#[test]
fn one_user_cannot_hoard_passive_ports() {
    let s = Server::start_with(
        Backend::Sqlite,
        "[ftps]\nlisten = \"127.0.0.1:0\"\nmax_passive_ports_per_user = 3\n",
    );
    s.add_user("alice", "member", "alice-password");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/limits/passive_ports.py");
    let out = run_ok(Command::new("python3").arg(script).args([
        &s.ftps_port().to_string(),
        "alice",
        "alice-password",
        "3",
    ]));
    for line in [
        "one connection: one port",
        "limit per user holds",
        "a closed connection gives its port back",
        "unused ports are given back",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

#[test]
fn sftp_handles_are_bounded_per_connection_and_per_user() {
    let s = Server::start_with(
        Backend::Sqlite,
        "[sftp]\nlisten = \"127.0.0.1:0\"\nmax_handles_per_connection = 8\nmax_handles_per_user = 12\n",
    );
    s.add_user("alice", "member", "alice-password");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/limits/sftp_handles.py");
    let out = run_ok(Command::new("python3").arg(script).args([
        &s.sftp_port().to_string(),
        "alice",
        "alice-password",
        "8",
        "12",
    ]));
    for line in [
        "limit per connection holds",
        "limit per user holds",
        "closed handles are given back",
        "done",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

/// Each session channel holds state of its own (about 7 KB): before, one signed-in connection
/// opened 30,000 of them and the server's RSS grew by 210 MB. Now a connection has at most
/// `max_sessions_per_connection` open at once (OpenSSH's `MaxSessions`), the next refused as a
/// resource shortage while the connection goes on.
#[test]
fn sftp_sessions_are_bounded_per_connection() {
    let s = Server::start_with(
        Backend::Sqlite,
        "[sftp]\nlisten = \"127.0.0.1:0\"\nmax_sessions_per_connection = 4\n",
    );
    s.add_user("alice", "member", "alice-password");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/limits/sftp_sessions.py");
    let out = run_ok(Command::new("python3").arg(script).args([
        &s.sftp_port().to_string(),
        "alice",
        "alice-password",
        "4",
    ]));
    for line in [
        "limit per connection holds",
        "the sessions still work",
        "a closed session gives its place back",
        "done",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

/// Each upload in progress holds up to 2 MiB of buffers until it ends: before, one user's 200
/// HTTP uploads held open from one address took 417 MB of the server's RSS, and nothing
/// bounded it. Now a user has at most `uploads_per_user` in progress on a node, every protocol
/// together; the next is refused (121: HTTP 429 with `Retry-After`, FTP 450, an SFTP failure
/// that says why), stores nothing, and an upload that ends gives its place back. Other users
/// are not held up.
#[test]
fn one_user_cannot_hold_every_upload_buffer() {
    let s = Server::start_with(
        Backend::Sqlite,
        &format!("{PROTOCOLS}[limits]\nuploads_per_user = 3\n"),
    );
    s.add_user("alice", "member", "alice-password");
    s.add_user("bob", "member", "bob-password");
    let (alice, _) = s.open("alice", "alice-password", APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": alice}));
    let home = home["FolderID"].as_i64().unwrap();
    let mut held: Vec<TcpStream> = (0..3)
        .map(|i| held_upload(&s, &alice, home, &format!("held-{i}.bin")))
        .collect();

    let out = run_ok(Command::new("curl").args([
        "-s",
        "-D",
        "-",
        "-X",
        "PUT",
        "--data-binary",
        "one more",
        "-H",
        &format!("X-Session-ID: {alice}"),
        &format!("{}/api/v1/folders/{home}/files/fourth.txt", s.base),
    ]));
    assert!(out.starts_with("HTTP/1.1 429"), "{out}");
    assert!(out.to_ascii_lowercase().contains("retry-after: 5"), "{out}");
    assert!(out.contains("\"ErrorCode\":121"), "{out}");
    let script = format!(
        "import paramiko\n\
         t = paramiko.Transport(('127.0.0.1', {})); t.connect(username='alice', password='alice-password')\n\
         s = paramiko.SFTPClient.from_transport(t)\n\
         try: s.open('by-sftp.txt', 'w').write(b'x'); print('stored')\n\
         except IOError as e: print(e)\n",
        s.sftp_port()
    );
    let said = run_ok(Command::new("python3").args(["-c", &script]));
    assert!(said.starts_with("too many uploads at once"), "{said}");
    let said = ftplib_as(
        s.ftps_port(),
        "alice",
        "try: f.storbinary('STOR by-ftps.txt', io.BytesIO(b'x')); print('stored')\n\
         except ftplib.Error as e: print(e)",
        &[],
    );
    assert!(said.starts_with("450 too many uploads"), "{said}");

    // Bob is not held up by Alice's uploads.
    let (bob, _) = s.open("bob", "bob-password", APP);
    let (_, bob_home) = s.call("GetHomeFolder", json!({"sessionID": bob}));
    let bob_home = bob_home["FolderID"].as_i64().unwrap();
    let (status, body) = s.put_file(&bob, bob_home, "bobs.txt", "", b"bob's");
    assert_eq!(status, 200, "{body}");

    // One of Alice's ends (its client goes away): its place is hers again.
    drop(held.pop());
    let mut stored = 0;
    for _ in 0..100 {
        if s.put_file(&alice, home, "fourth.txt", "", b"one more").0 == 200 {
            stored += 1;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(stored, 1, "the ended upload gave its place back");
    let names: Vec<String> = s
        .home_files(&alice)
        .iter()
        .map(|f| f["Name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["fourth.txt"], "nothing refused was stored");
    drop(held);
}
