//! What listings say: `LIST` lines in the `ls -l` form every client parses, `NLST` names, and
//! the machine-readable facts of `MLSD`/`MLST` (RFC 3659), whose `perm` fact is computed from
//! the caller's permission bits so a client knows before trying what it may do.

use ferry_core::domain::Permissions;
use ferry_core::service::{FileView, FolderView, TreeNode};
use time::OffsetDateTime;

/// One folder or file as a listing shows it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its name (the last path component).
    pub name: String,
    /// A folder?
    pub dir: bool,
    /// Bytes (0 for folders).
    pub size: u64,
    /// Last change, Unix milliseconds.
    pub modified_ms: i64,
    /// The caller's bits on the folder (for a file: on the folder holding it).
    pub effective: Permissions,
    /// Stable identity for the `unique` fact.
    pub unique: String,
}

impl Entry {
    /// A folder.
    pub fn folder(f: &FolderView) -> Entry {
        Entry {
            name: f.folder.name.clone(),
            dir: true,
            size: 0,
            modified_ms: f.folder.modified_at.0,
            effective: f.effective,
            unique: format!("d{}", f.folder.id),
        }
    }

    /// A file (its current version).
    pub fn file(f: &FileView) -> Entry {
        Entry {
            name: f.file.name.clone(),
            dir: false,
            size: f.file.size.max(0) as u64,
            modified_ms: f.file.shown_modified_at().0,
            effective: f.effective,
            unique: format!("f{}", f.file.id),
        }
    }

    /// A folder or a file.
    pub fn node(n: &TreeNode) -> Entry {
        match n {
            TreeNode::Folder(f) => Entry::folder(f),
            TreeNode::File(f) => Entry::file(f),
        }
    }

    fn modified(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.modified_ms.max(0)) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// A `LIST` line, `ls -l` style, without its CRLF.
    pub fn list_line(&self, now: OffsetDateTime) -> String {
        let has = |bit| self.effective.contains(bit);
        let mode = if self.dir {
            let w = if has(Permissions::CREATE) { 'w' } else { '-' };
            format!("dr{w}xr-xr-x")
        } else {
            let w = if has(Permissions::MODIFY) { 'w' } else { '-' };
            format!("-r{w}-r--r--")
        };
        let m = self.modified();
        let month = &MONTHS[usize::from(u8::from(m.month())) - 1];
        // ls shows the time of day for the last six months and the year otherwise.
        let recent = (now - m).whole_days().abs() < 180;
        let when = if recent {
            format!("{month} {:>2} {:02}:{:02}", m.day(), m.hour(), m.minute())
        } else {
            format!("{month} {:>2}  {}", m.day(), m.year())
        };
        format!(
            "{mode} 1 ferry ferry {:>12} {when} {}",
            self.size, self.name
        )
    }

    /// The RFC 3659 facts and the name, as one `MLSD` line (or an `MLST` line after its space).
    pub fn facts_line(&self) -> String {
        let has = |bit| self.effective.contains(bit);
        let mut perm = String::new();
        if self.dir {
            perm.push_str("el");
            if has(Permissions::CREATE) {
                perm.push_str("cm");
            }
            if has(Permissions::DELETE) {
                perm.push('d');
            }
            if has(Permissions::MODIFY) {
                perm.push('f');
            }
        } else {
            if has(Permissions::DOWNLOAD) {
                perm.push('r');
            }
            if has(Permissions::MODIFY) {
                perm.push_str("wf");
            }
            if has(Permissions::DELETE) {
                perm.push('d');
            }
        }
        let kind = if self.dir { "dir" } else { "file" };
        let size = if self.dir {
            String::new()
        } else {
            format!("size={};", self.size)
        };
        format!(
            "type={kind};{size}modify={};perm={perm};unique={}; {}",
            mdtm(self.modified_ms),
            self.unique,
            self.name
        )
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A time as `MDTM` and the `modify` fact give it: `YYYYMMDDHHMMSS`, UTC.
pub fn mdtm(unix_ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms.max(0)) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A time as `MFMT` gives it: `YYYYMMDDHHMMSS`, optionally `.` and up to three digits of
/// fractions, UTC; in milliseconds since 1970. None for anything else (a date that does not
/// exist included).
pub fn parse_mdtm(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.len() != 14
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 3
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let n = |range: std::ops::Range<usize>| whole[range].parse::<u16>().ok();
    let month = time::Month::try_from(n(4..6)? as u8).ok()?;
    let date = time::Date::from_calendar_date(i32::from(n(0..4)?), month, n(6..8)? as u8).ok()?;
    let at = date
        .with_hms(n(8..10)? as u8, n(10..12)? as u8, n(12..14)? as u8)
        .ok()?
        .assume_utc();
    let ms = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<3}").parse::<i64>().ok()?
    };
    Some(at.unix_timestamp() * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mfmt_times_parse_and_print_back() {
        assert_eq!(parse_mdtm("20240102030405"), Some(1_704_164_645_000));
        assert_eq!(parse_mdtm("20240102030405.5"), Some(1_704_164_645_500));
        assert_eq!(
            mdtm(parse_mdtm("20240102030405.123").unwrap()),
            "20240102030405"
        );
        for bad in [
            "",
            "2024010203040",
            "202401020304056",
            "20240230030405",
            "20241302030405",
            "20240102250405",
            "2024010203040x",
            "20240102030405.1234",
            "20240102030405.x",
            "-2024010203040",
        ] {
            assert_eq!(parse_mdtm(bad), None, "{bad}");
        }
    }

    fn entry(dir: bool, bits: Permissions) -> Entry {
        Entry {
            name: "q3 report.pdf".into(),
            dir,
            size: 1234,
            // 2026-11-23 06:05:09 UTC
            modified_ms: 1_795_413_909_000,
            effective: bits,
            unique: "f7".into(),
        }
    }

    #[test]
    fn facts_follow_the_bits() {
        let all = Permissions(255);
        assert_eq!(
            entry(false, all).facts_line(),
            "type=file;size=1234;modify=20261123060509;perm=rwfd;unique=f7; q3 report.pdf"
        );
        assert_eq!(
            entry(false, Permissions::SHOW.union(Permissions::READ)).facts_line(),
            "type=file;size=1234;modify=20261123060509;perm=;unique=f7; q3 report.pdf"
        );
        assert!(entry(true, all).facts_line().contains("perm=elcmdf;"));
        assert!(
            entry(true, Permissions::SHOW)
                .facts_line()
                .starts_with("type=dir;modify=")
        );
    }

    #[test]
    fn list_lines_look_like_ls() {
        let now = OffsetDateTime::from_unix_timestamp(1_795_413_909).unwrap();
        let line = entry(false, Permissions(255)).list_line(now);
        assert_eq!(
            line,
            "-rw-r--r-- 1 ferry ferry         1234 Nov 23 06:05 q3 report.pdf"
        );
        let later = now + time::Duration::days(400);
        let old = entry(true, Permissions::SHOW).list_line(later);
        assert_eq!(
            old,
            "dr-xr-xr-x 1 ferry ferry         1234 Nov 23  2026 q3 report.pdf"
        );
    }
}
