//! Certificates from ACME (issue 18), against pebble, Let's Encrypt's test CA from Debian's
//! `pebble` package, which really connects back to Ferry to validate: TLS-ALPN-01 on the
//! HTTPS port and HTTP-01 on the plain one. Clients are curl and `openssl s_client`.
//!
//! What it shows: a first certificate issued and renewed when a third of its life is left,
//! with a connection open across the renewal; a CA down at start-up (Ferry serves the
//! configured certificate, says so, and gets one when the CA comes up); a CA that cannot reach
//! Ferry (its reason logged, nothing changed); a restart serving the cached certificate while
//! the CA is down; HTTP-01 answered past `redirect_http`; nothing
//! useful given to a client asking for `acme-tls/1` outside an order; a bad `[https.acme]`
//! stopping the start with the key at fault.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::pebble::{Pebble, served_fingerprint, served_fingerprint_ftps};
use common::test_ca::{Leaf, TestCa};
use common::{Server, failed_start, run_ok};
use ferry_testkit::{Backend, free_port};

/// The name pebble's DNS answers with 127.0.0.1, as every other.
const DOMAIN: &str = "files.ferry.test";

/// `GET /healthz` for `DOMAIN` on `port`, trusting `root` only; curl's status code.
fn curl_status(port: u16, root: &Path) -> String {
    let out = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{http_version}",
        ])
        .arg("--cacert")
        .arg(root)
        .args(["--resolve", &format!("{DOMAIN}:{port}:127.0.0.1")])
        .arg(format!("https://{DOMAIN}:{port}/healthz"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits (up to `seconds`) until `port` presents a certificate other than `not`; returns it.
fn wait_for_new_fingerprint(port: u16, not: Option<&str>, seconds: u64, s: &Server) -> String {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(f) = served_fingerprint(port, DOMAIN, None)
            && Some(f.as_str()) != not
        {
            return f;
        }
        assert!(
            Instant::now() < deadline,
            "no new certificate on {port}; Ferry's log:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn acme_config(directory_port: u16, ca: &TestCa, cache: &Path, extra: &str) -> String {
    format!(
        "[https.acme]\ndirectory = \"https://127.0.0.1:{directory_port}/dir\"\ndomains = [\"{DOMAIN}\"]\ncontact = [\"ops@example.com\"]\naccept_terms = true\ndirectory_ca_file = {:?}\ncache_dir = {cache:?}\nretry_seconds = 1\n{extra}",
        ca.ca_file
    )
}

#[test]
fn tls_alpn_01_issues_a_certificate_and_renews_it_with_a_connection_open() {
    let work = tempfile::tempdir().unwrap();
    let ca = TestCa::new(work.path());
    let (directory_port, https_port) = (free_port(), free_port());
    // 24-second certificates: renewed after 16.
    let pebble = Pebble::start(
        work.path(),
        &ca,
        directory_port,
        free_port(),
        https_port,
        24,
    );
    let root = pebble.root();
    let cache = work.path().join("acme-cache");
    let s = Server::start_with(
        Backend::Sqlite,
        &format!(
            "[https]\nlisten = \"127.0.0.1:{https_port}\"\n{}\n[ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"53000-53999\"\n",
            acme_config(directory_port, &ca, &cache, "")
        ),
    );

    let first = wait_for_new_fingerprint(https_port, None, 30, &s);
    // FTPS shares the HTTPS certificate, so it presents the ACME one too.
    assert_eq!(
        served_fingerprint_ftps(s.ftps_port(), DOMAIN).as_deref(),
        Some(first.as_str())
    );
    assert_eq!(curl_status(https_port, &root), "200 2", "{}", pebble.log());
    // pebble validated (the only way in is Ferry's HTTPS port, with ALPN acme-tls/1).
    assert!(
        pebble.log().contains("set VALID by completed challenge"),
        "{}",
        pebble.log()
    );
    assert!(
        s.log().contains("ACME certificate installed"),
        "{}",
        s.log()
    );
    // Monitoring sees the order and the certificate's expiry.
    let (_, metrics) = s.get("/metrics");
    assert!(
        metrics.contains("ferry_acme_orders_total{outcome=\"issued\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ferry_tls_certificate_expiry_timestamp_seconds{source=\"acme\"}"),
        "{metrics}"
    );

    // The account and certificate are cached privately.
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(&cache), 0o700);
    let names: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for prefix in ["account-", "certificate-", "key-"] {
        let name = names.iter().find(|n| n.starts_with(prefix)).expect(prefix);
        if prefix != "certificate-" {
            assert_eq!(mode(&cache.join(name)), 0o600, "{name}");
        }
    }

    // A connection opened now is still served after the renewal.
    let python = r#"
import http.client, ssl, sys, time
port, root, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=root)
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
conn.sock = ctx.wrap_socket(__import__("socket").create_connection(("127.0.0.1", port)), server_hostname=name)
for _ in range(2):
    conn.request("GET", "/healthz", headers={"Host": name})
    r = conn.getresponse(); r.read()
    print(r.status, flush=True)
    sys.stdin.readline()
"#;
    let mut held = Command::new("python3")
        .args(["-c", python, &https_port.to_string()])
        .arg(&root)
        .arg(DOMAIN)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut held_out = std::io::BufReader::new(held.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut held_out, &mut line).unwrap();
    assert_eq!(line.trim(), "200");

    let second = wait_for_new_fingerprint(https_port, Some(&first), 40, &s);
    assert_ne!(first, second);
    assert_eq!(curl_status(https_port, &root), "200 2");
    {
        use std::io::Write;
        writeln!(held.stdin.as_mut().unwrap()).unwrap();
    }
    line.clear();
    std::io::BufRead::read_line(&mut held_out, &mut line).unwrap();
    assert_eq!(
        line.trim(),
        "200",
        "the connection opened before the renewal was cut"
    );
    writeln_and_wait(&mut held);

    // Outside an order, a client asking for acme-tls/1 gets no certificate at all.
    assert_eq!(
        served_fingerprint(https_port, DOMAIN, Some("acme-tls/1")),
        None
    );
    // HTTPS clients still get h2 (the acme-tls/1 offer changes nothing for them).
    assert_eq!(curl_status(https_port, &root), "200 2");
}

fn writeln_and_wait(child: &mut std::process::Child) {
    use std::io::Write;
    let _ = writeln!(child.stdin.as_mut().unwrap());
    let _ = child.wait();
}

#[test]
fn a_ca_down_at_start_up_http_01_later_and_a_restart_on_the_cache() {
    let work = tempfile::tempdir().unwrap();
    let ca = TestCa::new(work.path());
    let (cert, key) = ca.issue("configured", Leaf::Rsa);
    let (directory_port, https_port) = (free_port(), free_port());
    let cache = work.path().join("acme-cache");
    let s = Server::start_with(
        Backend::Sqlite,
        &format!(
            "[https]\nlisten = \"127.0.0.1:{https_port}\"\ncert_file = {cert:?}\nkey_file = {key:?}\nredirect_http = true\n{}",
            acme_config(directory_port, &ca, &cache, "challenge = \"http-01\"\n")
        ),
    );
    // Nothing listens on the directory's port: Ferry serves the configured pair and says so.
    let configured = served_fingerprint(https_port, DOMAIN, None).unwrap();
    let log_deadline = Instant::now() + Duration::from_secs(20);
    while !s.log().contains("ACME: no certificate obtained") {
        assert!(Instant::now() < log_deadline, "{}", s.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        s.log().contains("https.cert_file until ACME issues one"),
        "{}",
        s.log()
    );
    let out = run_ok(
        Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(&ca.ca_file)
            .arg(format!("https://localhost:{https_port}/healthz")),
    );
    assert_eq!(out, "200");

    // The CA comes up; its HTTP-01 requests reach the plain listener despite redirect_http.
    let plain_port: u16 = s.base.rsplit(':').next().unwrap().parse().unwrap();
    let pebble = Pebble::start(
        work.path(),
        &ca,
        directory_port,
        plain_port,
        free_port(),
        3600,
    );
    let root = pebble.root();
    let issued = wait_for_new_fingerprint(https_port, Some(&configured), 60, &s);
    assert_eq!(curl_status(https_port, &root), "200 2");
    assert!(
        pebble.log().contains("set VALID by completed challenge"),
        "{}",
        pebble.log()
    );
    // A token of no open order is simply not found (not redirected, not served).
    let out = run_ok(
        Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("{}/.well-known/acme-challenge/made-up", s.base)),
    );
    assert_eq!(out, "404");
    let out = run_ok(
        Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("{}/web/", s.base)),
    );
    assert_eq!(out, "308");

    // Ferry and the CA stop; Ferry starts again on its cache while the CA is down.
    drop(pebble);
    let s = s.restart();
    assert!(s.log().contains("the ACME cache"), "{}", s.log());
    assert_eq!(
        served_fingerprint(https_port, DOMAIN, None).as_deref(),
        Some(issued.as_str())
    );
    assert_eq!(curl_status(https_port, &root), "200 2");
}

