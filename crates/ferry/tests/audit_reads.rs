//! Reading the audit log is itself recorded (`service/audit_reads.rs`): `GetAuditLog`, the
//! console's audit page and export, and a file page's activity each append `AuditLogRead`
//! with what was asked for, after the records are read (the answer is the log as it stood);
//! a member asking is an `AccessDenied`, once a minute however often they ask. Before, an
//! administrator could read or export the whole trail, a user's downloads or a folder's
//! history, and leave no trace of it in the trail.

mod common;

use common::web::Browser;
use common::{ADMIN, ADMIN_PASSWORD, APP, Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(reading_the_audit_log_is_recorded);

/// The web client's application ID.
const WEB_CLIENT: i64 = 5;

fn of<'a>(audit: &'a [Value], operation: &str) -> Vec<&'a Value> {
    audit
        .iter()
        .filter(|r| r["operation"] == operation)
        .collect()
}

fn reading_the_audit_log_is_recorded(backend: Backend) {
    let s = Server::start(backend);
    let bob = s.add_user("bob", "member", "bob-password-1");
    let admin = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP).0;
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": admin}));
    let home = home["FolderID"].as_i64().unwrap();
    for i in 0..3 {
        s.put_file(&admin, home, &format!("f{i}.txt"), "", b"x");
    }
    let asked =
        json!({"sessionID": admin, "operation": "FileUploaded", "folderID": home, "take": 2});
    let (status, answer) = s.call("GetAuditLog", asked.clone());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer.as_array().unwrap().len(), 2);
    let audit = s.audit();
    let reads = of(&audit, "AuditLogRead");
    assert_eq!(reads.len(), 1, "{reads:?}");
    let read = reads[0];
    let admin_id = audit.iter().find(|r| r["operation"] == "SignIn").unwrap()["user_id"].clone();
    assert_eq!(read["user_id"], admin_id);
    assert_eq!(read["application_id"], APP);
    assert_eq!(read["client_ip"], "127.0.0.1");
    assert_eq!(read["status"], "Success");
    assert_eq!(
        read["detail"],
        format!("2 record(s) of operation FileUploaded, folder {home} (skip 0, take 2)")
    );
    assert!(
        read["folder_id"].is_null(),
        "a read is not in the folder's own trail"
    );
    // The next read's answer holds the first read's record: reads are in the trail.
    let (_, again) = s.call(
        "GetAuditLog",
        json!({"sessionID": admin, "operation": "AuditLogRead"}),
    );
    assert_eq!(again.as_array().unwrap().len(), 1, "{again}");
    assert_eq!(again[0]["seq"], read["seq"]);

    // A member asking is refused, recorded once however often they ask.
    let b = s.open_with("OpenImmutable", "bob", "bob-password-1", APP).0;
    for _ in 0..5 {
        assert_error(&s.call("GetAuditLog", json!({"sessionID": b})), 403, 105);
    }
    let audit = s.audit();
    let denied: Vec<_> = of(&audit, "AccessDenied")
        .into_iter()
        .filter(|r| r["user_id"] == bob)
        .collect();
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0]["detail"], "the audit log is for administrators");
    assert_eq!(
        of(&audit, "AuditLogRead").len(),
        2,
        "a refusal reads nothing"
    );

    // The console: a page of the log, an export (one record, whatever its pages), and a file's
    // activity on its page.
    let mut web = Browser::new(&s);
    assert_eq!(web.sign_in(ADMIN, ADMIN_PASSWORD).status, 303);
    assert_eq!(web.get("/admin/audit?op=SignIn").status, 200);
    let export = web.get("/admin/audit/export?format=csv");
    assert_eq!(export.status, 200);
    let file = s.home_files(&admin)[0]["FileID"].as_i64().unwrap();
    let page = web.get(&format!("/web/files/{file}"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Activity"), "{}", page.body);
    let audit = s.audit();
    let web_reads: Vec<String> = of(&audit, "AuditLogRead")
        .into_iter()
        .filter(|r| r["application_id"] == WEB_CLIENT)
        .map(|r| r["detail"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(web_reads.len(), 3, "{web_reads:?}");
    assert_eq!(
        web_reads[0],
        "3 record(s) of operation SignIn (skip 0, take 100)"
    );
    assert_eq!(web_reads[1], "export (CSV) of every record");
    assert!(
        web_reads[2].ends_with(&format!("record(s) of file {file}, on its page")),
        "{web_reads:?}"
    );
    // The export held the reads made before it: the log as it stood when it began.
    assert!(export.body.contains("AuditLogRead"), "{}", export.body);

    // A member's own file page shows no activity and reads nothing.
    s.put_file(&b, bob_home(&s, &b), "mine.txt", "", b"y");
    let mut bob_web = Browser::new(&s);
    assert_eq!(bob_web.sign_in("bob", "bob-password-1").status, 303);
    let mine = s.home_files(&b)[0]["FileID"].as_i64().unwrap();
    let page = bob_web.get(&format!("/web/files/{mine}"));
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Activity"));
    assert_eq!(of(&s.audit(), "AuditLogRead").len(), 5);
    let verify = s.ferry_ok(&["audit", "verify"], None);
    assert!(verify.contains("audit chain intact"), "{verify}");
}

fn bob_home(s: &Server, session: &str) -> i64 {
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    home["FolderID"].as_i64().unwrap()
}
