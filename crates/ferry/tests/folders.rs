//! The folder tree over the JSON API, on both engines: homes, creation, renames, moves,
//! deletion, names, metadata, drop boxes. Permission bits and groups are in
//! `folder_permissions.rs`.

#[path = "folders/api.rs"]
mod api;
mod common;

use api::{Api, HOME_ROOT, SHARED_ROOT};
use common::{ADMIN, ADMIN_PASSWORD, Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(
    every_user_gets_a_private_home_folder,
    folders_are_created_renamed_moved_and_deleted,
    bad_folder_names_are_refused,
    system_and_home_folders_cannot_be_renamed_moved_or_deleted,
    folder_metadata_and_description,
    drop_boxes_do_not_inherit,
    a_folder_deletion_records_every_file_it_takes,
);

fn every_user_gets_a_private_home_folder(backend: Backend) {
    let s = Server::start(backend);
    let bob_id = s.add_user("bob", "member", "bob-password");
    s.add_user("carol", "member", "carol-password");
    let bob = Api::new(&s, "bob", "bob-password");
    let carol = Api::new(&s, "carol", "carol-password");
    let home = bob.ok("GetHomeFolder", json!({}));
    assert_eq!(home["Name"], "bob");
    assert_eq!(home["FolderType"], 2);
    assert_eq!(home["ParentFolderID"], HOME_ROOT);
    assert_eq!(home["EffectivePermission"], 255);
    let user = bob.ok("GetCurrentUser", json!({}));
    assert_eq!(user["HomeFolderID"], home["FolderID"]);
    // Nobody else sees it, and the homes' parent is not listable by members.
    assert_error(
        &carol.call("GetFolder", json!({"folderID": home["FolderID"]})),
        404,
        201,
    );
    assert_error(
        &carol.call("GetFolders", json!({"folderID": HOME_ROOT})),
        404,
        201,
    );
    let root = bob.ok("GetRootFolder", json!({}));
    assert_eq!(root["FolderType"], 1);
    assert_eq!(root["ParentFolderID"], -1);
    // Administrators see everything.
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    assert_eq!(admin.names(1), ["Home", "Shared"]);
    assert_eq!(admin.names(HOME_ROOT), ["admin", "bob", "carol"]);
    let created = s
        .audit()
        .into_iter()
        .find(|r| r["operation"] == "FolderCreated" && r["target_user_id"] == bob_id)
        .expect("the home folder's creation is audited");
    assert_eq!(created["detail"], "home folder");
}

fn folders_are_created_renamed_moved_and_deleted(backend: Backend) {
    let s = Server::start(backend);
    s.add_user("dan", "member", "dan-password");
    let dan = Api::new(&s, "dan", "dan-password");
    let home = dan.home();
    let projects = dan.create(home, "Projects");
    let archive = dan.create(home, "Archive");
    let inner = dan.create(projects, "2026");
    assert_eq!(dan.names(home), ["Archive", "Projects"]);
    let renamed = dan.ok(
        "RenameFolder",
        json!({"folderID": projects, "name": "Work"}),
    );
    assert_eq!(renamed["Name"], "Work");
    assert_eq!(renamed["ModifiedByUserID"], renamed["CreatedByUserID"]);
    let moved = dan.ok(
        "MoveFolder",
        json!({"folderID": projects, "newParentFolderID": archive}),
    );
    assert_eq!(moved["ParentFolderID"], archive);
    assert_eq!(dan.names(home), ["Archive"]);
    // Into itself or below itself: refused, nothing changed.
    assert_error(
        &dan.call(
            "MoveFolder",
            json!({"folderID": archive, "newParentFolderID": inner}),
        ),
        400,
        110,
    );
    assert_error(
        &dan.call(
            "MoveFolder",
            json!({"folderID": archive, "newParentFolderID": archive}),
        ),
        400,
        110,
    );
    assert_eq!(dan.names(archive), ["Work"]);
    // Same name in one folder (case-insensitively): refused.
    dan.create(home, "Reports");
    assert_error(
        &dan.call(
            "CreateFolder",
            json!({"parentFolderID": home, "name": "REPORTS"}),
        ),
        409,
        108,
    );
    assert_error(
        &dan.call(
            "RenameFolder",
            json!({"folderID": archive, "name": "reports"}),
        ),
        409,
        108,
    );
    // Delete hides the folder and everything below it; the name is free again.
    dan.ok("DeleteFolder", json!({"folderID": archive}));
    assert_error(
        &dan.call("GetFolder", json!({"folderID": archive})),
        404,
        201,
    );
    assert_error(&dan.call("GetFolder", json!({"folderID": inner})), 404, 201);
    assert_error(
        &dan.call(
            "CreateFolder",
            json!({"parentFolderID": inner, "name": "x"}),
        ),
        404,
        201,
    );
    dan.create(home, "Archive");
    let ops: Vec<String> = s
        .audit()
        .iter()
        .map(|r| r["operation"].as_str().unwrap().to_string())
        .collect();
    for op in [
        "FolderCreated",
        "FolderRenamed",
        "FolderMoved",
        "FolderDeleted",
    ] {
        assert!(ops.iter().any(|o| o == op), "{op} is audited");
    }
    assert!(s.ferry_ok(&["audit", "verify"], None).contains("intact"));
}

fn bad_folder_names_are_refused(backend: Backend) {
    let s = Server::start(backend);
    s.add_user("eve", "member", "eve-password");
    let eve = Api::new(&s, "eve", "eve-password");
    let home = eve.home();
    let long = "a".repeat(256);
    for bad in [
        "",
        ".",
        "..",
        "a/b",
        "a\\b",
        "a\u{0}b",
        "tab\there",
        "trailing ",
        "trailing.",
        " lead",
        "invoice\u{202E}fdp.exe",
        // Invisible: looks like "invoice.pdf" and "Reports".
        "invoice\u{200B}.pdf",
        "\u{FEFF}Reports",
        long.as_str(),
    ] {
        assert_error(
            &eve.call("CreateFolder", json!({"parentFolderID": home, "name": bad})),
            400,
            110,
        );
    }
    // Names equal after NFC normalisation collide.
    eve.create(home, "caf\u{e9}");
    assert_error(
        &eve.call(
            "CreateFolder",
            json!({"parentFolderID": home, "name": "cafe\u{301}"}),
        ),
        409,
        108,
    );
    // HTML and SQL are just names.
    for fine in ["<script>alert(1)<\\script>", "x'; DROP TABLE folders; --"] {
        let fine = fine.replace('\\', "");
        let id = eve.create(home, &fine);
        assert_eq!(
            eve.ok("GetFolder", json!({"folderID": id}))["Name"],
            fine.as_str()
        );
    }
    assert_error(
        &eve.call("CreateFolder", json!({"parentFolderID": "1", "name": "x"})),
        400,
        110,
    );
    assert_error(
        &eve.call(
            "CreateFolder",
            json!({"parentFolderID": 999999, "name": "x"}),
        ),
        404,
        201,
    );
    assert_error(
        &eve.call(
            "CreateFolder",
            json!({"parentFolderID": home, "name": "x", "folderType": 1}),
        ),
        400,
        110,
    );
    assert_eq!(eve.names(home).len(), 3, "nothing else was created");
}

fn system_and_home_folders_cannot_be_renamed_moved_or_deleted(backend: Backend) {
    let s = Server::start(backend);
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let home = admin.home();
    let shared = admin.create(SHARED_ROOT, "Team");
    for folder in [1, HOME_ROOT, SHARED_ROOT, home] {
        assert_error(
            &admin.call("RenameFolder", json!({"folderID": folder, "name": "x"})),
            403,
            105,
        );
        assert_error(
            &admin.call("DeleteFolder", json!({"folderID": folder})),
            403,
            105,
        );
        assert_error(
            &admin.call(
                "MoveFolder",
                json!({"folderID": folder, "newParentFolderID": shared}),
            ),
            403,
            105,
        );
    }
    assert_eq!(admin.names(1), ["Home", "Shared"]);
}

fn folder_metadata_and_description(backend: Backend) {
    let s = Server::start(backend);
    let gus = s.add_user("gus", "member", "gus-password");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let g = Api::new(&s, "gus", "gus-password");
    let folder = admin.create(SHARED_ROOT, "Contracts");
    // SARG 2.4.2: each call answers FolderMetadataResult; the description is item 0.
    let described = admin.ok(
        "CreateFolderMetadata",
        json!({"folderID": folder, "name": "Description", "data": "Signed contracts"}),
    );
    assert_eq!(
        described,
        json!({"FolderMetadataID": 0, "FolderID": folder, "Name": "Description",
               "DataType": 0, "Data": "Signed contracts"})
    );
    let customer = admin.ok(
        "CreateFolderMetadata",
        json!({"folderID": folder, "name": "Customer", "data": "ACME"}),
    );
    let customer_id = customer["FolderMetadataID"].as_i64().unwrap();
    assert!(customer_id > 0, "{customer}");
    assert_error(
        &admin.call(
            "CreateFolderMetadata",
            json!({"folderID": folder, "name": "customer", "data": "x"}),
        ),
        409,
        108,
    );
    assert_error(
        &admin.call(
            "CreateFolderMetadata",
            json!({"folderID": folder, "name": "Description", "data": "x"}),
        ),
        409,
        108,
    );
    // Saving changes the item in place (same ID, the name's new spelling).
    let saved = admin.ok(
        "SaveFolderMetadata",
        json!({"folderID": folder, "name": "CUSTOMER", "data": "ACME Corp"}),
    );
    assert_eq!(saved["FolderMetadataID"], customer_id);
    // Saving a name that was never created is refused, as SARG says, and stores nothing.
    let before = s.audit().len();
    assert_error(
        &admin.call(
            "SaveFolderMetadata",
            json!({"folderID": folder, "name": "Region", "data": "EU"}),
        ),
        404,
        208,
    );
    assert_eq!(s.audit().len(), before);
    admin.ok(
        "CreateFolderMetadata",
        json!({"folderID": folder, "name": "Region", "data": "EU"}),
    );
    let items = admin.ok("GetFolderMetadata", json!({"folderID": folder}));
    let pairs: Vec<(String, String)> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["Name"].as_str().unwrap().into(),
                i["Data"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("Description".into(), "Signed contracts".into()),
            ("CUSTOMER".into(), "ACME Corp".into()),
            ("Region".to_string(), "EU".to_string())
        ]
    );
    assert_eq!(items[1]["FolderMetadataID"], customer_id);
    assert!(
        items
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["FolderID"] == folder)
    );
    assert_eq!(
        admin.ok("GetFolder", json!({"folderID": folder}))["Description"],
        "Signed contracts"
    );
    admin.grant(folder, json!([{"Permission": 1, "UserID": gus}]));
    assert_eq!(
        g.ok("GetFolderMetadata", json!({"folderID": folder}))[0]["Data"],
        "Signed contracts"
    );
    assert_error(
        &g.call(
            "SaveFolderMetadata",
            json!({"folderID": folder, "name": "Region", "data": "US"}),
        ),
        403,
        105,
    );
    for (name, data) in [
        ("", "x".to_string()),
        ("n", "x".repeat(4001)),
        ("n", "a\u{7}b".into()),
    ] {
        assert_error(
            &admin.call(
                "SaveFolderMetadata",
                json!({"folderID": folder, "name": name, "data": data}),
            ),
            400,
            110,
        );
    }
    // The old parameter name is an unknown parameter, not a silent empty value.
    assert_error(
        &admin.call(
            "SaveFolderMetadata",
            json!({"folderID": folder, "name": "Region", "value": "US"}),
        ),
        400,
        110,
    );
    assert_error(
        &admin.call("GetFolderMetadata", json!({"folderID": 987654})),
        404,
        201,
    );
}