#[test]
fn a_ca_that_cannot_reach_ferry_is_logged_with_its_reason_and_nothing_changes() {
    let work = tempfile::tempdir().unwrap();
    let ca = TestCa::new(work.path());
    let (cert, key) = ca.issue("configured", Leaf::Ecdsa);
    let (directory_port, https_port) = (free_port(), free_port());
    // pebble validates TLS-ALPN-01 on a port where nothing listens.
    let pebble = Pebble::start(
        work.path(),
        &ca,
        directory_port,
        free_port(),
        free_port(),
        3600,
    );
    let cache = work.path().join("acme-cache");
    let s = Server::start_with(
        Backend::Sqlite,
        &format!(
            "[https]\nlisten = \"127.0.0.1:{https_port}\"\ncert_file = {cert:?}\nkey_file = {key:?}\n{}",
            acme_config(directory_port, &ca, &cache, "")
        ),
    );
    let configured = served_fingerprint(https_port, DOMAIN, None).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !s.log().contains("validation failed") {
        assert!(Instant::now() < deadline, "{}\n{}", s.log(), pebble.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    // The CA's own reason, for the domain, reaches the log.
    let log = s.log();
    let line = log
        .lines()
        .find(|l| l.contains("validation failed"))
        .unwrap();
    assert!(line.contains(&format!("{DOMAIN}: ")), "{line}");
    assert!(line.contains("acme:error"), "{line}");
    let (_, metrics) = s.get("/metrics");
    assert!(
        metrics.contains("ferry_acme_orders_total{outcome=\"failed\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ferry_tls_certificate_expiry_timestamp_seconds{source=\"file\"}"),
        "{metrics}"
    );
    // Nothing was cached, and the configured certificate is still what clients get.
    assert!(
        std::fs::read_dir(&cache).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("certificate-")),
        "a certificate was cached"
    );
    assert_eq!(
        served_fingerprint(https_port, DOMAIN, None).as_deref(),
        Some(configured.as_str())
    );
}

#[test]
fn a_bad_acme_section_stops_the_start_with_the_key_at_fault() {
    let work = tempfile::tempdir().unwrap();
    let ca_file = work.path().join("ca.pem");
    std::fs::write(&ca_file, "").unwrap();
    let base = |acme: &str| {
        format!(
            "[https]\nlisten = \"127.0.0.1:0\"\n[https.acme]\naccept_terms = true\ndomains = [\"files.example.com\"]\ndirectory = \"https://acme.example/dir\"\n{acme}"
        )
    };
    let cases: Vec<(String, &str)> = vec![
        (
            "[https]\nlisten = \"127.0.0.1:0\"\n[https.acme]\ndomains = [\"a.example.com\"]\ndirectory = \"https://acme.example/dir\"\n".into(),
            "accept_terms",
        ),
        (
            "[https]\nlisten = \"127.0.0.1:0\"\n[https.acme]\naccept_terms = true\ndomains = [\"a.example.com\"]\ndirectory = \"http://acme.example/dir\"\n".into(),
            "must be an https:// URL",
        ),
        (
            "[https]\nlisten = \"127.0.0.1:0\"\n[https.acme]\naccept_terms = true\ndomains = [\"a.example.com\"]\n".into(),
            "https.acme.directory",
        ),
        (
            "[https]\nlisten = \"127.0.0.1:0\"\n[https.acme]\naccept_terms = true\ndirectory = \"https://acme.example/dir\"\n".into(),
            "names no domain",
        ),
        (base("domains = [\"*.example.com\"]\n").replace("domains = [\"files.example.com\"]\n", ""), "is not a domain name"),
        (base("domains = [\"192.0.2.7\"]\n").replace("domains = [\"files.example.com\"]\n", ""), "is not a domain name"),
        (base("challenge = \"dns-01\"\n"), "https.acme.challenge"),
        (base("contact = [\"not an address\"]\n"), "https.acme.contact"),
        (base("directory_ca_file = \"/nonexistent/ca.pem\"\n"), "directory_ca_file"),
        (base("retry = 5\n"), "unknown field"),
        (
            "[https.acme]\naccept_terms = true\ndomains = [\"a.example.com\"]\ndirectory = \"https://acme.example/dir\"\n".into(),
            "https.listen is not set",
        ),
    ];
    for (config, expected) in cases {
        let err = failed_start(&config);
        assert!(err.contains(expected), "{config}\n→ {err}");
    }
}
