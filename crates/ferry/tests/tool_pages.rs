//! The upload page as an outside person sees it (issue 16): a heading from the integrator
//! (`FerryTitle`) or the folder's description, never the internal login name; on a phone, no
//! "Drop files" and no "Choose a folder", which cannot work there; after a reload, what was
//! uploaded and how to resume what was not; a silent outage said as such, and survived.
//! Measured in Chromium.

mod common;

use std::path::Path;
use std::process::Command;

use common::{APP, Server, run_ok};
use ferry_testkit::Backend;
use serde_json::{Value, json};

fn devices(link: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/page_on_devices.py");
    let out = run_ok(Command::new("python3").arg(script).arg(link));
    serde_json::from_str(out.trim().lines().last().unwrap()).unwrap()
}

/// A server with the tools on, `user` (a member) signed in, and an upload link into their home
/// folder: the server, the session, the folder and the whole link.
fn member_with_link(user: &str) -> (Server, String, i64, String) {
    let s = Server::start_with(Backend::Sqlite, common::TOOLS);
    let password = format!("{user}-password");
    s.add_user(user, "member", &password);
    let (session, _) = s.open_with("OpenImmutable", user, &password, APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let folder = home["FolderID"].as_i64().unwrap();
    let link = format!("{}{}", s.base, common::upload_link(&s, &session, folder));
    (s, session, folder, link)
}

#[test]
fn the_heading_never_shows_the_login_name_and_phones_get_only_what_works() {
    let (s, session, folder, link) = member_with_link("jsmith42");

    // Nothing given: a plain heading, not the home folder's name (the login name).
    let plain = devices(&link);
    for device in ["desktop", "phone"] {
        assert_eq!(plain[device]["heading"], "Upload files", "{plain}");
        assert!(!plain.to_string().contains("jsmith42"), "{plain}");
    }
    assert_eq!(
        plain["desktop"],
        json!({"heading": "Upload files", "title": "Upload files", "drop_hint": true,
               "choose_files": true, "choose_folder": true})
    );
    assert_eq!(
        plain["phone"],
        json!({"heading": "Upload files", "title": "Upload files", "drop_hint": false,
               "choose_files": true, "choose_folder": false})
    );

    // The folder's description, then the integrator's title, which wins.
    let (status, _) = s.call(
        "SaveFolderMetadata",
        json!({"sessionID": session, "folderID": folder, "name": "Description",
               "data": "Documents for Acme's audit"}),
    );
    assert_eq!(status, 200);
    let described = devices(&link);
    assert_eq!(
        described["desktop"]["heading"],
        "Documents for Acme's audit"
    );
    let titled = devices(&format!("{link}&FerryTitle=Send%20us%20your%20invoices"));
    assert_eq!(titled["phone"]["heading"], "Send us your invoices");

    // A title with a control or bidirectional character, or too long, is refused.
    for bad in ["a%0Ab", "x%E2%80%AEy", &"t".repeat(121)] {
        let (status, page) = s.get(&format!(
            "{}&FerryTitle={bad}",
            link.trim_start_matches(&s.base)
        ));
        assert_eq!(status, 400, "{bad}: {page}");
        assert!(page.contains("FerryTitle"), "{page}");
    }
}

/// Runs the browser script `tests/tools/{script}` on `link` with `work` as its folder, and
/// returns the JSON report it prints last.
fn browser_report(script: &str, link: &str, work: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tools")
        .join(script);
    let out = run_ok(Command::new("python3").arg(script).arg(link).arg(work));
    serde_json::from_str(out.trim().lines().last().unwrap()).unwrap()
}

#[test]
fn after_a_reload_the_page_lists_its_uploads_and_resumes_the_interrupted_one() {
    let (s, session, _, link) = member_with_link("ann");
    let work = tempfile::tempdir().unwrap();
    let report = browser_report("after_reload.py", &link, work.path());
    println!("after a reload: {report}");
    assert_eq!(report["earlier_at_first"], 0, "{report}");
    assert_eq!(
        report["earlier_names"],
        json!(["first <b>note<b>.txt"]),
        "{report}"
    );
    assert!(
        report["resume_hint"]
            .as_str()
            .is_some_and(|h| h.contains("choose the same file again")),
        "{report}"
    );
    // The resume sent the rest, not the whole 120 MiB again.
    assert!(report["resent_mb"].as_f64().unwrap() < 110.0, "{report}");
    assert_eq!(
        report["earlier_after"],
        json!(["first <b>note<b>.txt", "big.bin"]),
        "{report}"
    );
    assert_eq!(report["hint_after"], 0, "{report}");
    let names: Vec<String> = s
        .home_files(&session)
        .iter()
        .map(|f| f["Name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn a_silent_outage_is_shown_as_lost_and_the_upload_finishes_after_it() {
    let (s, session, _, link) = member_with_link("ann");
    let work = tempfile::tempdir().unwrap();
    let report = browser_report("silent_outage.py", &link, work.path());
    println!("silent outage: {report}");
    // Said within seconds (the stall limit is 5 s), never the last speed while down.
    let lost_after = report["lost_after_s"]
        .as_f64()
        .expect("'Connection lost' was shown");
    assert!(lost_after <= 10.0, "{report}");
    let down = report["while_down"].as_str().unwrap();
    assert!(
        down.contains("Connection lost") && !down.contains("left"),
        "{report}"
    );
    assert!(
        report["final"].as_str().unwrap().starts_with("Uploaded"),
        "{report}"
    );
    let data = std::fs::read(work.path().join("outage.bin")).unwrap();
    let stored = s.home_files(&session);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["SHA256"], common::sha256_hex(&data));
}
