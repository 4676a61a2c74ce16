//! SFTP as the common OpenSSH tools use it (issue 16): `scp` (which speaks SFTP since
//! OpenSSH 9) and `ssh -s sftp` report the subsystem's exit status as their own, so scripts
//! that run `scp … && next` work; a session starts in the user's home folder, so clients
//! that give no path (`scp x host:`, `put x`) land somewhere writable; an upload to a
//! temporary name renamed over the target (WinSCP, FileZilla, rclone) becomes the target's
//! next version, over SFTP and FTPS alike.

mod common;
#[path = "sftp/keyed.rs"]
mod keyed;

use std::process::Command;

use common::{Server, run_ok, sha256_hex};
use keyed::{explain, openssh_options, run, sftp_batch, start_with_key, start_with_key_and};

#[test]
fn scp_and_ssh_subsystem_exit_zero_after_a_good_session() {
    let dir = tempfile::tempdir().unwrap();
    let (s, port, key) = start_with_key(dir.path());
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i * 11 % 251) as u8).collect();
    std::fs::write(dir.path().join("up.bin"), &data).unwrap();
    let target = |path: &str| format!("alice@127.0.0.1:{path}");

    let out = run(Command::new("scp")
        .args(openssh_options(&key))
        .args(["-P", &port.to_string()])
        .arg(dir.path().join("up.bin"))
        .arg(target("/Home/alice/up.bin")));
    assert!(out.status.success(), "scp upload: {}", explain(&out));
    let out = run(Command::new("scp")
        .args(openssh_options(&key))
        .args(["-P", &port.to_string()])
        .arg(target("/Home/alice/up.bin"))
        .arg(dir.path().join("down.bin")));
    assert!(out.status.success(), "scp download: {}", explain(&out));
    assert_eq!(
        sha256_hex(&std::fs::read(dir.path().join("down.bin")).unwrap()),
        sha256_hex(&data)
    );
    // `scp … && next`: the shell sees 0 only when the subsystem said so.
    let script = format!(
        "scp {} -P {port} {} {} && echo next",
        openssh_options(&key).join(" "),
        dir.path().join("up.bin").display(),
        target("/Home/alice/again.bin")
    );
    let out = run(Command::new("sh").args(["-c", &script]));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("next"),
        "{}",
        explain(&out)
    );

    // `ssh -s sftp` whose input ends at once: the server ends the subsystem with status 0.
    let out = run(Command::new("ssh")
        .args(openssh_options(&key))
        .args(["-p", &port.to_string(), "-s"])
        .arg("alice@127.0.0.1")
        .arg("sftp"));
    assert_eq!(out.status.code(), Some(0), "ssh -s sftp: {}", explain(&out));
    // Whole transfers leave no record of one cut short (written, if at all, as the
    // connection ends: waited for a moment).
    std::thread::sleep(std::time::Duration::from_millis(500));
    let cut: Vec<_> = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "DownloadBrokenOff" || r["operation"] == "UploadFailed")
        .collect();
    assert!(cut.is_empty(), "{cut:?}");
}

