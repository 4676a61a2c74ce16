//! Who runs a `ferry` command, for its audit records: the account of the process's real user
//! ID, which the kernel vouches for, and not `$USER`, which the caller sets (`USER=alice ferry
//! user set-password …` was recorded as alice's doing). sudo's `SUDO_USER` is added as what it
//! is, a claim next to the real account: the account that ran the command is always named.

/// Longest claim taken from `SUDO_USER`.
const MAX_CLAIM: usize = 64;

/// "ferry", "root (sudo by alice)", or "uid 1234" for an ID without an account.
pub fn running_account() -> String {
    // SAFETY: getuid cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() };
    let name = account_name(uid).unwrap_or_else(|| format!("uid {uid}"));
    match std::env::var("SUDO_USER") {
        Ok(by) if !by.trim().is_empty() => {
            let by: String = by
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_CLAIM)
                .collect();
            format!("{name} (sudo by {by})")
        }
        _ => name,
    }
}

/// The name of `uid`'s account in the system's user database, if it has one.
fn account_name(uid: libc::uid_t) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: passwd is plain data; getpwuid_r fills it with pointers into `buf`, which
    // outlives every use of them below.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let rc = unsafe { libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc != 0 || found.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points to a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_account_is_named_whatever_user_says() {
        let uid = unsafe { libc::getuid() };
        let expected = account_name(uid).unwrap_or_else(|| format!("uid {uid}"));
        // Without SUDO_USER (the test runner's environment may carry one).
        if std::env::var_os("SUDO_USER").is_none() {
            assert_eq!(running_account(), expected);
        }
        assert!(
            account_name(uid).is_some() || uid != 0,
            "root has an account"
        );
    }
}
