//! Running the peers tests drive (rclone, any program, Python's token tools through the CLI),
//! and what they need: trees of files, upload links, times, open files.

use std::path::Path;
use std::process::Command;

use super::{Server, sha256_hex};

/// An upload-tool link into `folder` for `session`, to be opened from 127.0.0.1 (the server
/// must have the tools on): the path and query, without the base.
pub fn upload_link(s: &Server, session: &str, folder: i64) -> String {
    let link = s.ferry_ok(
        &[
            "token",
            "issue",
            "--folder",
            &folder.to_string(),
            "--allowed-ip",
            "127.0.0.1",
            "--session",
            session,
            "--link",
            &s.base,
        ],
        None,
    );
    link.trim().trim_start_matches(&s.base).to_string()
}

/// Runs a peer program, asserting success; returns its standard output.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A small tree of files with varied sizes, written under `root`.
pub fn make_tree(root: &Path) -> Vec<(String, String)> {
    let mut made = Vec::new();
    for (i, rel) in [
        "a.txt",
        "docs/b.pdf",
        "docs/deep/c.bin",
        "empty.dat",
        "Ünïcödé.txt",
    ]
    .iter()
    .enumerate()
    {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let data: Vec<u8> = (0..(i * 400_000 + 3) as u32)
            .map(|j| (j.wrapping_mul(31).wrapping_add(i as u32)) as u8)
            .collect();
        let data = if rel.starts_with("empty") {
            Vec::new()
        } else {
            data
        };
        std::fs::write(&path, &data).unwrap();
        made.push((rel.to_string(), sha256_hex(&data)));
    }
    made
}

/// Runs rclone with an empty configuration kept in `dir` and no retries (a failure must show);
/// returns its standard output.
pub fn rclone(dir: &Path, args: &[&str]) -> String {
    let config = dir.join("rclone.conf");
    if !config.exists() {
        std::fs::write(&config, "").unwrap();
    }
    run_ok(
        Command::new("rclone")
            .arg("--config")
            .arg(&config)
            .args(["--low-level-retries", "1", "--retries", "1"])
            .args(args),
    )
}

/// The time `offset_secs` from now, UTC, as `MM/dd/yyyy HH:mm:ss` (tickets and tool tokens).
pub fn utc_stamp(offset_secs: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs);
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}:{:02}",
        u8::from(t.month()),
        t.day(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Raises this process's open-file limit (the server inherits it) to hold `n` connections.
pub fn allow_open_files(n: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain calls with a valid, writable rlimit.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < n {
            limit.rlim_cur = n.min(limit.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
}
