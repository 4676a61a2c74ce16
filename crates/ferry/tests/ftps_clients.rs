//! FTPS as clients outside Ferry's usual peers use it (issue 16): aioftp, which finishes the
//! data connection's TLS handshake before it sends the transfer command; `SITE CHMOD` as
//! WinSCP and FileZilla send it; and the start-up line that gives the certificate's
//! fingerprints as clients show them (SHA-256 and SHA-1).

mod common;

use std::path::Path;
use std::process::Command;

use common::{Server, run_ok};
use ferry_testkit::Backend;

fn start() -> (Server, u16) {
    let s = Server::start_with(
        Backend::Sqlite,
        "[ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"50000-50999\"\n",
    );
    s.add_user("alice", "member", "alice-password");
    let port = s.ftps_port();
    (s, port)
}

/// `tests/ftps/{script}` run as alice against the server on `port`, with `more` arguments.
fn alices_script(script: &str, port: u16, more: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ftps")
        .join(script);
    run_ok(
        Command::new("python3")
            .arg(&script)
            .args(["127.0.0.1", &port.to_string(), "alice", "alice-password"])
            .args(more),
    )
}

#[test]
fn aioftp_uploads_and_downloads_with_its_early_handshake() {
    let (s, port) = start();
    let out = alices_script("aioftp_session.py", port, &[]);
    assert!(out.contains("signed in, in /Home/alice"), "{out}");
    assert!(out.contains("aioftp round trip"), "{out}");
    let (session, _) = s.open("alice", "alice-password", common::APP);
    let files = s.home_files(&session);
    assert!(files.iter().any(|f| f["Name"] == "aioftp.bin"), "{files:?}");
}

#[test]
fn the_start_up_line_gives_both_fingerprints_as_openssl_computes_them() {
    let (s, _) = start();
    let cert = s.path().join("ftps-cert.pem");
    let openssl = |digest: &str| {
        let out = run_ok(
            Command::new("openssl")
                .args(["x509", "-noout", "-fingerprint", digest, "-in"])
                .arg(&cert),
        );
        out.trim().split('=').nth(1).unwrap().to_string()
    };
    // The log without its colours (ANSI escape sequences).
    let mut log = String::new();
    let mut in_escape = false;
    for c in s.log().chars() {
        match (in_escape, c) {
            (false, '\u{1b}') => in_escape = true,
            (false, c) => log.push(c),
            (true, 'm') => in_escape = false,
            (true, _) => {}
        }
    }
    for (field, digest) in [("fingerprint", "-sha256"), ("sha1", "-sha1")] {
        let expected = openssl(digest);
        assert!(
            log.contains(&format!("{field}={expected}")),
            "{field} {expected} not in the log:\n{log}"
        );
    }
}

#[test]
fn site_chmod_is_accepted_and_ignored() {
    let (_s, port) = start();
    let script = format!(
        "import ftplib, io, ssl\n\
         c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE\n\
         f = ftplib.FTP_TLS(context=c, timeout=20); f.connect('127.0.0.1', {port})\n\
         f.auth(); f.login('alice', 'alice-password')\n\
         print(f.sendcmd('SITE CHMOD 755 /Home/alice'))\n\
         for cmd in ('SITE CHMOD 644 /Home/alice/missing.txt', 'SITE CHMOD', 'SITE EXEC ls'):\n\
         \x20   try:\n\
         \x20       f.sendcmd(cmd)\n\
         \x20   except ftplib.error_perm as e:\n\
         \x20       print(str(e)[:3])\n\
         f.quit()\n"
    );
    let out = run_ok(Command::new("python3").args(["-c", &script]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("200"), "{out}");
    assert_eq!(&lines[1..], ["550", "501", "502"], "{out}");
}

/// A folder of 1,200 files lists whole through ftplib's `NLST`, `MLSD` and `LIST`, every name
/// once: the listing is now sent a page of files at a time (the pages are keyset pages, so a
/// boundary between them neither repeats nor drops a name).
#[test]
fn a_large_folder_lists_whole_over_ftps() {
    let (s, port) = start();
    let (session, _) = s.open("alice", "alice-password", common::APP);
    let (_, home) = s.call("GetHomeFolder", serde_json::json!({"sessionID": session}));
    let home = home["FolderID"].as_i64().unwrap();
    let (_, inner) = s.call(
        "CreateFolder",
        serde_json::json!({"sessionID": session, "parentFolderID": home, "name": "inner"}),
    );
    assert!(inner["FolderID"].as_i64().is_some(), "{inner}");
    let mut expected: Vec<String> = (0..1200).map(|i| format!("file {i:05}.edi")).collect();
    for name in &expected {
        let (status, body) = s.put_file(&session, home, name, "", name.as_bytes());
        assert_eq!(status, 200, "{body}");
    }
    expected.push("inner".into());
    // More folders than a page, every third hidden from Alice herself (no grant, nothing
    // inherited): the listing passes over them across the pages.
    for i in 0..1100 {
        let name = format!("dir {i:04}");
        let (status, f) = s.call(
            "CreateFolder",
            serde_json::json!({"sessionID": session, "parentFolderID": home, "name": name}),
        );
        assert_eq!(status, 200, "{f}");
        if i % 3 == 0 {
            let (status, body) = s.call(
                "SetFolderPermissionList",
                serde_json::json!({"sessionID": session, "folderID": f["FolderID"], "permissionList": [], "inheritPermissions": false}),
            );
            assert_eq!(status, 200, "{body}");
        } else {
            expected.push(name);
        }
    }
    expected.sort();
    let out = alices_script("large_listing.py", port, &["/Home/alice"]);
    let listed: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    for command in ["nlst", "mlsd", "list"] {
        let mut names: Vec<String> = listed[command]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        names.sort();
        assert_eq!(names, expected, "{command}: every name once");
    }
}
