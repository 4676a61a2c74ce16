//! The web client in a real browser (issue 17), Chromium driven by Playwright:
//! - a member's session (`tests/web/member_session.py`): sign-in by accessible names, a
//!   folder, a folder of three files and a 200 MB file dropped (Chromium's own drag-and-drop)
//!   resumed after a reload and again after the connection drops, a folder by the picker, a
//!   rename, a folder of hostile names (no script runs), a phone screen, the keyboard, and
//!   sign-out;
//! - moving (with the folder picker), restoring, a ZIP, a shared link opened signed out, and the administrator's
//!   console (`tests/web/admin_and_sharing.py`);
//! - two-step sign-in set up and used with pyotp's passcodes (`tests/web/second_factor.py`);
//! - the web client through Ferry's own HTTPS listener, files downloaded over HTTP/2 two at
//!   once, byte for byte (`tests/web/https_h2.py`).
//!
//! axe-core checks every page on the way. The server's side is checked here through the API.
//! `FERRY_SCREENSHOTS` names a directory for the folder view's and the console's screenshots
//! (docs/images is made that way); by default they go to a temporary one.

mod common;

use std::path::Path;
use std::process::Command;

use common::test_ca::{Leaf, TestCa};
use common::web::axe_js;
use common::{Server, run_ok, sha256_hex};
use ferry_testkit::Backend;
use serde_json::{Value, json};

const HOSTILE: [&str; 4] = [
    "<img src=x onerror=alert(1)>",
    "\"><svg onload=alert(2)>",
    "javascript:alert(3)",
    "x' onmouseover='alert(4)",
];

#[test]
fn a_member_signs_in_uploads_resumes_renames_and_signs_out() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("mia", "member", "mia-password-1");
    let (session, _) = s.open_with("OpenImmutable", "mia", "mia-password-1", common::APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let home = home["FolderID"].as_i64().unwrap();
    let (_, hostile) = s.call(
        "CreateFolder",
        json!({"sessionID": session, "parentFolderID": home, "name": "Hostile <b>names<b>"}),
    );
    let hostile = hostile["FolderID"].as_i64().unwrap();
    for name in HOSTILE {
        let (status, _) = s.call(
            "CreateFolder",
            json!({"sessionID": session, "parentFolderID": hostile, "name": name}),
        );
        assert_eq!(status, 200, "{name}");
        let (status, _) = s.put_file(&session, hostile, &format!("{name}.txt"), "", b"x");
        assert_eq!(status, 200, "{name}");
    }

    let work = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/member_session.py");
    let out = run_ok(
        Command::new("python3")
            .arg(script)
            .arg(&s.base)
            .args(["mia", "mia-password-1"])
            .arg(work.path())
            .arg(axe_js())
            .arg(hostile.to_string()),
    );
    let report: Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    println!("member session: {report}");

    assert_eq!(report["heading"], "mia", "{report}");
    assert_eq!(
        report["alerts"],
        json!([]),
        "a hostile name ran a script: {report}"
    );
    assert_eq!(report["errors"], json!([]), "{report}");
    for page in ["signin", "folder", "hostile"] {
        assert_eq!(report["axe"][page], json!([]), "axe on {page}: {report}");
    }
    assert_eq!(report["first_tab"], "Skip to content");
    assert_eq!(report["keyboard_folder"], true, "{report}");
    assert_eq!(
        report["focus_unseen"],
        json!([]),
        "focus must show: {report}"
    );
    assert_ne!(report["focus_outline"], "none");
    assert!(report["phone_overflow"].as_i64().unwrap() <= 0, "{report}");
    assert_eq!(report["hostile_rows"], (HOSTILE.len() * 2) as i64);
    assert_eq!(report["after_signout"], 1);

    // The reload came half-way, and the upload went on from where it stood.
    let before = report["progress_before_reload"].as_f64().unwrap();
    assert!(before > 0.0 && before < 1.0, "{report}");
    assert!(
        report["resume_hint"]
            .as_str()
            .is_some_and(|h| h.contains("choose the same file again")),
        "{report}"
    );
    assert!(
        report["first_offset_after_reload"].as_i64().unwrap() > 0,
        "{report}"
    );
    assert_eq!(
        report["cuts"], 1,
        "the connection was cut once and the upload went on"
    );

    // What the server holds: the folder, the dropped album with its three files, the picked
    // folder, the renamed file
    // with the SHA-256 the browser read from disk, as one version.
    let names = |folder: i64| -> Vec<Value> {
        let (_, files) = s.call(
            "GetFiles",
            json!({"sessionID": session, "folderID": folder, "skip": 0, "take": 100}),
        );
        files.as_array().unwrap().clone()
    };
    let (_, folders) = s.call(
        "GetFolders",
        json!({"sessionID": session, "folderID": home}),
    );
    let folder_named = |n: &str| {
        folders
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["Name"] == n)
            .unwrap_or_else(|| panic!("no folder {n}: {folders}"))["FolderID"]
            .as_i64()
            .unwrap()
    };
    folder_named("Projects");
    let mut album: Vec<String> = names(folder_named("album"))
        .iter()
        .map(|f| f["Name"].as_str().unwrap().to_string())
        .collect();
    album.sort();
    assert_eq!(album, ["one.txt", "three.txt", "two.txt"]);
    let scans: Vec<Value> = names(folder_named("scans"));
    assert_eq!(scans.len(), 1, "{scans:?}");
    assert_eq!(scans[0]["Name"], "page-1.txt");
    let home_files = names(home);
    let big = home_files
        .iter()
        .find(|f| f["Name"] == "big-renamed.bin")
        .unwrap_or_else(|| panic!("{home_files:?}"));
    assert_eq!(big["Size"], 200 * 1024 * 1024);
    assert_eq!(big["SHA256"], report["big_sha256"]);
    assert_eq!(big["Version"], 1);
}