#[test]
fn sessions_start_in_the_home_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (s, port, key) = start_with_key(dir.path());
    std::fs::write(dir.path().join("x.txt"), b"no path given").unwrap();
    // `scp x host:` copies into the start folder.
    let out = run(Command::new("scp")
        .args(openssh_options(&key))
        .args(["-P", &port.to_string()])
        .arg(dir.path().join("x.txt"))
        .arg("alice@127.0.0.1:"));
    assert!(
        out.status.success(),
        "scp to the start folder: {}",
        explain(&out)
    );
    // `sftp` without `cd`: `pwd` is the home folder, `put` lands there; `/Home` and
    // `/Shared` stay reachable; a write where nothing may be written is permission denied.
    let out = sftp_batch(
        dir.path(),
        port,
        &key,
        "pwd\nput x.txt y.txt\nls /\nls -l / /Home\n-put x.txt /nowhere.txt\n",
    );
    let said = explain(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("Remote working directory: /Home/alice"),
        "{said}"
    );
    assert!(said.contains("Shared") && said.contains("alice"), "{said}");
    assert!(said.to_lowercase().contains("permission denied"), "{said}");
    // The navigation folders carry the installation's time, not 1 January 1970.
    assert!(!said.contains("1970"), "{said}");
    let (session, _) = s.open("alice", "alice-password", common::APP);
    let names: Vec<String> = s
        .home_files(&session)
        .iter()
        .map(|f| f["Name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"x.txt".to_string()) && names.contains(&"y.txt".to_string()));
}

#[test]
fn a_temporary_upload_renamed_over_the_target_becomes_its_next_version() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _, key) = start_with_key_and(
        dir.path(),
        "[ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"51000-51999\"\n",
    );
    let (session, _) = s.open("alice", "alice-password", common::APP);
    let report = |s: &Server| -> serde_json::Value {
        s.home_files(&session)
            .into_iter()
            .find(|f| f["Name"] == "report.txt")
            .expect("report.txt is there")
    };
    std::fs::write(dir.path().join("v1"), b"version one").unwrap();
    std::fs::write(dir.path().join("v2"), b"version two, longer").unwrap();
    // OpenSSH's sftp: `rename` goes through posix-rename@openssh.com.
    let batch = |commands: &str| {
        let out = sftp_batch(dir.path(), s.sftp_port(), &key, commands);
        assert!(out.status.success(), "{}", explain(&out));
    };
    batch("put v1 report.txt\n");
    let first_id = report(&s)["FileID"].clone();
    batch("put v2 report.txt.filepart\nrename report.txt.filepart report.txt\n");
    let after_sftp = report(&s);
    assert_eq!(after_sftp["FileID"], first_id, "the same file");
    assert_eq!(after_sftp["Version"], 2, "{after_sftp}");
    assert_eq!(after_sftp["SHA256"], sha256_hex(b"version two, longer"));
    let names: Vec<serde_json::Value> = s
        .home_files(&session)
        .iter()
        .map(|f| f["Name"].clone())
        .collect();
    assert_eq!(
        names,
        [serde_json::json!("report.txt")],
        "the temporary name is gone"
    );

    // FTPS: STOR to a temporary name, then RNFR/RNTO over the target (ftplib).
    let script = format!(
        "import ftplib, io, ssl\n\
         class F(ftplib.FTP_TLS):\n\
         \x20   def ntransfercmd(self, cmd, rest=None):\n\
         \x20       conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)\n\
         \x20       return self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session), size\n\
         c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE\n\
         f = F(context=c, timeout=20); f.connect('127.0.0.1', {}); f.auth(); f.login('alice', 'alice-password'); f.prot_p()\n\
         f.storbinary('STOR report.txt.part', io.BytesIO(b'version three'))\n\
         f.rename('report.txt.part', 'report.txt')\n\
         print(sorted(n for n, _ in f.mlsd()))\n\
         f.quit()\n",
        s.ftps_port()
    );
    let listed = run_ok(Command::new("python3").args(["-c", &script]));
    assert_eq!(listed.trim(), "['report.txt']");
    let after_ftps = report(&s);
    assert_eq!(after_ftps["FileID"], first_id, "the same file all along");
    assert_eq!(after_ftps["Version"], 3, "{after_ftps}");
    let (status, versions) = s.call(
        "GetFileVersions",
        serde_json::json!({"sessionID": session, "fileID": first_id}),
    );
    assert_eq!(status, 200, "{versions}");
    let digests: Vec<&str> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["SHA256"].as_str().unwrap())
        .collect();
    for content in [
        &b"version one"[..],
        b"version two, longer",
        b"version three",
    ] {
        assert!(
            digests.contains(&sha256_hex(content).as_str()),
            "{versions}"
        );
    }
    let (status, _, bytes) = s.get_bytes(
        &format!("/api/v1/files/{first_id}/content"),
        &[("X-Session-ID", session.as_str())],
    );
    assert_eq!(status, 200);
    assert_eq!(bytes, b"version three");
    let audit = s.audit();
    let renamed: Vec<_> = audit
        .iter()
        .filter(|r| r["operation"] == "FileRenamed")
        .collect();
    let onto_target = renamed.iter().filter(|r| r["file_id"] == first_id).count();
    assert_eq!(onto_target, 2, "one record per rename over the target");
    // Each temporary file's own trail ends too: its upload, then its end, under its own ID.
    for ended in renamed.iter().filter(|r| r["file_id"] != first_id) {
        let detail = ended["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("ended as the next version of another file: report.txt.")
                && detail.contains("-> report.txt: version "),
            "{detail}"
        );
        assert!(
            audit
                .iter()
                .any(|r| r["operation"] == "FileUploaded" && r["file_id"] == ended["file_id"])
        );
    }
    assert_eq!(renamed.len(), 4, "{renamed:?}");
}

