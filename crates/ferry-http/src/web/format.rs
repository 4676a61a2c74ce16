//! How numbers and times read on the web client's pages.

use ferry_core::Timestamp;

/// Bytes in the units people use (`0 B`, `999 B`, `1.5 KB`, `12 MB`, `3.40 GB`), decimal as
/// file managers show them.
pub fn size(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["KB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.2} {}", UNITS[unit])
    } else if value < 100.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// A time as `2026-11-30 14:05 UTC`, and the RFC 3339 form for a `<time>` element.
pub fn time(at: Timestamp) -> (String, String) {
    let full = at.to_rfc3339();
    let shown = match (full.get(0..10), full.get(11..16)) {
        (Some(day), Some(hm)) => format!("{day} {hm} UTC"),
        _ => full.clone(),
    };
    (shown, full)
}

/// `1,234,567`.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_counts() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1500), "1.50 KB");
        assert_eq!(size(12_345_678), "12.3 MB");
        assert_eq!(size(209_715_200), "210 MB");
        assert_eq!(count(100_000), "100,000");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
    }

    #[test]
    fn times_read_in_utc() {
        let (shown, full) = time(Timestamp(0));
        assert_eq!(shown, "1970-01-01 00:00 UTC");
        assert!(full.starts_with("1970-01-01T00:00:00"));
    }
}