#[test]
fn a_member_moves_restores_zips_and_shares_and_an_administrator_administers() {
    let s = Server::start_with(Backend::Sqlite, common::TOOLS);
    s.add_user("mia", "member", "mia-password-1");
    let (session, _) = s.open_with("OpenImmutable", "mia", "mia-password-1", common::APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let home = home["FolderID"].as_i64().unwrap();
    let (status, _) = s.call(
        "CreateFolder",
        json!({"sessionID": session, "parentFolderID": home, "name": "Archive"}),
    );
    assert_eq!(status, 200);
    assert_eq!(s.put_file(&session, home, "notes.txt", "", b"notes").0, 200);
    for body in [&b"plan v1"[..], b"plan v2", b"plan v3"] {
        assert_eq!(s.put_file(&session, home, "plan.txt", "", body).0, 200);
    }

    let work = tempfile::tempdir().unwrap();
    let shots = std::env::var("FERRY_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| work.path().to_path_buf());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/admin_and_sharing.py");
    let out = run_ok(
        Command::new("python3")
            .arg(script)
            .arg(&s.base)
            .args([
                "mia",
                "mia-password-1",
                common::ADMIN,
                common::ADMIN_PASSWORD,
            ])
            .arg(work.path())
            .arg(axe_js())
            .arg(&shots),
    );
    let report: Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    println!("admin and sharing: {report}");
    assert_eq!(report["alerts"], json!([]), "{report}");
    assert_eq!(report["errors"], json!([]), "{report}");
    for (page, found) in report["axe"].as_object().unwrap() {
        assert_eq!(found, &json!([]), "axe on {page}: {report}");
    }
    assert_eq!(report["axe"].as_object().unwrap().len(), 8, "{report}");
    assert_eq!(report["moved"], true);
    assert_eq!(report["newest_after_restore"], "4", "{report}");
    assert_eq!(report["zip_ok"], true);
    assert_eq!(
        report["zip_names"],
        json!(["Archive/notes.txt", "plan.txt"])
    );
    let seen = report["stranger_sees"].as_str().unwrap();
    assert!(seen.contains("plan.txt"), "{report}");
    assert!(
        seen.contains("This link allows 2 more downloads"),
        "{report}"
    );
    assert!(!report["stranger_got"].as_str().unwrap().is_empty());
    assert!(
        report["links_table"].as_str().unwrap().contains("1 of 2"),
        "{report}"
    );
    assert_eq!(report["newbie_heading"], "newbie");
    assert_eq!(
        report["newbie_after_end"], 1,
        "the next click lands on sign-in"
    );
    assert!(report["revoked_rows"].as_i64().unwrap() >= 1);
    assert!(
        report["chain"]
            .as_str()
            .unwrap()
            .contains("The chain holds"),
        "{report}"
    );

    // The server's side: version 4 is version 1's content.
    let (_, files) = s.call(
        "GetFiles",
        json!({"sessionID": session, "folderID": home, "skip": 0, "take": 10}),
    );
    let plan = files
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["Name"] == "plan.txt")
        .unwrap();
    assert_eq!(plan["Version"], 4);
    assert_eq!(plan["SHA256"], common::sha256_hex(b"plan v1"));
}

