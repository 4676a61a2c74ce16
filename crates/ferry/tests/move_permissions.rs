//! A move and a switch of inheritance never give the caller bits they do not hold.
//!
//! Before, `MoveFile` and `MoveFolder` needed only Modify where the item was (and Create where
//! it went). A member who could rename in a shared folder moved its files and folders into
//! their own home, where they hold every bit: they downloaded what they could not download,
//! deleted what they could not delete, and took a whole shared folder, subfolders and all,
//! under their own Manage. And a Manager who held Manage but not Read on a folder that does not
//! inherit turned inheritance on and read it through the bits the folder above gave them. Each
//! is tried here over every wire that reaches it (the JSON API, SFTP's rename, FTPS's
//! `RNFR`/`RNTO`), and each fails on the build before the fix.
//!
//! Deleting or moving a folder takes everything below it along, and a folder below that does
//! not inherit is out of the caller's reach whatever they hold above it. Before, Delete on a
//! folder deleted such folders too, though the caller could not even see them.

#[path = "folders/api.rs"]
mod api;
mod common;

use std::process::Command;

use api::{Api, SHARED_ROOT};
use common::file_clients::{ftplib_as, sftp_quote_as};
use common::{ADMIN, ADMIN_PASSWORD, Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(
    a_move_needs_what_a_copy_and_a_delete_need,
    inheritance_passes_down_only_what_the_caller_holds,
    what_is_out_of_reach_below_is_neither_deleted_nor_moved,
    a_refused_rest_update_moves_nothing,
    a_rename_over_ends_older_versions_only_with_delete
);

/// Show, Read, Create and Modify: rename, upload and list, but neither download nor delete.
const RENAMER: i64 = 1 | 2 | 4 | 64;
/// Everything but Distribute and Manage: download, upload and delete too.
const EDITOR: i64 = 1 | 2 | 4 | 8 | 64 | 128;

/// curl's (libssh2's) SFTP `rename` as `user`; whether it succeeded.
fn sftp_rename(port: u16, user: &str, from: &str, to: &str) -> bool {
    sftp_quote_as(port, user, &format!("rename {from} {to}"))
}

/// ftplib's `RNFR`/`RNTO` as `user`: `renamed`, or the server's refusal.
fn ftps_rename(port: u16, user: &str, from: &str, to: &str) -> String {
    let body = "try: f.rename(sys.argv[1], sys.argv[2]); print('renamed')\n\
                except ftplib.error_perm as e: print(e)";
    ftplib_as(port, user, body, &[from, to])
}

/// curl's REST request `method path` with the form `fields` as `session`: the status.
fn rest(s: &Server, session: &str, method: &str, path: &str, fields: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method])
        .args(["-H", "Accept: application/json"])
        .args(["-H", &format!("Authorization: {session}")])
        .args(["-d", fields])
        .arg(format!("{}/REST/1.3/FileSystem/{path}", s.base))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn file_names(api: &Api, folder: i64) -> Vec<String> {
    api.ok("GetFiles", json!({"folderID": folder}))
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["Name"].as_str().unwrap().to_string())
        .collect()
}

