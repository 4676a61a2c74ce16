//! Passwords a guesser tries first, refused when a password is set (NIST SP 800-63B
//! 5.1.1.2: context-specific words, repetitive or sequential characters, commonly used
//! passwords). The lock-out allows a few guesses per account and address; those few are
//! exactly these, and a sprayer tries them on every account.
//!
//! Deliberately small and offline: no breached-password service is asked (a file server
//! behind a firewall cannot reach one, and sending hashes out is its own exposure), and the
//! list is the handful every guessing tool starts with, each also with digits or `!`…
//! appended (`Summer2026!`, `Password1`), not a dictionary that would refuse passphrases.

/// The words guessing tools try first, lowercased; a password that is one of these, give or
/// take a tail of digits and symbols, is refused.
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "pa$$word",
    "iloveyou",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome",
    "letmein",
    "trustno",
    "superman",
    "batman",
    "starwars",
    "whatever",
    "dragon",
    "monkey",
    "master",
    "shadow",
    "computer",
    "changeme",
    "admin",
    "administrator",
    "secret",
    "login",
    "qwerty",
    "azerty",
    "qwertz",
    "abc",
    "default",
    "freedom",
    "mustang",
    "hello",
    "access",
    "summer",
    "winter",
    "spring",
    "autumn",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "friday",
    "ferry",
    "thru",
    "company",
    "welkom",
    "passwort",
    "motdepasse",
    "contrasena",
    "senha",
];

/// Keyboard rows and the digits, forwards; a password that is a stretch of one (either way)
/// is a walk along the keyboard.
const ROWS: &[&str] = &[
    "1234567890",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "azertyuiop",
    "qwertzuiop",
    "abcdefghijklmnopqrstuvwxyz",
];

/// Why `password` would be among the first guessed for the account `user_name`, or `None`.
pub fn why_guessable(password: &str, user_name: &str) -> Option<&'static str> {
    let lower = password.to_lowercase();
    let user = user_name.to_lowercase();
    // Without the tail a rule's "add a digit and a symbol" leaves: `Summer2026!`, `Qwerty1!`.
    let core = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    // Without the symbols only: `12345678!` keeps its digits.
    let head = lower.trim_end_matches(|c: char| c.is_ascii_punctuation());
    let reversed = |s: &str| s.chars().rev().collect::<String>();
    if !user.is_empty()
        && (lower.contains(&user) && lower.len() < user.len() + 4
            || core == user
            || reversed(core) == user)
    {
        return Some("it is the user name");
    }
    let mut chars = lower.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return Some("it repeats one character");
    }
    if sequential(&lower) || sequential(head) {
        return Some("it is a run of consecutive characters");
    }
    let along_a_row = |s: &str| {
        s.len() >= 6
            && ROWS
                .iter()
                .any(|row| row.contains(s) || row.contains(&reversed(s)))
    };
    if along_a_row(&lower) || along_a_row(head) || along_a_row(core) {
        return Some("it is a walk along the keyboard");
    }
    if COMMON.contains(&core) || COMMON.contains(&lower.as_str()) {
        return Some("it is one of the passwords guessed first");
    }
    None
}

/// Whether every character is the one before it plus (or minus) one: `12345678`, `hgfedcba`.
fn sequential(s: &str) -> bool {
    let codes: Vec<u32> = s.chars().map(u32::from).collect();
    let steps: Vec<i64> = codes
        .windows(2)
        .map(|w| i64::from(w[1]) - i64::from(w[0]))
        .collect();
    !steps.is_empty() && (steps.iter().all(|d| *d == 1) || steps.iter().all(|d| *d == -1))
}

#[cfg(test)]
mod tests {
    use super::why_guessable;

    #[test]
    fn the_first_guesses_are_refused() {
        for (pw, user) in [
            ("password", "ann"),
            ("Password1", "ann"),
            ("P@ssw0rd!", "ann"),
            ("Summer2026!", "ann"),
            ("Welcome123", "ann"),
            ("annabelle", "annabelle"),
            ("Annabelle2026", "annabelle"),
            ("ann12345", "ann"),
            ("elleban na", "an nabelle"),
            ("aaaaaaaa", "ann"),
            ("12345678", "ann"),
            ("87654321", "ann"),
            ("abcdefgh", "ann"),
            ("qwertyuiop", "ann"),
            ("Qwerty123!", "ann"),
            ("asdfghjkl", "ann"),
            ("ferry2026", "ann"),
            ("12345678!", "ann"),
            ("poiuytrewq", "ann"),
        ] {
            assert!(why_guessable(pw, user).is_some(), "{pw} for {user}");
        }
    }

    #[test]
    fn passwords_and_passphrases_pass() {
        for (pw, user) in [
            ("ann-password-1", "ann"),
            ("correct horse battery staple", "ann"),
            ("Tr0ub4dor&3", "ann"),
            ("bench-admin-password", "admin"),
            ("admin-password-1", "admin"),
            ("mia-password-1", "mia"),
            ("x7Kq2pLm", "bob"),
            ("summer in the valley", "ann"),
        ] {
            assert_eq!(why_guessable(pw, user), None, "{pw} for {user}");
        }
    }
}
