//! ZIP entry names that extract where they belong on every system, Windows' included. Ferry's
//! names may hold characters Windows cannot (`C:/evil.bat` reads as a drive there, `a:b` as
//! an alternate data stream, `CON` as a device), and a ZIP entry's name becomes a path on the
//! recipient's disk: each such character becomes `_`, a device name gets a leading `_`, and
//! names that became equal are told apart with ` (2)`, ` (3)`… before the extension.

use std::collections::HashSet;

/// Characters Windows refuses in a file name (besides the controls Ferry refuses anyway).
const WINDOWS_FORBIDDEN: &[char] = &['<', '>', ':', '"', '|', '?', '*'];
/// Names Windows reserves for devices, whatever the extension.
const DEVICE_NAMES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// One path component as Windows can hold it.
fn component(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if WINDOWS_FORBIDDEN.contains(&c) || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let stem = out.split('.').next().unwrap_or_default();
    if DEVICE_NAMES
        .iter()
        .any(|d| d.eq_ignore_ascii_case(stem.trim_end()))
    {
        out.insert(0, '_');
    }
    out
}

/// The entry names of one archive, unique within it (compared as Windows does, ignoring case).
#[derive(Debug, Default)]
pub struct EntryNames {
    taken: HashSet<String>,
}

impl EntryNames {
    /// The entry name for `path` (`folder/…/name`, components separated by `/`).
    pub fn entry(&mut self, path: &str) -> String {
        let escaped: Vec<String> = path.split('/').map(component).collect();
        let candidate = escaped.join("/");
        if self.taken.insert(candidate.to_lowercase()) {
            return candidate;
        }
        let (dir, last) = match candidate.rsplit_once('/') {
            Some((d, l)) => (format!("{d}/"), l.to_string()),
            None => (String::new(), candidate.clone()),
        };
        let (stem, ext) = match last.rsplit_once('.') {
            Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
            _ => (last.clone(), String::new()),
        };
        for n in 2.. {
            let next = format!("{dir}{stem} ({n}){ext}");
            if self.taken.insert(next.to_lowercase()) {
                return next;
            }
        }
        unreachable!("some suffix is always free")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_windows_cannot_hold_are_escaped() {
        let mut names = EntryNames::default();
        assert_eq!(names.entry("C:/evil.bat"), "C_/evil.bat");
        assert_eq!(names.entry("docs/a:b.txt"), "docs/a_b.txt");
        assert_eq!(names.entry("what?.txt"), "what_.txt");
        assert_eq!(names.entry("con.txt"), "_con.txt");
        assert_eq!(names.entry("sub/NUL"), "sub/_NUL");
        assert_eq!(names.entry("console.txt"), "console.txt");
        assert_eq!(names.entry("Ünïcödé.txt"), "Ünïcödé.txt");
    }

    #[test]
    fn names_that_became_equal_are_told_apart() {
        let mut names = EntryNames::default();
        assert_eq!(names.entry("a:b.txt"), "a_b.txt");
        assert_eq!(names.entry("a_b.txt"), "a_b (2).txt");
        assert_eq!(names.entry("a|b.txt"), "a_b (3).txt");
        assert_eq!(names.entry("dir/x*"), "dir/x_");
        assert_eq!(names.entry("dir/X?"), "dir/X? (2)".replace('?', "_"));
        assert_eq!(names.entry(".hidden"), ".hidden");
    }
}