fn a_move_needs_what_a_copy_and_a_delete_need(backend: Backend) {
    let s = Server::start_with(
        backend,
        "[sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\n",
    );
    let bob = s.add_user("bob", "member", "bob-password");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let b = Api::new(&s, "bob", "bob-password");
    let deals = admin.create(SHARED_ROOT, "Deals");
    let board = admin.create(deals, "Board");
    let (status, file) = s.put_file(&admin.session, deals, "terms.txt", "", b"the terms\n");
    assert_eq!(status, 200, "{file}");
    let terms = file["FileID"].as_i64().unwrap();
    let (status, _) = s.put_file(&admin.session, board, "minutes.txt", "", b"minutes\n");
    assert_eq!(status, 200);
    let grant = |bits: i64| admin.grant_only(deals, bob, bits);
    grant(RENAMER);
    let home = b.home();
    let content = format!("/api/v1/files/{terms}/content");
    let download = || s.get_bytes(&content, &[("x-session-id", &b.session)]).0;
    assert_eq!(download(), 403, "Bob may not download in Deals");

    // Modify still renames, and a "move" to the folder it is in is a rename.
    b.ok(
        "RenameFile",
        json!({"fileID": terms, "name": "terms-v2.txt"}),
    );
    b.ok("MoveFile", json!({"fileID": terms, "newFolderID": deals}));
    b.ok(
        "RenameFolder",
        json!({"folderID": board, "name": "Board-2026"}),
    );

    // Out of Deals into his home, where he holds every bit: refused on every wire.
    assert_error(
        &b.call("MoveFile", json!({"fileID": terms, "newFolderID": home})),
        403,
        105,
    );
    assert_error(
        &b.call(
            "MoveFolder",
            json!({"folderID": board, "newParentFolderID": home}),
        ),
        403,
        105,
    );
    let sftp = s.sftp_port();
    assert!(!sftp_rename(
        sftp,
        "bob",
        "/Shared/Deals/terms-v2.txt",
        "/Home/bob/terms-v2.txt"
    ));
    assert!(!sftp_rename(
        sftp,
        "bob",
        "/Shared/Deals/Board-2026",
        "/Home/bob/Board-2026"
    ));
    let said = ftps_rename(
        s.ftps_port(),
        "bob",
        "/Shared/Deals/terms-v2.txt",
        "/Home/bob/terms-v2.txt",
    );
    assert!(said.starts_with("550"), "{said}");
    // Nor renamed over a file of his (`RNTO` and `posix-rename` onto an existing name make the
    // source's content the target's next version, and end the source).
    let (status, _) = s.put_file(&b.session, home, "mine.txt", "", b"mine\n");
    assert_eq!(status, 200);
    let said = ftps_rename(
        s.ftps_port(),
        "bob",
        "/Shared/Deals/terms-v2.txt",
        "/Home/bob/mine.txt",
    );
    assert!(said.starts_with("550"), "{said}");
    let mine = b.ok(
        "GetFileByName",
        json!({"folderID": home, "name": "mine.txt"}),
    );
    assert_eq!(mine["Version"], 1, "{mine}");
    b.ok("DeleteFile", json!({"fileID": mine["FileID"]}));
    // Nothing moved, nothing became his.
    assert_eq!(file_names(&admin, deals), ["terms-v2.txt"]);
    assert_eq!(admin.names(deals), ["Board-2026"]);
    assert!(file_names(&b, home).is_empty());
    assert!(b.names(home).is_empty());
    assert_eq!(download(), 403);
    assert_error(&b.call("DeleteFile", json!({"fileID": terms})), 403, 105);
    let refusals = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "AccessDenied")
        .filter_map(|r| r["detail"].as_str().map(str::to_string))
        .filter(|d| d.starts_with("FileMoved") || d.starts_with("FolderMoved"))
        .count();
    assert!(refusals >= 5, "each refused move is audited: {refusals}");

    // With what a download, an upload of a copy and a delete would need, the move is his to
    // make, and gives him nothing he could not have taken that way.
    grant(EDITOR);
    b.ok("MoveFile", json!({"fileID": terms, "newFolderID": home}));
    assert!(sftp_rename(
        sftp,
        "bob",
        "/Shared/Deals/Board-2026",
        "/Home/bob/Board-2026"
    ));
    assert_eq!(file_names(&b, home), ["terms-v2.txt"]);
    assert_eq!(b.names(home), ["Board-2026"]);
    assert_eq!(download(), 200);
    // Both folders' trails show the move: the file left Deals and reached his home.
    let trail = |folder: i64| {
        let (status, log) = admin.call(
            "GetAuditLog",
            json!({"folderID": folder, "operation": "FileMoved"}),
        );
        assert_eq!(status, 200, "{log}");
        log.as_array()
            .unwrap()
            .iter()
            .map(|r| r["detail"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    let moved = format!("from folder {deals} to folder {home}");
    // (The earlier "move" to the folder it was in is a record of Deals, and leaves nothing.)
    let here = format!("from folder {deals} to folder {deals}");
    assert_eq!(trail(deals), [format!("left this folder: {moved}"), here]);
    assert_eq!(trail(home), [moved]);
    // So for a rename over a file in another folder: the source's folder records it leaving.
    let (status, _) = s.put_file(&admin.session, deals, "draft.txt", "", b"new draft\n");
    assert_eq!(status, 200);
    let (status, _) = s.put_file(&b.session, home, "draft.txt", "", b"old draft\n");
    assert_eq!(status, 200);
    let said = ftps_rename(
        s.ftps_port(),
        "bob",
        "/Shared/Deals/draft.txt",
        "/Home/bob/draft.txt",
    );
    assert_eq!(said, "renamed");
    let (status, log) = admin.call(
        "GetAuditLog",
        json!({"folderID": deals, "operation": "FileRenamed"}),
    );
    assert_eq!(status, 200, "{log}");
    assert!(
        log.as_array().unwrap().iter().any(|r| r["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("left this folder: draft.txt (file "))),
        "{log}"
    );
}

fn inheritance_passes_down_only_what_the_caller_holds(backend: Backend) {
    let s = Server::start(backend);
    let mia = s.add_user("mia", "manager", "mia-password");
    let carol = s.add_user("carol", "member", "carol-password");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let m = Api::new(&s, "mia", "mia-password");
    let c = Api::new(&s, "carol", "carol-password");
    let dept = admin.create(SHARED_ROOT, "Dept");
    let payroll = admin.create(dept, "Payroll");
    let (status, _) = s.put_file(&admin.session, payroll, "salaries.csv", "", b"1,2,3\n");
    assert_eq!(status, 200);
    let item =
        |user: i64, bits: i64| json!({"Permission": bits, "UserID": user, "UserGroupID": -1});
    // Dept gives Mia Show, Read and Download, and Carol Show, Read and Delete.
    let (status, _) = admin.grant(
        dept,
        json!([item(mia, 1 | 2 | 8), item(carol, 1 | 2 | 128)]),
    );
    assert_eq!(status, 200);
    // Payroll does not inherit: Mia may manage who sees it, not read it.
    let set = |api: &Api, bits: i64, inherit: bool| {
        api.call(
            "SetFolderPermissionList",
            json!({"folderID": payroll, "permissionList": [item(mia, bits)],
                   "inheritPermissions": inherit}),
        )
    };
    let (status, body) = set(&admin, 1 | 32, false);
    assert_eq!(status, 200, "{body}");
    assert_error(&m.call("GetFiles", json!({"folderID": payroll})), 403, 105);

    // Turning inheritance on would hand Mia Read and Download, and Carol Delete.
    assert_error(&set(&m, 1 | 32, true), 403, 105);
    assert_error(&m.call("GetFiles", json!({"folderID": payroll})), 403, 105);
    assert_error(&c.call("GetFolder", json!({"folderID": payroll})), 404, 201);
    let refused = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "AccessDenied" && r["user_id"] == mia)
        .filter_map(|r| r["detail"].as_str().map(str::to_string))
        .any(|d| d.contains("tried to inherit permission 139 from above while holding 33"));
    assert!(
        refused,
        "the refusal is audited with what would have passed down"
    );
    // Her list alone, inheritance left off, is still hers to set.
    let (status, body) = set(&m, 1 | 32, false);
    assert_eq!(status, 200, "{body}");

    // Holding Read and Download is not enough: Carol's Delete would pass down too.
    let (status, _) = set(&admin, 1 | 2 | 8 | 32, false);
    assert_eq!(status, 200);
    assert_error(&set(&m, 1 | 2 | 8 | 32, true), 403, 105);
    // Holding every bit Dept gives anyone, she may.
    let (status, _) = set(&admin, 1 | 2 | 8 | 32 | 128, false);
    assert_eq!(status, 200);
    let (status, body) = set(&m, 1 | 2 | 8 | 32 | 128, true);
    assert_eq!(status, 200, "{body}");
    assert_eq!(file_names(&c, payroll), ["salaries.csv"]);
}

fn what_is_out_of_reach_below_is_neither_deleted_nor_moved(backend: Backend) {
    let s = Server::start(backend);
    let bob = s.add_user("bob", "member", "bob-password");
    let carol = s.add_user("carol", "member", "carol-password");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let b = Api::new(&s, "bob", "bob-password");
    let c = Api::new(&s, "carol", "carol-password");
    let projects = admin.create(SHARED_ROOT, "Projects");
    let review = admin.create(projects, "HR-Review");
    let team = admin.create(projects, "Team");
    let notes = admin.create(team, "Notes");
    let (status, _) = s.put_file(&admin.session, review, "review.txt", "", b"review\n");
    assert_eq!(status, 200);
    let item =
        |user: i64, bits: i64| json!({"Permission": bits, "UserID": user, "UserGroupID": -1});
    let (status, _) = admin.grant(projects, json!([item(bob, EDITOR)]));
    assert_eq!(status, 200);
    // HR-Review is Carol's alone; Notes does not inherit either, and gives Bob Delete.
    let cut = |folder: i64, list: serde_json::Value| {
        let (status, body) = admin.call(
            "SetFolderPermissionList",
            json!({"folderID": folder, "permissionList": list, "inheritPermissions": false}),
        );
        assert_eq!(status, 200, "{body}");
    };
    cut(review, json!([item(carol, 255)]));
    cut(notes, json!([item(bob, 1 | 128)]));
    assert_eq!(b.names(projects), ["Team"], "Bob does not see HR-Review");

    let home = b.home();
    assert_error(
        &b.call("DeleteFolder", json!({"folderID": projects})),
        403,
        105,
    );
    assert_error(
        &b.call(
            "MoveFolder",
            json!({"folderID": projects, "newParentFolderID": home}),
        ),
        403,
        105,
    );
    assert_eq!(
        file_names(&c, review),
        ["review.txt"],
        "HR-Review is untouched"
    );
    assert_eq!(admin.names(SHARED_ROOT), ["Projects"]);
    let refused = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "AccessDenied" && r["user_id"] == bob)
        .filter_map(|r| r["detail"].as_str().map(str::to_string))
        .filter(|d| d.contains("would take 1 folder(s) below"))
        .count();
    assert_eq!(refused, 2, "both refusals are audited");

    // What is below Team is Bob's to delete: it goes.
    b.ok("DeleteFolder", json!({"folderID": team}));
    // A grant through a group counts as his own.
    let group = admin.ok("CreateUserGroup", json!({"name": "Reviewers"}))["UserGroupID"]
        .as_i64()
        .unwrap();
    cut(
        review,
        json!([item(carol, 255), {"Permission": 1 | 128, "UserID": -1, "UserGroupID": group}]),
    );
    admin.ok(
        "AddUserToGroup",
        json!({"userGroupID": group, "userID": bob}),
    );
    b.ok(
        "MoveFolder",
        json!({"folderID": projects, "newParentFolderID": home}),
    );
    b.ok("DeleteFolder", json!({"folderID": projects}));
    assert_error(&c.call("GetFolder", json!({"folderID": review})), 404, 201);
}

/// REST's update of a file moves and renames it. It was a move, then a rename, the move undone
/// if the rename was refused; the undo needs what any move needs where the file had gone, and
/// when that was refused the file stayed moved. Now both are one change.
fn a_refused_rest_update_moves_nothing(backend: Backend) {
    let s = Server::start(backend);
    let bob = s.add_user("bob", "member", "bob-password");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let deals = admin.create(SHARED_ROOT, "Deals");
    let inbox = admin.create(SHARED_ROOT, "Inbox");
    let (_, file) = s.put_file(&admin.session, deals, "terms.txt", "", b"terms\n");
    let terms = file["FileID"].as_i64().unwrap();
    let (status, _) = s.put_file(&admin.session, inbox, "taken.txt", "", b"taken\n");
    assert_eq!(status, 200);
    let item = |bits: i64| json!([{"Permission": bits, "UserID": bob, "UserGroupID": -1}]);
    assert_eq!(admin.grant(deals, item(EDITOR)).0, 200);
    // In Inbox he may add, not take away.
    assert_eq!(admin.grant(inbox, item(1 | 2 | 4)).0, 200);
    let b = Api::new(&s, "bob", "bob-password");
    let file = format!("File/{terms}");
    let update = |fields: &str| rest(&s, &b.session, "PUT", &file, fields);
    assert_eq!(
        update(&format!("ParentFolderId={inbox}&Name=taken.txt")),
        "409"
    );
    let now = admin.ok("GetFile", json!({"fileID": terms}));
    assert_eq!(now["ParentFolderID"], deals, "{now}");
    assert_eq!(now["Name"], "terms.txt");
    // Allowed, both happen at once.
    assert_eq!(
        update(&format!("ParentFolderId={inbox}&Name=terms-2.txt")),
        "200"
    );
    // So is a folder's creation with its description: that needs Modify, which he lacks in
    // Inbox. It was a creation, then the description, then a deletion to undo the creation,
    // which needs Delete, which he lacks too: the refused request left the folder made.
    let create = |fields: &str| {
        let fields = format!("ParentFolderId={inbox}&{fields}");
        rest(&s, &b.session, "POST", "Folder", &fields)
    };
    assert_eq!(create("Name=Sub&Description=notes"), "403");
    assert!(admin.names(inbox).is_empty(), "{:?}", admin.names(inbox));
    assert_eq!(create("Name=Sub"), "200");
    assert_eq!(admin.names(inbox), ["Sub"]);
    let now = admin.ok("GetFile", json!({"fileID": terms}));
    assert_eq!(
        (&now["ParentFolderID"], &now["Name"]),
        (&json!(inbox), &json!("terms-2.txt"))
    );
}

/// `RNTO` and `posix-rename@openssh.com` onto an existing file make the source's content the
/// target's next version and end the source. Its older versions end with it: before, Modify
/// alone in the same folder did that, so a member who may not delete wiped a file's history.
/// A client's upload to a temporary name, then renamed over the file it replaces, still needs
/// Modify only: a file with one version loses nothing.
fn a_rename_over_ends_older_versions_only_with_delete(backend: Backend) {
    let s = Server::start_with(backend, "[ftps]\nlisten = \"127.0.0.1:0\"\n");
    let bob = s.add_user("bob", "member", "bob-password");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let b = Api::new(&s, "bob", "bob-password");
    let deals = admin.create(SHARED_ROOT, "Deals");
    for body in [&b"terms, first\n"[..], b"terms, second\n"] {
        let (status, _) = s.put_file(&admin.session, deals, "terms.txt", "", body);
        assert_eq!(status, 200);
    }
    let (status, _) = s.put_file(&admin.session, deals, "notes.txt", "", b"notes\n");
    assert_eq!(status, 200);
    let grant = |bits: i64| admin.grant_only(deals, bob, bits);
    grant(RENAMER);
    let by_name = |name: &str| admin.ok("GetFileByName", json!({"folderID": deals, "name": name}));
    let rename = |from: &str, to: &str| {
        let dir = "/Shared/Deals";
        ftps_rename(
            s.ftps_port(),
            "bob",
            &format!("{dir}/{from}"),
            &format!("{dir}/{to}"),
        )
    };

    // terms.txt has two versions: renaming it over notes.txt would end the first.
    let said = rename("terms.txt", "notes.txt");
    assert!(said.starts_with("550"), "{said}");
    assert_eq!(by_name("terms.txt")["Version"], 2);
    assert_eq!(by_name("notes.txt")["Version"], 1);
    assert_eq!(file_names(&admin, deals), ["notes.txt", "terms.txt"]);
    let refused = s.audit().into_iter().any(|r| {
        r["operation"] == "AccessDenied"
            && r["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("FileRenamed"))
    });
    assert!(refused, "the refusal is audited");

    // An upload to a temporary name renamed over the file it replaces: Modify is enough.
    let (status, _) = s.put_file(&b.session, deals, "notes.txt.part", "", b"notes, bob's\n");
    assert_eq!(status, 200);
    assert_eq!(rename("notes.txt.part", "notes.txt"), "renamed");
    let notes = by_name("notes.txt");
    assert_eq!(notes["Version"], 2, "{notes}");
    assert_eq!(file_names(&admin, deals), ["notes.txt", "terms.txt"]);

    // With Delete, the history is his to end.
    grant(RENAMER | 128);
    assert_eq!(rename("terms.txt", "notes.txt"), "renamed");
    assert_eq!(by_name("notes.txt")["Version"], 3);
    assert_eq!(file_names(&admin, deals), ["notes.txt"]);
}
