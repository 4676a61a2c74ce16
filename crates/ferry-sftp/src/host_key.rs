//! The server's SSH host key: Ed25519, generated on first start from the OS random number
//! generator and kept in the data directory (`sftp-host-ed25519`, OpenSSH format, mode 0600), so
//! clients that recorded it in `known_hosts` keep trusting the server across restarts.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use russh::keys::PrivateKey;
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;

/// Loads the host key from `dir`, making it first if there is none. Returns the key and
/// whether it was just made.
pub fn load_or_generate_host_key(dir: &Path) -> std::io::Result<(PrivateKey, bool)> {
    let path = dir.join("sftp-host-ed25519");
    if path.exists() {
        let text = std::fs::read_to_string(&path)?;
        let key = PrivateKey::from_openssh(text).map_err(|e| {
            std::io::Error::other(format!(
                "{}: not an OpenSSH private key: {e}",
                path.display()
            ))
        })?;
        return Ok((key, false));
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| std::io::Error::other(e.to_string()))?;
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    seed.fill(0);
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok((key, true))
}
