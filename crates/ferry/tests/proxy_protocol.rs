//! The PROXY protocol (HAProxy's, versions 1 and 2) on every listener: from a trusted proxy,
//! the header names the client that the audit and the lock-out see, over HTTP, SFTP and FTPS
//! (control and data connections); from anyone else the same bytes are refused, so a client
//! cannot claim another address; a malformed header from a trusted proxy closes the
//! connection.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use common::{ADMIN, ADMIN_PASSWORD, Server};
use ferry_testkit::Backend;

const LISTENERS: &str = "[sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"40000-49999\"\n";

/// A version 2 header naming `a.b.c.d:50000` as the source.
fn v2(source: [u8; 4]) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend([0x21, 0x11, 0, 12]);
    h.extend(source);
    h.extend([127, 0, 0, 1, 0xC3, 0x50, 0, 80]);
    h
}

/// Sends `preamble` then an HTTP request on one connection; the status line ("" if closed).
fn http(port: u16, preamble: &[u8], request: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    // A server that refuses the preamble may close before the request is written.
    let _ = s.write_all(preamble);
    let _ = s.write_all(request.as_bytes());
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_string()
}

fn bad_sign_in() -> String {
    let body = format!(
        "{{\"userName\":\"{ADMIN}\",\"password\":\"wrong\",\"applicationID\":{}}}",
        common::APP
    );
    format!(
        "POST /api/v1/Open HTTP/1.1\r\nHost: ferry\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn port_of(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

fn client(mode: &str, port: u16, header: &str) -> String {
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/proxy_protocol/clients.py"
        ))
        .args([mode, &port.to_string(), ADMIN, ADMIN_PASSWORD, header])
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ips_of(s: &Server, operation: &str) -> Vec<String> {
    s.audit()
        .into_iter()
        .filter(|e| e["operation"] == operation)
        .map(|e| e["client_ip"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_trusted_proxys_header_names_the_client_on_every_listener() {
    let s = Server::start_with(
        Backend::Sqlite,
        &format!("trusted_proxies = [\"127.0.0.1\"]\n{LISTENERS}"),
    );
    let port = port_of(&s.base);

    // HTTP, both versions: the failed sign-ins are the header's clients'.
    let v1 = b"PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\n";
    assert!(http(port, v1, &bad_sign_in()).contains(" 401"));
    assert!(http(port, &v2([198, 51, 100, 9]), &bad_sign_in()).contains(" 401"));
    let v2_health = http(
        port,
        &v2([198, 51, 100, 9]),
        "GET /healthz HTTP/1.1\r\nHost: f\r\nConnection: close\r\n\r\n",
    );
    assert!(v2_health.contains(" 200"), "{v2_health}");
    // Without a header a trusted proxy's connection is its own, as before.
    assert!(
        http(
            port,
            b"",
            "GET /healthz HTTP/1.1\r\nHost: f\r\nConnection: close\r\n\r\n"
        )
        .contains(" 200")
    );
    let failed = ips_of(&s, "SignInFailed");
    assert!(failed.contains(&"203.0.113.7".to_string()), "{failed:?}");
    assert!(failed.contains(&"198.51.100.9".to_string()), "{failed:?}");

    // SFTP with a version 2 header, FTPS (control and data) with version 1.
    let v2_hex: String = v2([192, 0, 2, 44])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let out = client("sftp", s.sftp_port(), &v2_hex);
    assert!(out.trim_end().ends_with("ok"), "{out}");
    let out = client(
        "ftps",
        s.ftps_port(),
        "PROXY TCP4 203.0.113.8 127.0.0.1 40001 21",
    );
    assert!(out.trim_end().ends_with("ok"), "{out}");
    // Another client behind the same balancer races for the passive port: its connection
    // names another address, so it is dropped, and the transfer is the owner's.
    let out = client(
        "ftps-steal",
        s.ftps_port(),
        "PROXY TCP4 203.0.113.8 127.0.0.1 40003 21",
    );
    assert!(
        out.contains("thief dropped") && out.trim_end().ends_with("ok"),
        "{out}"
    );
    assert!(
        s.log()
            .contains("FTPS data connection from another address dropped")
    );
    let opened = ips_of(&s, "SignIn");
    assert!(opened.contains(&"192.0.2.44".to_string()), "{opened:?}");
    assert!(opened.contains(&"203.0.113.8".to_string()), "{opened:?}");
    let uploads = ips_of(&s, "FileUploaded");
    assert_eq!(uploads, ["203.0.113.8", "203.0.113.8"]);

    // A malformed header from a trusted proxy: the connection is closed, nothing answered.
    assert_eq!(
        http(
            port,
            b"PROXY TCP4 nonsense\r\n",
            "GET /healthz HTTP/1.1\r\nHost: f\r\n\r\n"
        ),
        ""
    );
}

#[test]
fn a_header_from_anyone_else_is_refused() {
    // No trusted proxies: the header is only bytes, and no protocol accepts them.
    let s = Server::start_with(Backend::Sqlite, LISTENERS);
    let port = port_of(&s.base);
    let status = http(
        port,
        b"PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\n",
        &bad_sign_in(),
    );
    assert!(status.contains(" 400") || status.is_empty(), "{status}");
    let v2_hex: String = v2([192, 0, 2, 44])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let out = client("sftp", s.sftp_port(), &v2_hex);
    assert!(!out.trim_end().ends_with("ok"), "{out}");
    let out = client(
        "ftps",
        s.ftps_port(),
        "PROXY TCP4 203.0.113.8 127.0.0.1 40001 21",
    );
    assert!(!out.trim_end().ends_with("ok"), "{out}");
    let claimed: Vec<_> = s
        .audit()
        .into_iter()
        .filter(|e| {
            ["203.0.113.7", "203.0.113.8", "192.0.2.44"]
                .contains(&e["client_ip"].as_str().unwrap_or(""))
        })
        .collect();
    assert!(claimed.is_empty(), "{claimed:?}");
}