#[test]
fn recursive_uploads_set_folder_modes_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (s, port, key) = start_with_key(dir.path());
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("a.txt"), b"alpha").unwrap();
    std::fs::write(tree.join("sub/b.txt"), b"bravo").unwrap();
    // `put -r` and `scp -r` set each folder's mode after making it: accepted and ignored.
    let out = sftp_batch(dir.path(), port, &key, "put -r tree\n");
    let said = explain(&out);
    assert!(out.status.success(), "{said}");
    assert!(!said.contains("setstat"), "{said}");
    let out = run(Command::new("scp")
        .args(openssh_options(&key))
        .args(["-r", "-p", "-P", &port.to_string()])
        .arg(&tree)
        .arg("alice@127.0.0.1:copy"));
    let said = explain(&out);
    assert!(out.status.success(), "{said}");
    assert!(!said.contains("setstat"), "{said}");
    let (session, _) = s.open("alice", "alice-password", common::APP);
    let (_, home) = s.call("GetHomeFolder", serde_json::json!({"sessionID": session}));
    let (_, folders) = s.call(
        "GetFolders",
        serde_json::json!({"sessionID": session, "folderID": home["FolderID"]}),
    );
    let names: Vec<&str> = folders
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["Name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"tree") && names.contains(&"copy"),
        "{names:?}"
    );
}

/// A folder of many files with long names lists whole, through OpenSSH's `ls` and `get -r`.
/// Before, the first `READDIR` answered the whole folder in one reply; OpenSSH's client drops
/// any reply over 256 KiB ("Received message too long"), so a folder of a few thousand files,
/// or some hundreds with long names, could not be listed or fetched at all.
#[test]
fn a_large_folder_lists_whole_in_openssh_sftp() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, port, key) = start_with_key(dir.path());
    let many = dir.path().join("many");
    std::fs::create_dir_all(many.join("inner")).unwrap();
    std::fs::write(many.join("inner/deep.txt"), b"deep").unwrap();
    // 1,200 names of 200 bytes: about 550 KiB of names and `ls -l` lines, and more than two of
    // the server's pages of files.
    let names: Vec<String> = (0..1200)
        .map(|i| format!("{i:05}-{}", "n".repeat(194)))
        .collect();
    for name in &names {
        std::fs::write(many.join(name), name.as_bytes()).unwrap();
    }
    // And more subfolders than the server reads at a time.
    let folders: Vec<String> = (0..1050).map(|i| format!("sub{i:04}")).collect();
    for name in &folders {
        std::fs::create_dir(many.join(name)).unwrap();
    }
    let out = sftp_batch(dir.path(), port, &key, "put -r many\n");
    assert!(out.status.success(), "{}", explain(&out));

    let out = sftp_batch(dir.path(), port, &key, "ls -1 many\n");
    assert!(out.status.success(), "{}", explain(&out));
    let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("sftp>"))
        .map(|l| l.trim().trim_start_matches("many/").to_string())
        .collect();
    let mut expected = [&names[..], &folders[..]].concat();
    expected.push("inner".into());
    let mut sorted = listed.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected, "every name once");

    std::fs::create_dir(dir.path().join("back")).unwrap();
    let out = sftp_batch(dir.path(), port, &key, "lcd back\nget -r many\n");
    assert!(out.status.success(), "{}", explain(&out));
    let back = dir.path().join("back/many");
    assert_eq!(std::fs::read_dir(&back).unwrap().count(), 2251);
    assert_eq!(
        std::fs::read(back.join(&names[1199])).unwrap(),
        names[1199].as_bytes()
    );
    assert_eq!(std::fs::read(back.join("inner/deep.txt")).unwrap(), b"deep");
}
