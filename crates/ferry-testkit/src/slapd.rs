//! A throwaway OpenLDAP `slapd` for directory-sync tests: its own configuration, an MDB
//! database seeded with `slapadd`, plain LDAP and LDAPS on free loopback ports, a test CA and
//! server certificate made with `openssl`, and a small schema adding Active Directory's
//! `objectGUID` and `sAMAccountName` so both attribute sets are exercised. Killed on drop.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// The directory suffix.
pub const SUFFIX: &str = "dc=corp,dc=example";
/// The administrator DN (the database's rootdn).
pub const ADMIN_DN: &str = "cn=admin,dc=corp,dc=example";
/// Its password.
pub const ADMIN_PASSWORD: &str = "slapd-admin-password";

const AD_SCHEMA: &str = "\
attributetype ( 1.3.6.1.4.1.99999.1.1 NAME 'objectGUID' SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.1.2 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.2.1 NAME 'ferryTestAdUser' AUXILIARY MAY ( objectGUID $ sAMAccountName ) )
";

/// A running slapd.
pub struct Slapd {
    child: Child,
    dir: tempfile::TempDir,
    /// `ldap://127.0.0.1:PORT`.
    pub url: String,
    /// `ldaps://127.0.0.1:PORT`.
    pub ldaps_url: String,
}

impl Slapd {
    /// Starts slapd with the entries of `seed` (LDIF, below [`SUFFIX`]; the suffix entry itself
    /// is added here).
    pub fn start(seed: &str) -> Slapd {
        let slapd = Path::new("/usr/sbin/slapd");
        assert!(
            slapd.exists(),
            "slapd is required by the test suite (Debian: apt-get install slapd ldap-utils)"
        );
        let dir = tempfile::Builder::new()
            .prefix("ferry-slapd-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("db")).unwrap();
        std::fs::write(d.join("ad.schema"), AD_SCHEMA).unwrap();
        make_certificates(d);
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             include /etc/ldap/schema/nis.schema\n\
             include {dir}/ad.schema\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             pidfile {dir}/slapd.pid\n\
             TLSCACertificateFile {dir}/ca.pem\n\
             TLSCertificateFile {dir}/server.pem\n\
             TLSCertificateKeyFile {dir}/server.key\n\
             database mdb\n\
             maxsize 10485760\n\
             suffix \"{SUFFIX}\"\n\
             rootdn \"{ADMIN_DN}\"\n\
             rootpw {ADMIN_PASSWORD}\n\
             directory {dir}/db\n",
            dir = d.display()
        );
        std::fs::write(d.join("slapd.conf"), conf).unwrap();
        let ldif = format!(
            "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: corp\no: Corp\n\n{seed}"
        );
        std::fs::write(d.join("seed.ldif"), ldif).unwrap();
        run(Command::new("/usr/sbin/slapadd")
            .arg("-f")
            .arg(d.join("slapd.conf"))
            .arg("-l")
            .arg(d.join("seed.ldif")));

        // free_port's ports are free only until something else takes one (another process
        // may): slapd then exits saying "Address already in use", and is started again on
        // other ports.
        let mut attempt = 1;
        let (child, url, ldaps_url) = loop {
            match launch(slapd, d) {
                Ok(started) => break started,
                Err(log) if log.contains("Address already in use") && attempt < 5 => attempt += 1,
                Err(log) => panic!("slapd did not start (attempt {attempt}): {log}"),
            }
        };
        Slapd {
            child,
            dir,
            url,
            ldaps_url,
        }
    }

    /// The test CA's certificate (PEM), which signed the server's.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Applies an LDIF change (`changetype: modify`, `modrdn`, `add`, `delete`) with
    /// `ldapmodify` as the administrator.
    pub fn modify(&self, ldif: &str) {
        let path = self.dir.path().join("change.ldif");
        std::fs::write(&path, ldif).unwrap();
        run(Command::new("ldapmodify")
            .args([
                "-x",
                "-H",
                &self.url,
                "-D",
                ADMIN_DN,
                "-w",
                ADMIN_PASSWORD,
                "-f",
            ])
            .arg(&path));
    }

    /// Stops slapd now (to test an unreachable directory).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts slapd with the configuration in `d` on two free ports and waits until both accept;
/// if it exits first, or does not listen within 20 s, returns what it logged.
fn launch(slapd: &Path, d: &Path) -> Result<(Child, String, String), String> {
    let (port, tls_port) = (free_port(), free_port());
    let url = format!("ldap://127.0.0.1:{port}");
    let ldaps_url = format!("ldaps://127.0.0.1:{tls_port}");
    let log_path = d.join("slapd.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(slapd)
        .arg("-f")
        .arg(d.join("slapd.conf"))
        .arg("-h")
        .arg(format!("{url}/ {ldaps_url}/"))
        // Any -d keeps slapd in the foreground, so the child is slapd itself; "none" logs
        // only what always goes out, such as why it stopped (level 0 logs nothing).
        .args(["-d", "none"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("cannot start slapd");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err()
        || TcpStream::connect(("127.0.0.1", tls_port)).is_err()
    {
        let exited = child.try_wait().ok().flatten();
        if exited.is_some() || Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let logged = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(match exited {
                Some(status) => format!("exited ({status}): {logged}"),
                None => format!("not listening after 20 s: {logged}"),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((child, url, ldaps_url))
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1, with openssl.
fn make_certificates(d: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(Command::new("openssl")
        .current_dir(d)
        .args(["req", "-x509"])
        .args(ec)
        .args(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"])
        .args(["-subj", "/CN=Ferry test CA"])
        .args(["-addext", "basicConstraints=critical,CA:TRUE"])
        .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]));
    run(Command::new("openssl")
        .current_dir(d)
        .arg("req")
        .args(ec)
        .args(["-keyout", "server.key", "-out", "server.csr"])
        .args(["-subj", "/CN=127.0.0.1"]));
    std::fs::write(
        d.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(Command::new("openssl")
        .current_dir(d)
        .args([
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
        ])
        .args(["-CAcreateserial", "-out", "server.pem", "-days", "2"])
        .args(["-extfile", "server.ext"]));
    // slapd may run as another user in some setups; the key only needs to be readable by it.
    let _ = std::fs::set_permissions(
        d.join("server.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    );
}
