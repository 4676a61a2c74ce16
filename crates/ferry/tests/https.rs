//! Ferry's own HTTPS listener (issue 18), against peers nobody on the team wrote: curl with
//! `--cacert`, Python's `requests` and `ssl`, `openssl s_client`, ftplib for FTPS sharing the
//! pair. The certificates come from a CA the tests make.
//!
//! What it shows: the same routes as HTTP with ALPN h2, HSTS and a `Secure` `__Host-`
//! session cookie; TLS 1.0 and 1.1 refused; plain HTTP on the TLS port told so; the plain
//! listener redirecting when asked; a certificate rotated (SIGHUP or a file change) with an
//! open connection kept, and a bad new pair refused while the old one stays; bad pairs stopping
//! the start with the reason; transfers over HTTP/2 whole, ranged and multiplexed.

mod common;
#[path = "https/refusals.rs"]
mod refusals;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::test_ca::{Leaf, TestCa, write_key};
use common::{ADMIN, ADMIN_PASSWORD, Server, failed_start, run_ok};
use ferry_testkit::Backend;

/// A server with HTTPS on a free port and the pair `name` issued by `ca`.
fn https_server(ca: &TestCa, name: &str, extra: &str) -> Server {
    let (cert, key) = ca.issue(name, Leaf::Rsa);
    Server::start_with(
        Backend::Sqlite,
        &format!(
            "[https]\nlisten = \"127.0.0.1:0\"\ncert_file = {cert:?}\nkey_file = {key:?}\nreload_check_seconds = 1\n{extra}"
        ),
    )
}

/// An HTTPS server (pair `name`) with the admin signed in: its `https://localhost:…` address,
/// the session and the admin's home folder.
fn signed_in(ca: &TestCa, name: &str) -> (Server, String, String, i64) {
    let s = https_server(ca, name, "");
    let url = format!("https://localhost:{}", https_port(&s));
    s.add_app(1000);
    let (session, _) = s.open(ADMIN, ADMIN_PASSWORD, 1000);
    let (_, home) = s.call("GetHomeFolder", serde_json::json!({"sessionID": session}));
    let home = home["FolderID"].as_i64().unwrap();
    (s, url, session, home)
}

