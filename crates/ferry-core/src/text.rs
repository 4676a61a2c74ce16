//! Validation of the text that callers send, done once at the boundary of the Service.
//!
//! Every string parameter is checked for length and for NUL and other control characters
//! (PostgreSQL cannot store NUL, logs must not carry terminal escapes, and nothing downstream
//! should have to think about them). Each failure names the parameter, never its value.

use crate::error::{Error, Result};

/// Longest login name, in characters.
pub const MAX_USER_NAME: usize = 64;
/// Longest password, in bytes (Argon2 takes any length; this bounds the work per request).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Shortest password an administrator may set.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest `clientVersion`, in characters.
pub const MAX_CLIENT_VERSION: usize = 255;
/// Longest `userString`, in characters (the spec's limit).
pub const MAX_USER_STRING: usize = 255;
/// Longest first or last name, in characters.
pub const MAX_PERSON_NAME: usize = 255;
/// Longest e-mail address, in characters.
pub const MAX_EMAIL: usize = 254;
/// Longest application name, in characters.
pub const MAX_APPLICATION_NAME: usize = 255;

/// Longest folder or file name, in UTF-8 bytes.
pub const MAX_ITEM_NAME_BYTES: usize = 255;
/// Longest group name, in characters.
pub const MAX_GROUP_NAME: usize = 128;

/// Whether `c` reorders the text around it (bidirectional embeddings, overrides and isolates):
/// `invoice\u{202E}fdp.exe` shows as `invoiceexe.pdf`. Refused in every name and text field.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` draws nothing where it stands: zero-width spaces, invisible marks and
/// operators, the soft hyphen, fillers, tags (Unicode's default-ignorable characters). Two
/// names that differ only by one look the same in every listing and in the audit, so one
/// passes for the other (`invoice.pdf` beside `invoice\u{200B}.pdf`, `admin\u{3164}` beside
/// `admin`). Refused in the names of items, users and groups. Kept: the zero-width joiner
/// and non-joiner (emoji sequences, Persian, Indic scripts) and the variation selectors
/// (emoji, Mongolian), which change how the characters beside them are drawn.
pub fn is_invisible(c: char) -> bool {
    INVISIBLE
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
}

/// The characters [`is_invisible`] finds, as ranges (first, last): one list for the check and
/// for the API's schema, which excludes them from names.
pub const INVISIBLE: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200B}'),
    ('\u{200E}', '\u{200F}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{206A}', '\u{206F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E007F}'),
];

/// Refuses a name with a character that draws nothing ([`is_invisible`]).
pub fn visible_name(param: &str, value: &str) -> Result<()> {
    if value.chars().any(is_invisible) {
        return Err(Error::invalid(format!(
            "{param} contains an invisible character (a zero-width space, a soft hyphen, a \
             filler…): it would look like another name"
        )));
    }
    Ok(())
}

/// [`item_name`] of a new name if there is one (a move that may rename as well); the name
/// alone.
pub fn new_item_name(param: &str, value: Option<&str>) -> Result<Option<String>> {
    value
        .map(|v| item_name(param, v).map(|(name, _)| name))
        .transpose()
}

/// A folder or file name (DESIGN.md §5, invariant 4): not empty, at most 255 bytes, no `/`,
/// `\`, NUL, control characters or bidirectional controls, not `.` or `..`, no leading or
/// trailing spaces, no trailing dot. Returns the name in Unicode NFC, and the key that decides whether two names in one
/// folder collide (NFC, lowercased), so `é` precomposed and decomposed are the same name.
pub fn item_name(param: &str, value: &str) -> Result<(String, String)> {
    use unicode_normalization::UnicodeNormalization;
    let name: String = value.nfc().collect();
    let refuse = |why: &str| Err(Error::invalid(format!("{param} {why}")));
    if name.is_empty() {
        return refuse("is empty");
    }
    if name.len() > MAX_ITEM_NAME_BYTES {
        return refuse("is longer than 255 bytes");
    }
    if name
        .chars()
        .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return refuse("contains / or \\ or control characters");
    }
    if name.chars().any(is_bidi_control) {
        return refuse("contains bidirectional control characters (they disguise names)");
    }
    visible_name(param, &name)?;
    if name == "." || name == ".." {
        return refuse("may not be . or ..");
    }
    if name.starts_with(' ') || name.ends_with(' ') || name.ends_with('.') {
        return refuse("may not start or end with a space, or end with a dot");
    }
    let key = item_key(&name);
    Ok((name, key))
}