fn drop_boxes_do_not_inherit(backend: Backend) {
    let s = Server::start(backend);
    let hal = s.add_user("hal", "member", "hal-password");
    s.add_user("ida", "member", "ida-password");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let team = admin.create(SHARED_ROOT, "Team");
    admin.grant(team, json!([{"Permission": 7, "UserID": hal}]));
    let h = Api::new(&s, "hal", "hal-password");
    let inbox = json!({"parentFolderID": team, "name": "Inbox", "folderType": 4});
    // A drop box gives its creator every bit and cuts off what its parent passes down: with
    // Create alone in Team, Hal would hold there what nobody gave him, out of sight of the
    // folder's managers.
    assert_error(&h.call("CreateFolder", inbox.clone()), 403, 105);
    let dropbox = h.ok(
        "CreateFolder",
        json!({"parentFolderID": h.home(), "name": "Inbox", "folderType": 4}),
    );
    assert_eq!(dropbox["FolderType"], 4);
    assert_eq!(
        dropbox["EffectivePermission"], 255,
        "its creator holds every bit"
    );
    let id = dropbox["FolderID"].as_i64().unwrap();
    let ida = Api::new(&s, "ida", "ida-password");
    assert_error(&ida.call("GetFolder", json!({"folderID": id})), 404, 201);
    // Holding every bit in Team, he may make one there.
    admin.grant(team, json!([{"Permission": 255, "UserID": hal}]));
    assert_eq!(h.ok("CreateFolder", inbox)["EffectivePermission"], 255);
}