fn https_port(s: &Server) -> u16 {
    s.https
        .as_deref()
        .expect("HTTPS is on")
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn https_serves_the_same_routes_with_h2_hsts_and_a_secure_cookie() {
    let work = tempfile::tempdir().unwrap();
    let ca = TestCa::new(work.path());
    let s = https_server(&ca, "first", "");
    let url = format!("https://localhost:{}", https_port(&s));
    let ca_file = ca.ca_file.to_str().unwrap();

    // curl, verifying against the test CA: ALPN picks h2, the answer carries HSTS.
    let out = Command::new("curl")
        .args([
            "-sS",
            "-v",
            "-D",
            "-",
            "-o",
            "/dev/null",
            "--cacert",
            ca_file,
        ])
        .arg(format!("{url}/healthz"))
        .output()
        .unwrap();
    let (head, talk) = (
        String::from_utf8_lossy(&out.stdout).to_lowercase(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert!(out.status.success(), "{talk}");
    assert!(head.starts_with("http/2 200"), "{head}");
    assert!(
        head.contains("strict-transport-security: max-age=31536000"),
        "{head}"
    );
    assert!(talk.contains("ALPN: server accepted h2"), "{talk}");
    // HTTP/1.1 too, and the JSON API over it.
    let body = run_ok(
        Command::new("curl")
            .args(["-sS", "--http1.1", "--cacert", ca_file, "-X", "POST"])
            .args(["-H", "content-type: application/json", "-d"])
            .arg(format!(
                r#"{{"applicationID":1999,"userName":"{ADMIN}","password":"{ADMIN_PASSWORD}"}}"#
            ))
            .arg(format!("{url}/api/v1/Open")),
    );
    assert!(body.contains("SessionID"), "{body}");
    // The SOAP wire's WSDL, fetched over HTTP/2, gives the HTTPS address it was fetched from
    // (the host from `:authority`), so generated clients call back over TLS.
    let wsdl = run_ok(
        Command::new("curl")
            .args(["-sS", "--http2", "--cacert", ca_file])
            .arg(format!("{url}/soap?wsdl")),
    );
    assert!(
        wsdl.contains(&format!("<soap:address location=\"{url}/soap\"/>")),
        "{wsdl}"
    );
    // A browser's sign-in over HTTP/2 (no `Host` header there, only `:authority`) passes the
    // same-origin check.
    let signin = run_ok(
        Command::new("curl")
            .args([
                "-sS",
                "--http2",
                "-D",
                "-",
                "-o",
                "/dev/null",
                "--cacert",
                ca_file,
            ])
            .args([
                "-H",
                &format!("Origin: {url}"),
                "-H",
                "Sec-Fetch-Site: same-origin",
            ])
            .args(["--data-urlencode", &format!("username={ADMIN}")])
            .args(["--data-urlencode", &format!("password={ADMIN_PASSWORD}")])
            .arg(format!("{url}/web/signin")),
    )
    .to_lowercase();
    assert!(signin.starts_with("http/2 303"), "{signin}");
    assert!(
        signin.contains("set-cookie: __host-ferry_session="),
        "{signin}"
    );
    // The plain listener sends no HSTS (a browser ignores it there anyway).
    let plain = run_ok(
        Command::new("curl")
            .args(["-sS", "-D", "-", "-o", "/dev/null"])
            .arg(format!("{}/healthz", s.base)),
    );
    assert!(
        !plain.to_lowercase().contains("strict-transport-security"),
        "{plain}"
    );

    // Python's requests signs in to the web client: the cookie is `__Host-` and `Secure`.
    let script = r#"
import sys, requests
url, ca, user, password = sys.argv[1:5]
# verify= on the request: a Session's verify loses to REQUESTS_CA_BUNDLE.
r = requests.post(url + "/web/signin", data={"username": user, "password": password},
                  allow_redirects=False, headers={"Origin": url}, verify=ca)
print(r.status_code, r.headers.get("set-cookie", ""))
"#;
    let out =
        run_ok(Command::new("python3").args(["-c", script, &url, ca_file, ADMIN, ADMIN_PASSWORD]));
    assert!(out.starts_with("303 __Host-ferry_session="), "{out}");
    assert!(out.contains("Secure") && out.contains("HttpOnly"), "{out}");

    // Plain HTTP sent to the HTTPS port is told so, not dropped.
    let mut raw = TcpStream::connect(("127.0.0.1", https_port(&s))).unwrap();
    raw.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    raw.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("This port speaks HTTPS"), "{answer}");
}

/// Over HTTP/2 the listener hands rustls whole records and holds the rest of each write until
/// the next or the end of the connection's turn (`record_cork.rs`): what curl uploads and
/// downloads there, whole, in ranges, and several streams at once on one connection, is every
/// byte in order, as over HTTP/1.1.
#[test]
fn transfers_over_h2_arrive_whole_in_ranges_and_side_by_side() {
    let work = tempfile::tempdir().unwrap();
    let ca = TestCa::new(work.path());
    let (_s, url, session, home) = signed_in(&ca, "first");
    let ca_file = ca.ca_file.to_str().unwrap();
    // An odd size, so that no write ends on a record's edge.
    let bytes: Vec<u8> = (0..3 * 1024 * 1024 + 12_345u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let source = work.path().join("source");
    std::fs::write(&source, &bytes).unwrap();
    let curl = |args: &[&str]| {
        let mut c = Command::new("curl");
        c.args(["-sS", "--fail", "--cacert", ca_file, "-H"])
            .arg(format!("X-Session-ID: {session}"))
            .args(args);
        c
    };
    let put = run_ok(
        curl(&["--http2", "-T", source.to_str().unwrap()])
            .arg(format!("{url}/api/v1/folders/{home}/files/payload.bin")),
    );
    let file: serde_json::Value = serde_json::from_str(&put).unwrap();
    let content = format!("{url}/api/v1/files/{}/content", file["FileID"]);
    // Refused, with `Expect` or not: without it the body (under the drain's limit) is read to
    // its end before the answer (drain.rs); with it, never asked for and held, not dropped (the
    // stream's reset would lose the answer). curl 7.88 over HTTP/2 does not always wait to be
    // asked: what it sends then waits in the stream's window, so only the answer is checked.
    for expect in ["Expect:", "Expect: 100-continue"] {
        let refused = run_ok(
            Command::new("curl")
                .args(["-sS", "--http2", "--cacert", ca_file, "-o", "/dev/null"])
                .args(["--expect100-timeout", "60"])
                .args([
                    "-w",
                    "%{http_code} %{http_version} %{size_upload}",
                    "-H",
                    expect,
                ])
                .args(["-H", "X-Session-ID: 00000000-0000-0000-0000-000000000000"])
                .args(["-T", source.to_str().unwrap()])
                .arg(format!("{url}/api/v1/folders/{home}/files/refused.bin")),
        );
        assert!(refused.starts_with("401 2 "), "{expect}: {refused}");
        if expect == "Expect:" {
            assert_eq!(refused, format!("401 2 {}", bytes.len()));
        }
    }
    for version in ["--http2", "--http1.1"] {
        let got = work.path().join(format!("got{version}"));
        run_ok(&mut curl(&[version, "-o", got.to_str().unwrap(), &content]));
        assert!(
            std::fs::read(&got).unwrap() == bytes,
            "{version}: every byte"
        );
    }
    // Three ranges on one HTTP/2 connection at once: `--parallel` multiplexes them; `--next`
    // starts each transfer's own options.
    let ranges = [
        (0usize, 16_392usize),
        (16_393, 1_000_000),
        (2_000_001, bytes.len() - 1),
    ];
    let mut parallel = Command::new("curl");
    parallel.args(["-sS", "--parallel", "--parallel-immediate"]);
    for (i, (a, b)) in ranges.iter().enumerate() {
        if i > 0 {
            parallel.arg("--next");
        }
        parallel
            .args(["--http2", "--fail", "--cacert", ca_file, "-H"])
            .arg(format!("X-Session-ID: {session}"))
            .args(["-r", &format!("{a}-{b}"), "-o"])
            .arg(work.path().join(format!("range{i}")))
            .arg(&content);
    }
    run_ok(&mut parallel);
    for (i, (a, b)) in ranges.iter().enumerate() {
        let got = std::fs::read(work.path().join(format!("range{i}"))).unwrap();
        assert!(got == bytes[*a..=*b], "range {a}-{b}: {} bytes", got.len());
    }
}

#[test]
fn old_protocol_versions_are_refused_and_modern_ones_negotiated() {
    let work = tempfile::tempdir().unwrap();
    let ca = TestCa::new(work.path());
    let s = https_server(&ca, "versions", "");
    let connect = format!("127.0.0.1:{}", https_port(&s));
    let s_client = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(["s_client", "-connect", &connect, "-CAfile"])
            .arg(&ca.ca_file)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    // SECLEVEL=0 lets the client offer the old versions, so the refusal is the server's.
    for old in ["-tls1", "-tls1_1"] {
        // (s_client exits 0 and says "Verify return code: 0" whether or not the handshake
        // succeeded: what tells is the cipher and the alert.)
        let (_, talk) = s_client(&[old, "-cipher", "DEFAULT@SECLEVEL=0"]);
        assert!(
            talk.contains("Cipher is (NONE)") && talk.contains("alert"),
            "{old} was accepted: {talk}"
        );
    }
    for (flag, version) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let (ok, talk) = s_client(&[flag]);
        assert!(ok, "{flag}: {talk}");
        assert!(
            talk.contains(&format!("Protocol  : {version}"))
                || talk.contains(&format!("New, {version}")),
            "{talk}"
        );
        assert!(talk.contains("Verify return code: 0 (ok)"), "{talk}");
    }
    // TLS 1.2 offers only forward-secret AEAD suites: a CBC-only client finds nothing.
    let (_, talk) = s_client(&["-tls1_2", "-cipher", "AES128-SHA:ECDHE-RSA-AES128-SHA"]);
    assert!(
        talk.contains("no peer certificate available"),
        "a CBC suite was accepted: {talk}"
    );
}

/// A TLS connection that trusts `ca` and keeps its socket for several requests.
struct Client {
    tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
}

impl Client {
    fn connect(port: u16, ca: &Path) -> Client {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut client = Client {
            tls: rustls::StreamOwned::new(conn, sock),
        };
        assert_eq!(client.get("/healthz"), 200);
        client
    }

    /// The leaf certificate the server presented.
    fn leaf(&self) -> Vec<u8> {
        self.tls.conn.peer_certificates().unwrap()[0].to_vec()
    }

    /// `GET path` on this connection (kept alive); the status.
    fn get(&mut self, path: &str) -> u16 {
        write!(self.tls, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        self.tls.flush().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            self.tls.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap().to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        self.tls.read_exact(&mut body).unwrap();
        head[9..12].parse().unwrap()
    }
}

use rustls::pki_types::pem::PemObject;

/// Waits until a new connection is presented `expected` (true) or anything else (false).
fn wait_for_leaf(port: u16, ca: &Path, leaf: &[u8]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if Client::connect(port, ca).leaf() == leaf {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

fn leaf_of(chain: &Path) -> Vec<u8> {
    rustls::pki_types::CertificateDer::pem_file_iter(chain)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

/// Replaces `to` with `from` the way certbot does: a new file renamed over the old one.
fn replace(from: &Path, to: &Path) {
    let staged = to.with_extension("new");
    std::fs::copy(from, &staged).unwrap();
    std::fs::rename(&staged, to).unwrap();
}

#[test]
fn the_certificate_rotates_with_connections_open_and_a_bad_pair_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let ca = TestCa::new(work.path());
    let (cert, key) = ca.issue("live", Leaf::Rsa);
    let s = Server::start_with(
        Backend::Sqlite,
        &format!(
            "[https]\nlisten = \"127.0.0.1:0\"\ncert_file = {cert:?}\nkey_file = {key:?}\nreload_check_seconds = 1\n"
        ),
    );
    let port = https_port(&s);
    let mut open = Client::connect(port, &ca.ca_file);
    assert_eq!(open.leaf(), leaf_of(&cert));

    // 1. A new ECDSA pair, then SIGHUP: new connections get it, the open one goes on.
    let (cert2, key2) = ca.issue("second", Leaf::Ecdsa);
    replace(&key2, &key);
    replace(&cert2, &cert);
    unsafe { libc::kill(s.pid() as i32, libc::SIGHUP) };
    assert!(
        wait_for_leaf(port, &ca.ca_file, &leaf_of(&cert2)),
        "{}",
        s.log()
    );
    assert_eq!(open.get("/healthz"), 200);
    assert!(s.log().contains("TLS certificate reloaded"), "{}", s.log());

    // 2. A certificate whose key is not beside it: refused with a log line; the second pair
    // stays.
    let (cert3, _) = ca.issue("third", Leaf::Ecdsa);
    replace(&cert3, &cert);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !s.log().contains("new TLS certificate refused") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        s.log().contains("does not belong to the certificate"),
        "{}",
        s.log()
    );
    assert_eq!(Client::connect(port, &ca.ca_file).leaf(), leaf_of(&cert2));

    // 3. Its key arrives (no signal: the files changed): the third pair is served.
    let (cert4, key4) = ca.issue("fourth", Leaf::Rsa);
    replace(&key4, &key);
    replace(&cert4, &cert);
    assert!(
        wait_for_leaf(port, &ca.ca_file, &leaf_of(&cert4)),
        "{}",
        s.log()
    );
    assert_eq!(open.get("/healthz"), 200);
    // The server still answers everything, over both listeners.
    assert_eq!(s.get("/healthz").0, 200);
}

#[test]
fn bad_pairs_stop_the_start_with_the_reason() {
    let work = tempfile::tempdir().unwrap();
    let ca = TestCa::new(work.path());
    let (good_cert, good_key) = ca.issue("good", Leaf::Ecdsa);
    let (other_cert, _) = ca.issue("other", Leaf::Ecdsa);
    let (expired, expired_key) = ca.issue("expired", Leaf::Expired);
    let (future, future_key) = ca.issue("future", Leaf::NotYetValid);
    let garbage = work.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let open_key = work.path().join("open.key");
    write_key(&open_key, &std::fs::read_to_string(&good_key).unwrap());
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&open_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let missing = work.path().join("missing.key");
    let garbage_key = work.path().join("garbage.key");
    write_key(
        &garbage_key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    let section = |cert: &Path, key: &Path| {
        format!("[https]\nlisten = \"127.0.0.1:0\"\ncert_file = {cert:?}\nkey_file = {key:?}\n")
    };
    for (config, reason) in [
        (
            section(&other_cert, &good_key),
            "does not belong to the certificate",
        ),
        (
            section(&expired, &expired_key),
            "the certificate expired on",
        ),
        (section(&future, &future_key), "not valid before"),
        (section(&garbage, &good_key), "garbage.pem"),
        (section(&good_cert, &open_key), "mode 644"),
        (section(&good_cert, &missing), "missing.key"),
        (section(&good_cert, &garbage_key), "garbage.key"),
        (
            "[https]\nlisten = \"127.0.0.1:0\"\n".to_string(),
            "needs https.cert_file and https.key_file",
        ),
    ] {
        let said = failed_start(&config);
        assert!(said.contains(reason), "{reason}: {said}");
        assert!(
            said.contains("HTTPS certificate") || reason.starts_with("needs"),
            "{said}"
        );
    }
}

#[test]
fn the_plain_listener_can_only_redirect_and_ftps_presents_the_same_pair() {
    let work = tempfile::tempdir().unwrap();
    let ca = TestCa::new(work.path());
    let s = https_server(
        &ca,
        "both",
        "redirect_http = true\nhsts_max_age_seconds = 0\n[ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"52000-52999\"\n",
    );
    let port = https_port(&s);
    let head = |path: &str, host: &str| {
        run_ok(
            Command::new("curl")
                .args(["-sS", "-D", "-", "-o", "/dev/null", "-H"])
                .arg(format!("Host: {host}"))
                .arg(format!("{}{path}", s.base)),
        )
        .to_lowercase()
    };
    let answer = head("/web/folders/5?after=3", "files.example.com:8080");
    assert!(answer.starts_with("http/1.1 308"), "{answer}");
    assert!(
        answer.contains(&format!(
            "location: https://files.example.com:{port}/web/folders/5?after=3"
        )),
        "{answer}"
    );
    assert!(head("/healthz", "localhost").starts_with("http/1.1 200"));
    assert!(head("/", "evil.example/x").starts_with("http/1.1 400"));
    // HSTS turned off: none over HTTPS either.
    let out = run_ok(
        Command::new("curl")
            .args(["-sS", "-D", "-", "-o", "/dev/null", "--cacert"])
            .arg(&ca.ca_file)
            .arg(format!("https://localhost:{port}/healthz")),
    );
    assert!(
        !out.to_lowercase().contains("strict-transport-security"),
        "{out}"
    );

    // FTPS has no pair of its own: ftplib verifies the HTTPS one against the test CA.
    let script = r#"
import ssl, sys
from ftplib import FTP_TLS
port, ca, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
ftp = FTP_TLS(context=ctx, timeout=20)
ftp.connect("localhost", port)
ftp.auth()
ftp.login(user, password)
ftp.prot_p()
print(ftp.pwd())
ftp.quit()
"#;
    let out = run_ok(Command::new("python3").args([
        "-c",
        script,
        &s.ftps_port().to_string(),
        ca.ca_file.to_str().unwrap(),
        ADMIN,
        ADMIN_PASSWORD,
    ]));
    assert!(out.trim().starts_with('/'), "{out}");
}
