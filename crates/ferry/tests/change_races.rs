//! Two changes to one folder or file at the same moment, on both engines. Each change is made
//! on the item as its own transaction finds it (`change_races.rs` in ferry-core), so neither
//! undoes the other and what the audit trail calls done is done. Before, a rename racing a
//! move, a deletion or a permissions lockdown wrote back the copy its checks had read: the
//! move was undone, the deleted folder came back, and the folder inherited its parent's grants
//! again, each audited as done (on SQLite, 60–75 % of such races). And an upload checked
//! before a folder above it was deleted still landed below it, where it would never be seen
//! nor purged.

#[path = "folders/api.rs"]
mod api;
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::Barrier;

use api::{Api, SHARED_ROOT};
use common::{ADMIN, ADMIN_PASSWORD, Server, assert_error, run_ok};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    folder_changes_racing_a_rename_are_all_kept,
    file_changes_racing_a_rename_are_all_kept,
    an_upload_checked_before_a_folder_above_was_deleted_is_refused,
    a_remove_if_empty_never_removes_what_is_below,
);

/// Rounds of each race; before the fix, every round of a kind had most of a chance to lose
/// a change.
const ROUNDS: usize = 16;

type Answer = (u16, Value);
/// A call to make later, at once with others ([`at_once`]).
type Later<'a> = Box<dyn FnOnce() -> Answer + Send + 'a>;

fn later<'a>(api: &'a Api, method: &'static str, params: Value) -> Later<'a> {
    Box::new(move || api.call(method, params))
}

/// Runs every call at once (released together by a barrier); their answers in order.
fn at_once(calls: Vec<Later<'_>>) -> Vec<Answer> {
    let start = Barrier::new(calls.len());
    std::thread::scope(|scope| {
        let running: Vec<_> = calls
            .into_iter()
            .map(|call| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    call()
                })
            })
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

fn done(answer: &Answer, what: &str) {
    assert!(
        answer.0 == 200 || answer.0 == 204,
        "{what}: {} {}",
        answer.0,
        answer.1
    );
}

fn folder_changes_racing_a_rename_are_all_kept(backend: Backend) {
    let s = Server::start(backend);
    let bob = s.add_user("bob", "member", "bob-password");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let b = Api::new(&s, "bob", "bob-password");
    let team = admin.create(SHARED_ROOT, "Team");
    let elsewhere = admin.create(SHARED_ROOT, "Elsewhere");
    let (status, _) = admin.grant(
        team,
        json!([{"Permission": 3, "UserID": bob, "UserGroupID": -1}]),
    );
    assert_eq!(status, 200);
    for round in 0..ROUNDS {
        let locked = admin.create(team, &format!("locked{round}"));
        let moved = admin.create(team, &format!("moved{round}"));
        let deleted = admin.create(team, &format!("deleted{round}"));
        assert_eq!(
            b.ok("GetFolder", json!({"folderID": locked}))["Name"],
            format!("locked{round}")
        );
        let answers = at_once(vec![
            later(
                &admin,
                "SetFolderPermissionList",
                json!({"folderID": locked, "permissionList": [], "inheritPermissions": false}),
            ),
            later(
                &admin,
                "RenameFolder",
                json!({"folderID": locked, "name": format!("locked{round}-renamed")}),
            ),
            later(
                &admin,
                "MoveFolder",
                json!({"folderID": moved, "newParentFolderID": elsewhere}),
            ),
            later(
                &admin,
                "RenameFolder",
                json!({"folderID": moved, "name": format!("moved{round}-renamed")}),
            ),
            later(&admin, "DeleteFolder", json!({"folderID": deleted})),
            later(
                &admin,
                "RenameFolder",
                json!({"folderID": deleted, "name": format!("deleted{round}-renamed")}),
            ),
        ]);
        for (i, what) in [
            (0, "the lockdown"),
            (1, "its rename"),
            (2, "the move"),
            (3, "its rename"),
            (4, "the deletion"),
        ] {
            done(&answers[i], what);
        }
        // The lockdown holds: bob no longer inherits Team's grant, and the rename holds.
        assert_error(&b.call("GetFolder", json!({"folderID": locked})), 404, 201);
        let now = admin.ok("GetFolder", json!({"folderID": locked}));
        assert_eq!(
            now["Name"],
            format!("locked{round}-renamed"),
            "round {round}"
        );
        // The move holds, and so does the rename.
        let now = admin.ok("GetFolder", json!({"folderID": moved}));
        assert_eq!(
            now["ParentFolderID"], elsewhere,
            "round {round}: the move was undone"
        );
        assert_eq!(
            now["Name"],
            format!("moved{round}-renamed"),
            "round {round}"
        );
        // The deleted folder stays deleted; its rename came first or was refused.
        assert_error(
            &admin.call("GetFolder", json!({"folderID": deleted})),
            404,
            201,
        );
        if answers[5].0 != 200 {
            assert_error(&answers[5], 404, 201);
        }
    }
    // Every change answered as done is audited once, and nothing else is.
    let audit = s.audit();
    let count = |op: &str| audit.iter().filter(|r| r["operation"] == op).count();
    assert_eq!(count("FolderMoved"), ROUNDS);
    assert_eq!(count("FolderDeleted"), ROUNDS);
    assert_eq!(count("PermissionsChanged"), ROUNDS + 1);
    let renames_done = 2 * ROUNDS + audit_renames_of_deleted(&audit);
    assert_eq!(count("FolderRenamed"), renames_done);
    assert!(s.ferry_ok(&["audit", "verify"], None).contains("intact"));
}

