//! A certificate authority made by the tests (rcgen), and the certificates it issues for
//! `localhost` and `127.0.0.1`: what the HTTPS tests hand to curl (`--cacert`), Python and
//! `openssl s_client`, and to Ferry as its pair.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

/// What kind of leaf to issue.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Leaf {
    /// ECDSA P-256, valid now.
    Ecdsa,
    /// RSA 2048, valid now.
    Rsa,
    /// Expired yesterday.
    Expired,
    /// Valid from tomorrow.
    NotYetValid,
}

/// The test CA.
pub struct TestCa {
    dir: PathBuf,
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate (PEM file) clients trust.
    pub ca_file: PathBuf,
}

impl TestCa {
    /// A new CA whose files go into `dir`.
    pub fn new(dir: &Path) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Ferry test CA");
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let ca_file = dir.join("test-ca.pem");
        std::fs::write(&ca_file, cert.pem()).unwrap();
        TestCa {
            dir: dir.to_path_buf(),
            issuer: Issuer::new(params, key),
            ca_file,
        }
    }

    /// Issues a leaf for `localhost` and `127.0.0.1`; writes `NAME.pem` (leaf then CA: a
    /// chain) and `NAME.key` (mode 600). Returns both paths.
    pub fn issue(&self, name: &str, kind: Leaf) -> (PathBuf, PathBuf) {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let now = time::OffsetDateTime::now_utc();
        let day = time::Duration::days(1);
        (params.not_before, params.not_after) = match kind {
            Leaf::Expired => (now - day * 30, now - day),
            Leaf::NotYetValid => (now + day, now + day * 30),
            _ => (now - day, now + day * 30),
        };
        let key = match kind {
            Leaf::Rsa => KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap(),
            _ => KeyPair::generate().unwrap(),
        };
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let ca = std::fs::read_to_string(&self.ca_file).unwrap();
        let (cert_file, key_file) = (
            self.dir.join(format!("{name}.pem")),
            self.dir.join(format!("{name}.key")),
        );
        std::fs::write(&cert_file, format!("{}{ca}", cert.pem())).unwrap();
        write_key(&key_file, &key.serialize_pem());
        (cert_file, key_file)
    }
}

/// Writes a key file with mode 600.
pub fn write_key(path: &Path, pem: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, pem).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
