//! SFTP writes as POSIX clients make them (issue 16, item 2): open flags honoured as
//! OpenSSH's server honours them, for a store whose versions never change. A handle without
//! `TRUNC` starts from the stored bytes and writes anywhere; nothing is committed before
//! `CLOSE`, and a handle that wrote nothing commits nothing. Proved with the clients that
//! found it (lftp's `put -c`, sshfs) and with paramiko sending their packet sequences.

mod common;
#[path = "sftp/keyed.rs"]
mod keyed;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use common::{APP, Server, run_ok, sha256_hex};
use keyed::{explain, run, start_with_key};
use serde_json::Value;

/// alice's home files by name: (version, SHA-256).
fn versions(s: &Server) -> HashMap<String, (i64, String)> {
    let (session, _) = s.open("alice", "alice-password", APP);
    s.home_files(&session)
        .iter()
        .map(|f| {
            (
                f["Name"].as_str().unwrap().to_string(),
                (
                    f["Version"].as_i64().unwrap(),
                    f["SHA256"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

#[test]
fn open_flags_behave_as_on_a_posix_file_and_make_versions() {
    let dir = tempfile::tempdir().unwrap();
    let (s, port, _key) = start_with_key(dir.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sftp/open_flags.py");
    let out = run_ok(
        Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .args(["alice", "alice-password", "/Home/alice"]),
    );
    assert!(out.trim_end().ends_with("done"), "{out}");

    let v = versions(&s);
    let check = |name: &str, version: i64, bytes: &[u8]| {
        assert_eq!(
            v.get(name),
            Some(&(version, sha256_hex(bytes))),
            "{name}: {v:?}"
        );
    };
    check("kept.txt", 1, b"0123456789");
    check("edited.txt", 2, b"01XY456789");
    let mut scattered = vec![b'A'; 40_000];
    scattered.extend(vec![0u8; 30_000]);
    scattered.extend(vec![b'C'; 30_000]);
    check("scattered.bin", 1, &scattered);
    check("rw.txt", 2, b"READ ME, then change me");
    check("cut.txt", 2, b"0123");
    check("created.txt", 1, b"fresh");
    check("empty.txt", 1, b"");
    assert!(!v.contains_key("missing.txt"), "{v:?}");

    // Reading the stored bytes through a READ|WRITE handle is a download of version 1,
    // audited once (the script's last read of the file is version 2's download); an upload's
    // digest is the whole version's, computed from the bytes at the end.
    let audit = s.audit();
    let downloads: Vec<&Value> = common::audit_records(&audit, "FileDownloaded", 2, "")
        .into_iter()
        .filter(|r| r["path"] == "rw.txt")
        .collect();
    let digests: Vec<&Value> = downloads.iter().map(|r| &r["digest"]).collect();
    assert_eq!(
        digests,
        [
            &Value::from(sha256_hex(b"read me, then change me")),
            &Value::from(sha256_hex(b"READ ME, then change me"))
        ],
        "{downloads:?}"
    );
    let uploads: Vec<&Value> = common::audit_records(&audit, "FileUploaded", 2, "")
        .into_iter()
        .filter(|r| r["path"] == "scattered.bin")
        .collect();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0]["digest"], sha256_hex(&scattered));
    assert_eq!(uploads[0]["size"], 100_000);
}

/// lftp in SFTP mode, signing in as alice with `key`, running `commands` in `dir`.
fn lftp(dir: &Path, port: u16, key: &Path, commands: &str) -> std::process::Output {
    let connect = format!(
        "set sftp:connect-program 'ssh -a -x -i {} -o StrictHostKeyChecking=no \
         -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o BatchMode=yes'; \
         set net:max-retries 1; open -u alice, sftp://127.0.0.1:{port}; cd /Home/alice",
        key.display()
    );
    run(Command::new("timeout")
        .args(["120", "lftp", "-e"])
        .arg(format!("{connect}; {commands}; bye"))
        .current_dir(dir))
}

#[test]
fn lftp_resume_finishes_a_partial_upload_and_leaves_a_complete_one_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (s, port, key) = start_with_key(dir.path());
    let whole: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 253) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &whole[..1_000_000]).unwrap();
    let out = lftp(dir.path(), port, &key, "put big.bin");
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(versions(&s)["big.bin"].0, 1);

    // `put -c` of the whole file: lftp opens without TRUNC and writes from the stored size.
    std::fs::write(dir.path().join("big.bin"), &whole).unwrap();
    let out = lftp(dir.path(), port, &key, "put -c big.bin");
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(versions(&s)["big.bin"], (2, sha256_hex(&whole)));

    // Again, now that the stored file is complete: nothing to send, and no new version (it
    // used to leave an empty version 3 as the current one).
    let out = lftp(dir.path(), port, &key, "put -c big.bin");
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(versions(&s)["big.bin"], (2, sha256_hex(&whole)));
}

/// Unmounts an sshfs mount when dropped, so a failing test leaves no mount behind.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("fusermount3").arg("-u").arg(&self.0).status();
    }
}

#[test]
fn sshfs_creates_appends_edits_and_truncates_files() {
    let dir = tempfile::tempdir().unwrap();
    let (s, port, key) = start_with_key(dir.path());
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let options = format!(
        "IdentityFile={},StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,\
         IdentitiesOnly=yes,BatchMode=yes",
        key.display()
    );
    let out = run(Command::new("timeout")
        .args(["30", "sshfs", "-p", &port.to_string(), "-o", &options])
        .arg("alice@127.0.0.1:/Home/alice")
        .arg(&mnt));
    if !out.status.success() && !Path::new("/dev/fuse").exists() {
        // The machine cannot mount (no FUSE device): open_flags.py replays sshfs's packet
        // sequence in `open_flags_behave_as_on_a_posix_file_and_make_versions` instead.
        eprintln!("sshfs cannot mount here (no /dev/fuse): {}", explain(&out));
        return;
    }
    assert!(out.status.success(), "sshfs: {}", explain(&out));
    let _mount = Mount(mnt.clone());
    let sh = |script: &str| {
        let out = run(Command::new("sh").args(["-c", script]).current_dir(&mnt));
        assert!(out.status.success(), "{script}: {}", explain(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    sh("echo hello > note.txt");
    sh("echo more >> note.txt");
    assert_eq!(sh("cat note.txt"), "hello\nmore\n");
    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i * 13 % 251) as u8).collect();
    std::fs::write(dir.path().join("data.bin"), &data).unwrap();
    sh("cp ../data.bin data.bin");
    sh("printf XY | dd of=data.bin bs=1 seek=100 conv=notrunc 2>/dev/null");
    sh("truncate -s 1000 data.bin");
    sh("touch empty.txt && mkdir sub && mv note.txt sub/note.txt");
    assert_eq!(sh("wc -c < data.bin").trim(), "1000");
    drop(_mount);

    let mut edited = data.clone();
    edited[100..102].copy_from_slice(b"XY");
    edited.truncate(1000);
    let v = versions(&s);
    // cp made version 1, dd version 2, truncate version 3; `touch` an empty file.
    assert_eq!(v["data.bin"], (3, sha256_hex(&edited)), "{v:?}");
    assert_eq!(v["empty.txt"], (1, sha256_hex(b"")), "{v:?}");
    assert!(!v.contains_key("note.txt"), "{v:?}");
}
