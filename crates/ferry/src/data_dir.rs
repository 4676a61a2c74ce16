//! The data directory is a secret store: the database holds session IDs as issued, password
//! hashes and small files' bytes; `content/` holds every other file's bytes; the host key and
//! the certificates' keys lie beside them. So everything Ferry creates is its owner's alone
//! (a process umask of 077, set before any thread or file exists), a new data directory is
//! made `0700`, and an existing one that other users may enter is closed to them at start-up
//! with a warning. Group read stays allowed (Debian's `root:ssl-cert 0640` convention, the
//! same rule as for a key file named in `[https]`), group write does not.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use anyhow::Context;

/// The permission bits nobody but the owner (and a reading group) may hold on the data
/// directory.
const FORBIDDEN: u32 = 0o027;

/// Makes every file and directory this process creates from now on owner-only. Called first in
/// `main`, before the runtime's threads exist: the umask is process-wide.
pub fn restrict_new_files() {
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates `dir` (`0700`) if it is missing; otherwise takes group write and every right of
/// other users off it, saying so. A directory Ferry cannot change (not its owner) stops the
/// start-up: serving from it would hand the secrets to whoever else may read it.
pub fn prepare(dir: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    let mode = std::fs::metadata(dir)
        .with_context(|| format!("cannot read the data directory {}", dir.display()))?
        .permissions()
        .mode()
        & 0o7777;
    if mode & FORBIDDEN == 0 {
        return Ok(());
    }
    let closed = mode & !FORBIDDEN;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(closed)).with_context(|| {
        format!(
            "the data directory {} is open to other users (mode {mode:o}) and cannot be \
             closed: run `chmod o-rwx,g-w {}` as its owner",
            dir.display(),
            dir.display()
        )
    })?;
    tracing::warn!(
        dir = %dir.display(),
        from = format!("{mode:o}"),
        to = format!("{closed:o}"),
        "the data directory was open to other users; closed to them"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn an_open_directory_is_closed_to_others_and_a_private_one_left_alone() {
        let base = tempfile::tempdir().unwrap();
        for (before, after) in [
            (0o777, 0o750),
            (0o755, 0o750),
            (0o750, 0o750),
            (0o700, 0o700),
        ] {
            let dir = base.path().join(format!("d{before:o}"));
            std::fs::create_dir(&dir).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(before)).unwrap();
            prepare(&dir).unwrap();
            assert_eq!(mode(&dir), after, "from {before:o}");
        }
    }

    #[test]
    fn a_missing_directory_is_made_private_with_its_parents() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("a/b");
        prepare(&dir).unwrap();
        assert_eq!(mode(&dir) & 0o077, 0);
    }
}
