//! A signed-in user who repeats an operation they may not make cannot flood the audit trail.
//!
//! Before (2026-12-07), every refused folder operation was one `AccessDenied` record in its
//! own change, holding the audit head: one member's loop of a refused `DeleteFolder` on one
//! connection wrote 17,391 records in 10 s, growing the database by megabytes a second and
//! slowing every other change. Refusals are now folded as sign-in refusals are: the first of a
//! minute is written at once, per session, folder and what was refused, and one record says how
//! many more there were. Each different refusal, and each new session (which costs a sign-in),
//! still has its own record.

mod common;

use std::process::Command;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(a_repeated_refusal_is_one_record_and_a_count);

/// Show and Read: lists the folder, may neither delete it nor make anything in it.
const LOOKER: i64 = 1 | 2;

/// Bob's `AccessDenied` records.
fn bobs_refusals(audit: &[Value], bob: i64) -> Vec<Value> {
    audit
        .iter()
        .filter(|r| r["operation"] == "AccessDenied" && r["user_id"] == bob)
        .cloned()
        .collect()
}

fn a_repeated_refusal_is_one_record_and_a_count(backend: Backend) {
    let mut s = Server::start_with(backend, "[sftp]\nlisten = \"127.0.0.1:0\"\n");
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let deals = s.create_folder(&admin, 3, "Deals");
    let bob = s.add_user("bob", "member", "bob-password");
    s.set_grants(&admin, deals, &[(bob, LOOKER)]);
    let (b, _) = s.open("bob", "bob-password", APP);

    for _ in 0..300 {
        assert_error(
            &s.call("DeleteFolder", json!({"sessionID": b, "folderID": deals})),
            403,
            105,
        );
    }
    let first = bobs_refusals(&s.audit(), bob);
    assert_eq!(first.len(), 1, "300 refusals, one record");
    assert_eq!(first[0]["folder_id"], deals);
    // A different refusal has its own record.
    assert_error(
        &s.call(
            "CreateFolder",
            json!({"sessionID": b, "parentFolderID": deals, "name": "Mine"}),
        ),
        403,
        105,
    );
    assert_eq!(bobs_refusals(&s.audit(), bob).len(), 2);

    // OpenSSH-independent peer: curl's SFTP `rmdir`, 50 times on one connection (`*` goes
    // on after a failure), is a session of its own: one more record.
    let mut quote = Command::new("curl");
    quote
        .args(["-sS", "-k", "-l", "-o", "/dev/null"])
        .args(["-u", "bob:bob-password"]);
    for _ in 0..50 {
        quote.args(["-Q", "*rmdir /Shared/Deals"]);
    }
    let status = quote
        .arg(format!("sftp://127.0.0.1:{}/", s.sftp_port()))
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(bobs_refusals(&s.audit(), bob).len(), 3);

    // What is refused is still refused, and granted it is done.
    s.set_grants(&admin, deals, &[(bob, LOOKER | 128)]);
    let (status, body) = s.call("DeleteFolder", json!({"sessionID": b, "folderID": deals}));
    assert_eq!(status, 204, "{body}");

    // At shutdown each count is written: 299 and 49 more times.
    assert!(s.terminate().success());
    let audit = s.audit();
    let refusals = bobs_refusals(&audit, bob);
    let details: Vec<&str> = refusals
        .iter()
        .filter_map(|r| r["detail"].as_str())
        .collect();
    assert_eq!(refusals.len(), 5, "{details:?}");
    for more in ["299 more times from ", "49 more times from "] {
        assert!(
            details.iter().any(|d| d.contains(more)),
            "{more}: {details:?}"
        );
    }
    assert!(
        details
            .iter()
            .filter(|d| d.contains("more times"))
            .all(|d| d.starts_with("FolderDeleted needs permission 128")),
        "{details:?}"
    );
    let verified = s.ferry(&["audit", "verify"], None);
    assert!(verified.status.success(), "{verified:?}");
}
