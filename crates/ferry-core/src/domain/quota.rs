//! Storage quotas: how many bytes of content a user may hold.
//!
//! A user's stored bytes are every version they uploaded ([`charged`]: in whole 4 KiB blocks),
//! from its upload until its content is purged (`[files] purge_after_days` after the file's deletion): what they occupy on disk, so
//! deleting and uploading again cannot pass the bound. The store keeps each user's total in the
//! same transaction as the versions (migration 0025).

use crate::error::{Error, Result};

/// What a version counts at least, and the unit its size is counted in: a file takes whole
/// blocks on a disk, and its rows in the metadata database take room whatever its size, so
/// a quota also bounds how many files an account can make (10 GiB: at most 2,621,440).
pub const BLOCK: u64 = 4096;

/// What a version of `size` bytes counts toward its uploader's quota: its size rounded up to
/// whole [`BLOCK`]s, one at least. Migration 0025's triggers count the same.
pub fn charged(size: u64) -> u64 {
    size.div_ceil(BLOCK).max(1).saturating_mul(BLOCK)
}

/// The quota set on an account (`users.quota_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuotaSetting {
    /// The server's `[files] user_quota` (NULL).
    #[default]
    ServerDefault,
    /// No bound, whatever the server's default (0).
    Unlimited,
    /// At most this many bytes (a positive number).
    Bytes(u64),
}

impl QuotaSetting {
    /// The stored form: NULL for the server's default, 0 for none, else the bytes.
    pub fn to_stored(self) -> Option<i64> {
        match self {
            QuotaSetting::ServerDefault => None,
            QuotaSetting::Unlimited => Some(0),
            QuotaSetting::Bytes(n) => Some(i64::try_from(n).unwrap_or(i64::MAX)),
        }
    }

    /// Reads the stored form (a negative number, written by no version of Ferry, is none).
    pub fn from_stored(v: Option<i64>) -> Self {
        match v {
            None => QuotaSetting::ServerDefault,
            Some(n) if n <= 0 => QuotaSetting::Unlimited,
            Some(n) => QuotaSetting::Bytes(n as u64),
        }
    }

    /// The bound that applies, given the server's default (`None`: no bound).
    pub fn bound(self, server_default: Option<u64>) -> Option<u64> {
        match self {
            QuotaSetting::ServerDefault => server_default,
            QuotaSetting::Unlimited => None,
            QuotaSetting::Bytes(n) => Some(n),
        }
    }

    /// Parses what an administrator types: `default`, `none`, or a size ([`parse_size`]).
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "default" => Ok(QuotaSetting::ServerDefault),
            "none" | "unlimited" => Ok(QuotaSetting::Unlimited),
            other => match parse_size(other)? {
                0 => Ok(QuotaSetting::Unlimited),
                n => Ok(QuotaSetting::Bytes(n)),
            },
        }
    }
}

impl std::fmt::Display for QuotaSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuotaSetting::ServerDefault => f.write_str("default"),
            QuotaSetting::Unlimited => f.write_str("none"),
            QuotaSetting::Bytes(n) => f.write_str(&exact_size(*n)),
        }
    }
}

/// Parses a size: a whole number of bytes, or one followed by `K`, `M`, `G` or `T` (powers of
/// 1024, as `KiB`, `MiB`, … which are accepted too, as are `KB`, `MB`, … meaning the same).
pub fn parse_size(s: &str) -> Result<u64> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = s.split_at(digits);
    let bad = || {
        Error::invalid(
            "a size is a whole number of bytes, or one with K, M, G or T (powers of 1024)",
        )
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(bad()),
    };
    n.checked_mul(1u64 << shift)
        .filter(|&b| b <= i64::MAX as u64)
        .ok_or_else(bad)
}

/// A size as people read it, in the units quotas are set in: a whole number of the largest
/// binary unit where it is one (`10 GiB`), else one decimal (`1.4 MiB`), bytes below 1 KiB.
pub fn show_size(n: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n >= 1 << shift {
            return match n.is_multiple_of(1 << shift) {
                true => format!("{} {unit}", n >> shift),
                false => format!("{:.1} {unit}", n as f64 / (1u64 << shift) as f64),
            };
        }
    }
    format!("{n} bytes")
}

/// A size exactly, in a form [`parse_size`] reads back: `10 GiB` where it is whole, else bytes.
fn exact_size(n: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{} {unit}", n >> shift);
        }
    }
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_counts_in_whole_blocks_one_at_least() {
        assert_eq!(charged(0), 4096);
        assert_eq!(charged(1), 4096);
        assert_eq!(charged(4096), 4096);
        assert_eq!(charged(4097), 8192);
        assert_eq!(charged(u64::MAX), u64::MAX);
    }

    #[test]
    fn sizes_read_as_administrators_write_them() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("10G").unwrap(), 10 << 30);
        assert_eq!(parse_size("500 MiB").unwrap(), 500 << 20);
        assert_eq!(parse_size("1tb").unwrap(), 1 << 40);
        for bad in ["", "G", "-1", "1.5G", "10 parsecs", "99999999999T", "1 2"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(show_size(10 << 30), "10 GiB");
        assert_eq!(show_size(1500), "1.5 KiB");
        assert_eq!(show_size(1000), "1000 bytes");
        assert_eq!(exact_size(1500), "1500");
        assert_eq!(parse_size(&exact_size(1500)).unwrap(), 1500);
    }

    #[test]
    fn the_setting_round_trips_through_its_stored_form() {
        for s in [
            QuotaSetting::ServerDefault,
            QuotaSetting::Unlimited,
            QuotaSetting::Bytes(5 << 20),
            QuotaSetting::Bytes(1500),
        ] {
            assert_eq!(QuotaSetting::from_stored(s.to_stored()), s);
            assert_eq!(QuotaSetting::parse(&s.to_string()).unwrap(), s);
        }
        assert_eq!(QuotaSetting::parse("0").unwrap(), QuotaSetting::Unlimited);
        assert_eq!(QuotaSetting::ServerDefault.bound(Some(7)), Some(7));
        assert_eq!(QuotaSetting::Unlimited.bound(Some(7)), None);
        assert_eq!(QuotaSetting::Bytes(3).bound(None), Some(3));
    }
}