/// `DeleteFolder` records a `FileDeleted` for each live file it takes with it, by whom, in the
/// deletion's change: a file's trail ends with its deletion, as it does for a file deleted
/// alone. Before (until 2026-12-07) the folder's one record counted them ("3 files and 1
/// folder deleted with it"), and the trail of each file ended at its upload. More files than
/// one page of the deletion's reads (1,000), so that every page is recorded.
fn a_folder_deletion_records_every_file_it_takes(backend: Backend) {
    let s = Server::start(backend);
    let dan_id = s.add_user("dan", "member", "dan-password");
    let dan = Api::new(&s, "dan", "dan-password");
    let home = dan.home();
    let reports = dan.create(home, "Reports");
    let year = dan.create(reports, "2025");
    let put = |folder: i64, name: &str| -> i64 {
        let (status, body) = s.put_file(&dan.session, folder, name, "", b"figures");
        assert_eq!(status, 200, "{body}");
        body["FileID"].as_i64().unwrap()
    };
    let top = put(reports, "summary.txt");
    let mut below: Vec<i64> = (0..1_001)
        .map(|i| put(year, &format!("day-{i}.csv")))
        .collect();
    let gone = put(year, "gone.txt");
    dan.ok("DeleteFile", json!({"fileID": gone}));
    let kept = put(home, "keep.txt");

    dan.ok("DeleteFolder", json!({"folderID": reports}));
    let audit = s.audit();
    let deleted: Vec<_> = audit
        .iter()
        .filter(|r| r["operation"] == "FileDeleted")
        .collect();
    let mut files: Vec<i64> = deleted
        .iter()
        .filter(|r| r["file_id"] != gone)
        .map(|r| {
            assert_eq!(r["user_id"], dan_id, "{r}");
            assert_eq!(
                r["detail"],
                format!("deleted with folder {reports} (Reports)"),
                "{r}"
            );
            r["file_id"].as_i64().unwrap()
        })
        .collect();
    files.sort();
    below.push(top);
    below.sort();
    assert_eq!(files, below, "one record for each file taken, no other");
    let summary = deleted.iter().find(|r| r["file_id"] == top).unwrap();
    assert_eq!(
        (summary["folder_id"].as_i64(), summary["path"].as_str()),
        (Some(reports), Some("summary.txt"))
    );
    let day = deleted.iter().find(|r| r["path"] == "day-7.csv").unwrap();
    assert_eq!(day["folder_id"], year);
    assert_eq!(
        deleted.iter().filter(|r| r["file_id"] == gone).count(),
        1,
        "a file deleted before is not recorded again"
    );
    assert!(!deleted.iter().any(|r| r["file_id"] == kept));
    let folder = audit
        .iter()
        .find(|r| r["operation"] == "FolderDeleted")
        .unwrap();
    assert_eq!(folder["detail"], "1002 files and 1 folder deleted with it");
    // The folder's own trail shows each of its files leave.
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let trail = admin.ok(
        "GetAuditLog",
        json!({"folderID": reports, "operation": "FileDeleted"}),
    );
    assert_eq!(trail.as_array().unwrap().len(), 1, "{trail}");
    assert!(s.ferry_ok(&["audit", "verify"], None).contains("intact"));
}