/// The collision key of an (already NFC) item name: two names with the same key cannot live in
/// the same folder.
pub fn item_key(name: &str) -> String {
    name.to_lowercase()
}

/// Refuses text longer than `max_chars` characters or containing control characters.
pub fn plain(param: &str, value: &str, max_chars: usize) -> Result<()> {
    if value.chars().count() > max_chars {
        return Err(Error::invalid(format!(
            "{param} is longer than {max_chars} characters"
        )));
    }
    if value.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err(Error::invalid(format!(
            "{param} contains control characters"
        )));
    }
    Ok(())
}

/// Like [`plain`], and refuses empty or blank text.
pub fn required(param: &str, value: &str, max_chars: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(format!("{param} is empty")));
    }
    plain(param, value, max_chars)
}

/// A login name: 1 to 64 letters, digits, `.`, `-`, `_`, `@` or `+`, not starting with `.`/`-`.
pub fn user_name(param: &str, value: &str) -> Result<()> {
    required(param, value, MAX_USER_NAME)?;
    visible_name(param, value)?;
    let ok_char = |c: char| c.is_alphanumeric() || ".-_@+".contains(c);
    if !value.chars().all(ok_char) || value.starts_with(['.', '-']) {
        return Err(Error::invalid(format!(
            "{param} may contain only letters, digits and . - _ @ +, and may not start with . or -"
        )));
    }
    Ok(())
}