/// How many of the deleted folders' renames were done (before their deletion).
fn audit_renames_of_deleted(audit: &[Value]) -> usize {
    audit
        .iter()
        .filter(|r| {
            r["operation"] == "FolderRenamed"
                && r["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("deleted"))
        })
        .count()
}

fn file_changes_racing_a_rename_are_all_kept(backend: Backend) {
    let s = Server::start(backend);
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let team = admin.create(SHARED_ROOT, "Team");
    let elsewhere = admin.create(SHARED_ROOT, "Elsewhere");
    let upload = |name: &str| {
        let (status, file) = s.put_file(&admin.session, team, name, "", name.as_bytes());
        assert_eq!(status, 200, "{file}");
        file["FileID"].as_i64().unwrap()
    };
    for round in 0..ROUNDS {
        let moved = upload(&format!("moved{round}.txt"));
        let deleted = upload(&format!("deleted{round}.txt"));
        let answers = at_once(vec![
            later(
                &admin,
                "MoveFile",
                json!({"fileID": moved, "newFolderID": elsewhere}),
            ),
            later(
                &admin,
                "RenameFile",
                json!({"fileID": moved, "name": format!("moved{round}-renamed.txt")}),
            ),
            later(&admin, "DeleteFile", json!({"fileID": deleted})),
            later(
                &admin,
                "RenameFile",
                json!({"fileID": deleted, "name": format!("deleted{round}-renamed.txt")}),
            ),
        ]);
        for (i, what) in [(0, "the move"), (1, "its rename"), (2, "the deletion")] {
            done(&answers[i], what);
        }
        let now = admin.ok("GetFile", json!({"fileID": moved}));
        assert_eq!(
            now["ParentFolderID"], elsewhere,
            "round {round}: the move was undone"
        );
        assert_eq!(
            now["Name"],
            format!("moved{round}-renamed.txt"),
            "round {round}"
        );
        assert_error(&admin.call("GetFile", json!({"fileID": deleted})), 404, 202);
        if answers[3].0 != 200 {
            assert_error(&answers[3], 404, 202);
        }
    }
    let audit = s.audit();
    let count = |op: &str| audit.iter().filter(|r| r["operation"] == op).count();
    // Each move has two records: one where the file went, one where it left.
    assert_eq!(count("FileMoved"), 2 * ROUNDS);
    let left = audit
        .iter()
        .filter(|r| r["operation"] == "FileMoved" && r["folder_id"] == team)
        .count();
    assert_eq!(left, ROUNDS);
    assert_eq!(count("FileDeleted"), ROUNDS);
    assert!(s.ferry_ok(&["audit", "verify"], None).contains("intact"));
}

/// An upload's checks pass, then a folder two levels above is deleted while its body is on
/// the way: the upload must not land in the deleted subtree (live there, it would never be
/// listed, downloaded nor purged).
fn an_upload_checked_before_a_folder_above_was_deleted_is_refused(backend: Backend) {
    let s = Server::start(backend);
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let top = admin.create(SHARED_ROOT, "Top");
    let inner = admin.create(top, "Inner");
    let body = vec![7u8; 200_000];
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "PUT /api/v1/folders/{inner}/files/late.bin HTTP/1.1\r\nHost: {addr}\r\n\
         X-Session-ID: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        admin.session,
        body.len()
    )
    .unwrap();
    stream.write_all(&body[..100_000]).unwrap();
    // The checks have passed once the server reads the body; give it the first half.
    std::thread::sleep(std::time::Duration::from_millis(300));
    admin.ok("DeleteFolder", json!({"folderID": top}));
    stream.write_all(&body[100_000..]).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 404"),
        "the upload into a deleted subtree is refused: {answer}"
    );
    assert!(answer.contains("\"ErrorCode\":201"), "{answer}");
    let audit = s.audit();
    assert!(
        !audit
            .iter()
            .any(|r| r["operation"] == "FileUploaded" && r["folder_id"] == inner),
        "nothing was recorded in the deleted subtree"
    );
    let deletions: Vec<_> = audit
        .iter()
        .filter(|r| r["operation"] == "FileDeleted" || r["operation"] == "FolderDeleted")
        .collect();
    assert_eq!(deletions.len(), 1, "the deletion alone: {deletions:?}");
    assert_eq!(
        deletions[0]["detail"],
        "0 files and 1 folder deleted with it"
    );
}

