//! One item per name in a folder: a live file and a live folder never share a name (compared
//! as names are, NFC and case-folded), whichever way an item comes to it: uploaded, made,
//! renamed or moved, over the JSON API, SFTP or FTPS (migration 0022's triggers, and the
//! upload's guard on PostgreSQL). Before, a file could sit beside a folder of its name: SFTP
//! and FTPS listed the name twice and could not reach the file at all.

mod common;

use std::path::Path;
use std::process::Command;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, assert_error, run_ok};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    the_api_refuses_a_name_the_other_kind_holds,
    sftp_and_ftps_refuse_a_name_the_other_kind_holds,
);

/// A folder's live files' and child folders' names, sorted.
fn names(s: &Server, session: &str, folder: i64) -> Vec<String> {
    let mut out = Vec::new();
    for (method, page) in [
        ("GetFiles", json!({"skip": 0, "take": 100})),
        ("GetFolders", json!({})),
    ] {
        let mut params = json!({"sessionID": session, "folderID": folder});
        params
            .as_object_mut()
            .unwrap()
            .extend(page.as_object().unwrap().clone());
        let (status, items) = s.call(method, params);
        assert_eq!(status, 200, "{items}");
        for item in items.as_array().unwrap() {
            out.push(item["Name"].as_str().unwrap().to_string());
        }
    }
    out.sort();
    out
}

/// Asserts an answer is error 108 (already exists) naming `what`.
fn taken(answer: &(u16, Value), what: &str) {
    assert_error(answer, 409, 108);
    let message = answer.1["Message"].as_str().unwrap_or_default();
    assert!(message.contains(what), "{message}");
}

fn the_api_refuses_a_name_the_other_kind_holds(backend: Backend) {
    let s = Server::start(backend);
    let session = s.open(ADMIN, ADMIN_PASSWORD, APP).0;
    let call = |method: &str, mut params: Value| {
        params["sessionID"] = json!(session);
        s.call(method, params)
    };
    let (_, home) = call("GetHomeFolder", json!({}));
    let home = home["FolderID"].as_i64().unwrap();
    let folder = |parent: i64, name: &str| {
        let (status, f) = call(
            "CreateFolder",
            json!({"parentFolderID": parent, "name": name}),
        );
        assert_eq!(status, 200, "{f}");
        f["FolderID"].as_i64().unwrap()
    };
    let reports = folder(home, "Reports");
    let audit_before = s.audit().len();

    // A file where a folder has the name (case and normalisation as names compare), small
    // (kept in the database) or large (content on disk): refused, nothing recorded.
    for (name, len) in [("REPORTS", 10), ("reports", 300_000), ("Reports", 1)] {
        taken(
            &s.put_file(&session, home, name, "", &vec![b'r'; len]),
            "a folder with that name",
        );
    }
    // A folder where a file has the name.
    let (status, notes) = s.put_file(&session, home, "notes.txt", "", b"notes");
    assert_eq!(status, 200, "{notes}");
    let notes = notes["FileID"].as_i64().unwrap();
    taken(
        &call(
            "CreateFolder",
            json!({"parentFolderID": home, "name": "NOTES.txt"}),
        ),
        "a file with that name",
    );
    // Renames and moves onto the other kind's name.
    taken(
        &call("RenameFile", json!({"fileID": notes, "name": "reports"})),
        "a folder with that name",
    );
    taken(
        &call(
            "RenameFolder",
            json!({"folderID": reports, "name": "Notes.TXT"}),
        ),
        "a file with that name",
    );
    let elsewhere = folder(home, "Elsewhere");
    let (_, inner_notes) = s.put_file(&session, elsewhere, "notes.txt", "", b"other");
    let (_, taken_here) = s.put_file(&session, elsewhere, "reports", "", b"a file");
    let (_, other) = s.put_file(&session, reports, "Reports", "", b"a file in the folder");
    taken(
        &call(
            "MoveFolder",
            json!({"folderID": reports, "newParentFolderID": elsewhere}),
        ),
        "a file with that name",
    );
    let inner_reports = folder(reports, "Elsewhere-notes");
    taken(
        &call(
            "RenameFolder",
            json!({"folderID": inner_reports, "name": "reports"}),
        ),
        "a file with that name",
    );
    let loose = folder(home, "Loose");
    let (_, loose_file) = s.put_file(&session, loose, "Elsewhere", "", b"loose");
    taken(
        &call(
            "MoveFile",
            json!({"fileID": loose_file["FileID"], "newFolderID": home}),
        ),
        "a folder with that name",
    );

    // Nothing of the refused changes is there; every name is one item's.
    assert_eq!(
        names(&s, &session, home),
        ["Elsewhere", "Loose", "Reports", "notes.txt"]
    );
    assert_eq!(names(&s, &session, elsewhere), ["notes.txt", "reports"]);
    assert_eq!(names(&s, &session, reports), ["Elsewhere-notes", "Reports"]);
    assert_eq!(
        other["Name"], "Reports",
        "a file may share its folder's own name"
    );
    assert_eq!(inner_notes["Name"], "notes.txt");
    assert_eq!(taken_here["Name"], "reports");
    let added: Vec<String> = s.audit()[audit_before..]
        .iter()
        .map(|r| r["operation"].as_str().unwrap().to_string())
        .filter(|op| op != "FolderCreated" && op != "FileUploaded")
        .collect();
    assert!(
        added
            .iter()
            .all(|op| !op.ends_with("Renamed") && !op.ends_with("Moved")),
        "no refused rename or move is recorded as done: {added:?}"
    );

    // Once the file is deleted its name is free for a folder, and the other way round.
    let (status, _) = call("DeleteFile", json!({"fileID": notes}));
    assert!(status == 200 || status == 204);
    folder(home, "notes.txt");
    let (status, _) = call("DeleteFolder", json!({"folderID": reports}));
    assert!(status == 200 || status == 204);
    assert_eq!(
        s.put_file(&session, home, "reports", "", b"now a file").0,
        200
    );
    assert!(s.ferry_ok(&["audit", "verify"], None).contains("intact"));
}

fn sftp_and_ftps_refuse_a_name_the_other_kind_holds(backend: Backend) {
    let s = Server::start_with(
        backend,
        "[sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\n",
    );
    s.add_user("alice", "member", "alice-password");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/names/file_protocols.py");
    let out = run_ok(Command::new("python3").arg(&script).args([
        &s.sftp_port().to_string(),
        &s.ftps_port().to_string(),
        "alice",
        "alice-password",
    ]));
    assert!(out.contains("FTPS lists each name once"), "{out}");
    assert!(out.contains("FTPS: a refused rename into another folder moved nothing"));
    // The script's renames into another folder were all refused: none is recorded as a move.
    let audit = s.audit();
    assert!(
        !audit
            .iter()
            .any(|r| r["operation"] == "FileMoved" || r["operation"] == "FolderMoved"),
        "a refused rename was recorded as a move"
    );
    assert!(s.ferry_ok(&["audit", "verify"], None).contains("intact"));
}
