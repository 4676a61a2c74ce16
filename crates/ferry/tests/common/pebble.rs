//! Let's Encrypt's ACME test server, from Debian's `pebble` package, on loopback: `pebble`
//! itself (its directory served over HTTPS with a certificate from the tests' CA), and
//! `pebble-challtestsrv` as its DNS server, answering every name with 127.0.0.1, so pebble
//! really connects back to Ferry to validate each challenge. The certificates pebble issues
//! chain to a root it makes at each start ([`Pebble::root`]).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::test_ca::{Leaf, TestCa};

use ferry_testkit::free_port;

/// Running pebble and its DNS server; both are killed on drop.
pub struct Pebble {
    children: Vec<Child>,
    management: u16,
    ca_file: PathBuf,
    dir: PathBuf,
}

impl Pebble {
    /// Starts pebble with its directory on `directory_port`, validating HTTP-01 on
    /// `http_port` and TLS-ALPN-01 on `tls_port`, issuing certificates valid for
    /// `validity_seconds`.
    pub fn start(
        work: &Path,
        ca: &TestCa,
        directory_port: u16,
        http_port: u16,
        tls_port: u16,
        validity_seconds: u64,
    ) -> Pebble {
        let dir = work.join(format!("pebble-{directory_port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = ca.issue(&format!("pebble-{directory_port}"), Leaf::Ecdsa);
        let (dns, dns_management, management) = (free_port(), free_port(), free_port());
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{directory_port}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": cert,
            "privateKey": key,
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
            "certificateValidityPeriod": validity_seconds,
        }});
        let config_file = dir.join("pebble.json");
        std::fs::write(&config_file, config.to_string()).unwrap();
        let log = |name: &str| std::fs::File::create(dir.join(name)).unwrap();
        let challtestsrv = Command::new("pebble-challtestsrv")
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-management", &format!("127.0.0.1:{dns_management}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .stdout(log("challtestsrv.log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble-challtestsrv (Debian package pebble) is required");
        wait_for_port(dns_management);
        let pebble = Command::new("pebble")
            .arg("-config")
            .arg(&config_file)
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            // Validation at once, and no nonces refused at random: the tests are about Ferry.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(log("pebble.log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble (Debian package pebble) is required");
        wait_for_port(directory_port);
        wait_for_port(management);
        Pebble {
            children: vec![challtestsrv, pebble],
            management,
            ca_file: ca.ca_file.clone(),
            dir,
        }
    }

    /// The root the issued certificates chain to, written to a file clients can trust.
    pub fn root(&self) -> PathBuf {
        let file = self.dir.join("pebble-root.pem");
        let out = Command::new("curl")
            .args(["-sS", "--fail", "--cacert"])
            .arg(&self.ca_file)
            .arg(format!("https://127.0.0.1:{}/roots/0", self.management))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&file, &out.stdout).unwrap();
        file
    }

    /// What pebble logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pebble.log")).unwrap_or_default()
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The SHA-256 fingerprint (`AB:CD:…`) of the certificate `127.0.0.1:port` presents for
/// `name`, as `openssl s_client` sees it; `None` when the handshake fails.
pub fn served_fingerprint(port: u16, name: &str, alpn: Option<&str>) -> Option<String> {
    let alpn = alpn.map(|a| format!("-alpn {a}")).unwrap_or_default();
    fingerprint_with(&format!(
        "-connect 127.0.0.1:{port} -servername {name} {alpn}"
    ))
}

/// The same for an FTPS control connection after `AUTH TLS` (`-starttls ftp`).
pub fn served_fingerprint_ftps(port: u16, name: &str) -> Option<String> {
    fingerprint_with(&format!(
        "-connect 127.0.0.1:{port} -servername {name} -starttls ftp"
    ))
}

fn fingerprint_with(s_client_args: &str) -> Option<String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client {s_client_args} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .split_once('=')
        .map(|(_, f)| f.to_string())
        .filter(|f| !f.is_empty())
}