/// `RMD`/`RMDIR` removes empty folders only, empty as its own change finds them: not a folder
/// with something below that the caller may not see, nor one an upload has just reached.
fn a_remove_if_empty_never_removes_what_is_below(backend: Backend) {
    let s = Server::start_with(backend, "[sftp]\nlisten = \"127.0.0.1:0\"\n");
    let alice = s.add_user("alice", "member", "alice-password");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let a = Api::new(&s, "alice", "alice-password");
    let home = a.home();
    let boxed = a.create(home, "Box");
    // A folder below Box that alice may not see: not inherited, granted to nobody.
    let hidden = admin.create(boxed, "Hidden");
    let (status, _) = admin.call(
        "SetFolderPermissionList",
        json!({"folderID": hidden, "permissionList": [], "inheritPermissions": false}),
    );
    assert_eq!(status, 200);
    assert_error(&a.call("GetFolder", json!({"folderID": hidden})), 404, 201);
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/change_races/remove_if_empty.py");
    let out = run_ok(Command::new("python3").arg(&script).args([
        &s.sftp_port().to_string(),
        "alice",
        "alice-password",
        &ROUNDS.to_string(),
    ]));
    assert!(out.contains("raced"), "{out}");
    admin.ok("GetFolder", json!({"folderID": hidden}));
    // No removal took anything with it: every acknowledged upload is where it was put.
    let audit = s.audit();
    let removals: Vec<_> = audit
        .iter()
        .filter(|r| r["operation"] == "FolderDeleted" && r["user_id"] == alice)
        .collect();
    assert!(
        removals
            .iter()
            .all(|r| r["detail"] == "0 files and 0 folders deleted with it"),
        "{removals:?}"
    );
    let uploads = audit
        .iter()
        .filter(|r| r["operation"] == "FileUploaded" && r["user_id"] == alice)
        .count();
    assert_eq!(removals.len() + uploads, ROUNDS, "{out}");
    assert!(s.ferry_ok(&["audit", "verify"], None).contains("intact"));
}
