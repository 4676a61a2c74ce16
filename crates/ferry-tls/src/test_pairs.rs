//! Certificate pairs for this crate's tests, made with rcgen.

use std::path::Path;

use crate::pem_pair::PemFiles;

/// Which pair to make.
pub enum Pair {
    Ecdsa,
    Rsa,
    Expired,
    NotYetValid,
}

/// Writes `NAME-cert.pem` and `NAME-key.pem` (the key with `mode`) into `dir`.
pub fn write_pair(dir: &Path, name: &str, kind: Pair, mode: u32) -> PemFiles {
    use std::os::unix::fs::PermissionsExt;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    (params.not_before, params.not_after) = match kind {
        Pair::Expired => (now - day * 30, now - day),
        Pair::NotYetValid => (now + day, now + day * 30),
        _ => (now - day, now + day * 30),
    };
    let key = match kind {
        Pair::Rsa => rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap(),
        _ => rcgen::KeyPair::generate().unwrap(),
    };
    let cert = params.self_signed(&key).unwrap();
    let files = PemFiles {
        cert: dir.join(format!("{name}-cert.pem")),
        key: dir.join(format!("{name}-key.pem")),
    };
    std::fs::write(&files.cert, cert.pem()).unwrap();
    std::fs::write(&files.key, key.serialize_pem()).unwrap();
    std::fs::set_permissions(&files.key, std::fs::Permissions::from_mode(mode)).unwrap();
    files
}
