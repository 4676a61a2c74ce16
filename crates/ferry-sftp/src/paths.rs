//! Paths as SFTP clients send them, made absolute tree paths. SFTP has no current folder:
//! a relative path is relative to where the session starts, which is what `realpath(".")`
//! answers. Ferry starts a session in the user's home folder ([`Service::tree_start`]), as
//! OpenSSH starts in the home directory, so `put x.txt` and `scp x host:` land there.
//!
//! [`Service::tree_start`]: ferry_core::Service::tree_start

use ferry_core::service::path_names;
use russh_sftp::protocol::StatusCode;

/// `path` made absolute against `start` (itself absolute) and normalised: `.` skipped, `..`
/// going up but never above `/`.
pub(crate) fn resolve(start: &str, path: &str) -> Result<String, StatusCode> {
    let joined;
    let path = if path.starts_with('/') {
        path
    } else {
        joined = format!("{}/{path}", start.trim_end_matches('/'));
        &joined
    };
    let names = path_names(path).map_err(|_| StatusCode::BadMessage)?;
    Ok(format!("/{}", names.join("/")))
}

/// Reads one SSH `string` (u32 length, bytes) as UTF-8 from an extension's data.
pub(crate) fn wire_string(data: &mut &[u8]) -> Result<String, StatusCode> {
    let (len, rest) = data.split_at_checked(4).ok_or(StatusCode::BadMessage)?;
    let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
    let (text, rest) = rest.split_at_checked(len).ok_or(StatusCode::BadMessage)?;
    *data = rest;
    String::from_utf8(text.to_vec()).map_err(|_| StatusCode::BadMessage)
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn relative_paths_start_at_the_start_folder() {
        let home = "/Home/ann";
        assert_eq!(resolve(home, ".").unwrap(), "/Home/ann");
        assert_eq!(resolve(home, "").unwrap(), "/Home/ann");
        assert_eq!(resolve(home, "x.txt").unwrap(), "/Home/ann/x.txt");
        assert_eq!(resolve(home, "../bob/y").unwrap(), "/Home/bob/y");
        assert_eq!(resolve(home, "../../../..").unwrap(), "/");
        assert_eq!(resolve(home, "/Shared/a").unwrap(), "/Shared/a");
        assert_eq!(resolve("/", "a//./b").unwrap(), "/a/b");
        assert!(resolve(home, "a\0b").is_err());
    }
}