#[test]
fn a_member_sets_up_two_step_sign_in_and_signs_in_with_a_passcode() {
    let s = Server::start_with(
        Backend::Sqlite,
        "[totp]\nkey = \"q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=\"\n",
    );
    s.add_user("tia", "member", "tia-password-1");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/second_factor.py");
    let out = run_ok(
        Command::new("python3")
            .arg(script)
            .arg(&s.base)
            .args(["tia", "tia-password-1"])
            .arg(axe_js()),
    );
    let report: Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert_eq!(report["alerts"], json!([]), "{report}");
    assert_eq!(report["errors"], json!([]), "{report}");
    for (page, found) in report["axe"].as_object().unwrap() {
        assert_eq!(found, &json!([]), "axe on {page}: {report}");
    }
    assert_eq!(report["axe"].as_object().unwrap().len(), 3);
    assert!(
        report["otpauth"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Ferry:tia?"),
        "{report}"
    );
    assert_eq!(report["recovery_codes"], 10);
    assert!(
        report["asked"]
            .as_str()
            .unwrap()
            .contains("two-step sign-in"),
        "{report}"
    );
    assert_eq!(report["signed_in_heading"], "tia");
    assert!(
        report["reused"].as_str().unwrap().contains("used already"),
        "{report}"
    );
}

/// Chromium through Ferry's own HTTPS listener: HTTP/2 by ALPN, and two files fetched at once
/// on that connection arrive byte for byte. The listener hands rustls whole records and holds
/// each write's remainder (`record_cork.rs`); curl checks the same in `https.rs`, this is the
/// browser's HTTP/2 stack, with its own windows and frame order.
#[test]
fn chromium_downloads_over_https_and_http2_byte_for_byte() {
    let work = tempfile::tempdir().unwrap();
    let ca = TestCa::new(work.path());
    let (cert, key) = ca.issue("web", Leaf::Rsa);
    let s = Server::start_with(
        Backend::Sqlite,
        &format!("[https]\nlisten = \"127.0.0.1:0\"\ncert_file = {cert:?}\nkey_file = {key:?}\n"),
    );
    s.add_user("tia", "member", "tia-password-1");
    s.add_app(1000);
    let (session, _) = s.open("tia", "tia-password-1", 1000);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let home = home["FolderID"].as_i64().unwrap();
    let mut expected = Vec::new();
    for (name, size) in [("a.bin", 5 * 1024 * 1024 + 777), ("b.bin", 1024 * 1024 + 3)] {
        let bytes: Vec<u8> = (0..size)
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        let (status, view) = s.put_file(&session, home, name, "", &bytes);
        assert_eq!(status, 200, "{view}");
        expected.push((view["FileID"].as_i64().unwrap(), sha256_hex(&bytes)));
    }
    let port = s.https.as_deref().unwrap().rsplit(':').next().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/https_h2.py");
    let out = run_ok(
        Command::new("python3")
            .arg(script)
            .arg(format!("https://localhost:{port}"))
            .args(["tia", "tia-password-1"])
            .args(expected.iter().map(|(id, _)| id.to_string())),
    );
    let report: Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert_eq!(report["errors"], json!([]), "{report}");
    assert_eq!(report["page_protocol"], "h2", "{report}");
    for (i, (id, sha)) in expected.iter().enumerate() {
        let got = &report["files"][i];
        assert_eq!(got["id"], *id, "{report}");
        assert_eq!(got["status"], 200, "{report}");
        assert_eq!(got["protocol"], "h2", "{report}");
        assert_eq!(got["sha256"], sha.as_str(), "file {id}: every byte");
    }
}