/// A password presented at sign-in: bounded, and free of NUL (which no stored password has).
pub fn presented_password(param: &str, value: &str) -> Result<()> {
    if value.len() > MAX_PASSWORD_BYTES {
        return Err(Error::invalid(format!(
            "{param} is longer than {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    if value.contains('\0') {
        return Err(Error::invalid(format!("{param} contains a NUL character")));
    }
    Ok(())
}

/// A password an administrator sets: as [`presented_password`], at least 8 characters, and
/// no control characters.
pub fn new_password(param: &str, value: &str) -> Result<()> {
    presented_password(param, value)?;
    if value.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(format!(
            "{param} must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    plain(param, value, MAX_PASSWORD_BYTES)
}

/// [`new_password`] for the account `user_name`, which also refuses what a guesser tries first
/// ([`crate::guessable_passwords`]): the user name, one character repeated, a run or a walk
/// along the keyboard, the commonest passwords give or take a tail of digits and symbols.
pub fn new_password_for(param: &str, value: &str, user_name: &str) -> Result<()> {
    new_password(param, value)?;
    match crate::guessable_passwords::why_guessable(value, user_name) {
        Some(why) => Err(Error::invalid(format!(
            "{param} is too easy to guess: {why}"
        ))),
        None => Ok(()),
    }
}

/// An e-mail address: empty, or one `@` with text on both sides and no spaces.
pub fn email(param: &str, value: &str) -> Result<()> {
    plain(param, value, MAX_EMAIL)?;
    if value.is_empty() {
        return Ok(());
    }
    let valid = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !value.contains(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(format!("{param} is not an e-mail address")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_nul_are_refused_everywhere() {
        assert!(plain("p", "a\0b", 10).is_err());
        assert!(plain("p", "a\nb", 10).is_err());
        assert!(plain("p", "a\u{1b}[31m", 10).is_err());
        assert!(presented_password("p", "pw\0").is_err());
        assert!(user_name("p", "bob\0").is_err());
    }

    #[test]
    fn bidirectional_controls_are_refused_in_names_and_text() {
        assert!(item_name("name", "invoice\u{202E}fdp.exe").is_err());
        assert!(item_name("name", "a\u{2066}b").is_err());
        assert!(plain("p", "Ann\u{202D}", 10).is_err());
        // Right-to-left scripts themselves, and joiners inside emoji, are names like any.
        assert!(item_name("name", "דוח שנתי.pdf").is_ok());
        assert!(item_name("name", "family\u{1F468}\u{200D}\u{1F469}.jpg").is_ok());
    }

    #[test]
    fn lengths_count_characters() {
        assert!(plain("p", &"é".repeat(255), 255).is_ok());
        assert!(plain("p", &"é".repeat(256), 255).is_err());
    }

    #[test]
    fn user_names() {
        for ok in ["bob", "Bob.Smith", "a_b-c", "me@example.com", "Zoë"] {
            assert!(user_name("userName", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            " ",
            "a b",
            "a/b",
            "a\\b",
            "' OR 1=1 --",
            ".hidden",
            "-x",
            "x;y",
        ] {
            assert!(user_name("userName", bad).is_err(), "{bad}");
        }
        assert!(user_name("userName", &"a".repeat(65)).is_err());
    }

    #[test]
    fn errors_name_the_parameter_not_the_value() {
        let e = user_name("userName", "secret value!")
            .unwrap_err()
            .to_string();
        assert!(e.contains("userName"));
        assert!(!e.contains("secret"));
    }

    #[test]
    fn emails() {
        assert!(email("e", "").is_ok());
        assert!(email("e", "a@b.c").is_ok());
        for bad in ["a", "@b", "a@", "a@b@c", "a b@c"] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn item_names() {
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a\\b",
            "a\0b",
            "a\nb",
            "trailing.",
            "trailing ",
            " leading",
        ] {
            assert!(item_name("name", bad).is_err(), "{bad:?}");
        }
        assert!(item_name("name", &"a".repeat(255)).is_ok());
        assert!(item_name("name", &"a".repeat(256)).is_err());
        assert!(
            item_name("name", &"é".repeat(128)).is_err(),
            "255 bytes, not characters"
        );
        for ok in [
            "report.pdf",
            ".profile",
            "a..b",
            "Ünïcödé",
            "<script>x",
            "' OR 1=1",
        ] {
            assert!(item_name("name", ok).is_ok(), "{ok:?}");
        }
        let (composed, key1) = item_name("name", "caf\u{e9}").unwrap();
        let (decomposed, key2) = item_name("name", "cafe\u{301}").unwrap();
        assert_eq!(composed, decomposed, "stored in NFC");
        assert_eq!(key1, key2);
        assert_eq!(
            item_name("name", "Report").unwrap().1,
            item_name("name", "REPORT").unwrap().1
        );
    }

    #[test]
    fn invisible_characters_are_refused_in_names_and_joiners_kept() {
        for bad in [
            "invoice\u{200B}.pdf",
            "\u{FEFF}report.pdf",
            "soft\u{AD}hyphen",
            "tag\u{E0041}s",
            "filler\u{3164}",
            "mark\u{200F}.txt",
        ] {
            assert!(item_name("name", bad).is_err(), "{bad:?}");
        }
        assert!(user_name("name", "admin\u{3164}").is_err());
        assert!(user_name("name", "admin\u{200B}").is_err());
        for ok in [
            "family \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}.jpg",
            "\u{0645}\u{06CC}\u{200C}\u{062E}\u{0648}\u{0627}\u{0647}\u{0645}.txt",
            "heart \u{2764}\u{FE0F}.png",
        ] {
            assert!(item_name("name", ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn new_passwords_have_a_minimum_length() {
        assert!(new_password("password", "short").is_err());
        assert!(new_password("password", "long enough").is_ok());
    }
}
