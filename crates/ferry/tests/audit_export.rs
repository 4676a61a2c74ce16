//! The audit trail read in pages while it grows: the console's export and `GetAuditLog`'s
//! `beforeSeq` walk it newest first by sequence number, so records appended meanwhile neither
//! repeat nor push older ones out of the export.

mod common;

use common::paused_get::{beyond_socket_buffers, paused_get};
use common::web::Browser;
use common::{ADMIN, ADMIN_PASSWORD, APP, Server, at_once};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(get_audit_log_pages_by_sequence_number_while_records_are_added);

/// Creates `n` folders in `home` (one audit record each), sixteen callers at a time.
fn add_records(s: &Server, session: &str, home: i64, tag: &str, n: usize) {
    at_once(16, |caller| {
        for i in (caller..n).step_by(16) {
            let (status, _) = s.call(
                "CreateFolder",
                json!({"sessionID": session, "parentFolderID": home, "name": format!("{tag}-{i}")}),
            );
            assert_eq!(status, 200);
        }
    });
}

/// A server with 10,000 audit records (ann's folders) and an administrator's web cookie.
/// 10,000 records (5.6 MB of JSON lines) are more than the server's socket buffer (Linux
/// grows it to 4 MiB) and its queue hold, so an export read slowly does wait between pages.
fn server_with_a_long_log() -> (Server, String, i64, String) {
    let s = Server::start(Backend::Sqlite);
    s.add_user("ann", "member", "ann-password-1");
    let (session, _) = s.open("ann", "ann-password-1", APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let home = home["FolderID"].as_i64().unwrap();
    add_records(&s, &session, home, "old", beyond_socket_buffers(10_000));
    let mut admin = Browser::new(&s);
    assert_eq!(admin.sign_in(ADMIN, ADMIN_PASSWORD).status, 303);
    let cookie = admin.cookie.clone().unwrap();
    (s, session, home, cookie)
}

/// The console's JSON-lines export read by [`paused_get`] with `cookie`: the records'
/// sequence numbers, and whether the body ended with its last chunk.
fn export_paused(s: &Server, cookie: &str, meanwhile: impl FnOnce()) -> (Vec<i64>, bool) {
    let answer = paused_get(
        &s.base,
        "/admin/audit/export?format=jsonl",
        &[("Cookie", cookie)],
        meanwhile,
    );
    assert!(answer.head.starts_with("HTTP/1.1 200"), "{}", answer.head);
    let seqs = String::from_utf8(answer.body)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|r| r["seq"].as_i64().unwrap())
        .collect();
    (seqs, answer.complete)
}

#[test]
fn an_export_read_while_records_are_added_holds_each_record_once() {
    let (s, session, home, cookie) = server_with_a_long_log();
    // 300 records are added while the export waits: the build before this fix repeated them.
    let (seqs, complete) =
        export_paused(&s, &cookie, || add_records(&s, &session, home, "new", 300));
    assert!(complete, "the export ends with its last chunk");
    let newest = seqs[0];
    let repeated = seqs.windows(2).filter(|w| w[1] >= w[0]).count();
    assert_eq!(
        repeated, 0,
        "records repeated or out of order in the export"
    );
    assert_eq!(
        seqs.last(),
        Some(&1),
        "the export reaches the oldest record"
    );
    assert_eq!(
        seqs.len() as i64,
        newest,
        "every record up to the newest, once"
    );
    // The records added meanwhile came after the export's first page: none is in it.
    let audit = s.audit();
    assert!(audit.len() as i64 >= newest + 300);
    // An export of many pages is one read of the log in the trail (`tests/audit_reads.rs`).
    let reads: Vec<_> = audit
        .iter()
        .filter(|r| r["operation"] == "AuditLogRead")
        .map(|r| r["detail"].clone())
        .collect();
    assert_eq!(reads, [json!("export (JSON lines) of every record")]);
}

#[test]
fn an_export_stops_when_the_administrators_session_ends() {
    let (s, _, _, _) = server_with_a_long_log();
    s.add_user("ada", "administrator", "ada-password-1");
    let mut ada = Browser::new(&s);
    assert_eq!(ada.sign_in("ada", "ada-password-1").status, 303);
    // Demoted while the export waits: a role change ends the demoted user's sessions, and
    // the export breaks off at its next page.
    let (seqs, complete) = export_paused(&s, ada.cookie.as_ref().unwrap(), || {
        s.ferry_ok(&["user", "set-role", "ada", "member"], None);
    });
    assert!(!complete, "a download broken off, not one that looks whole");
    assert!(
        // What the socket buffers held before the break still arrives; the rest does not.
        !seqs.is_empty() && (seqs.len() as i64) < seqs[0],
        "{} records of {}",
        seqs.len(),
        seqs[0]
    );
    assert!(s.log().contains("audit export ended early"), "{}", s.log());
}

fn get_audit_log_pages_by_sequence_number_while_records_are_added(backend: Backend) {
    let s = Server::start(backend);
    let (root, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": root}));
    let home = home["FolderID"].as_i64().unwrap();
    add_records(&s, &root, home, "old", 40);
    let page = |before: Option<i64>| -> Vec<i64> {
        let mut args = json!({"sessionID": root, "take": 10});
        if let Some(b) = before {
            args["beforeSeq"] = json!(b);
        }
        let (status, body) = s.call("GetAuditLog", args);
        assert_eq!(status, 200, "{body}");
        body.as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|r| r["seq"].as_i64().unwrap())
            .collect()
    };
    let first = page(None);
    add_records(&s, &root, home, "new", 5);
    let second = page(Some(*first.last().unwrap()));
    assert_eq!(second.len(), 10);
    assert_eq!(
        second[0],
        first.last().unwrap() - 1,
        "{first:?} then {second:?}"
    );

    for bad in [json!(0), json!(-3), json!("x"), json!(1.5)] {
        let (status, body) = s.call(
            "GetAuditLog",
            json!({"sessionID": root, "beforeSeq": bad.clone()}),
        );
        assert_eq!(status, 400, "{bad}: {body}");
    }
}
