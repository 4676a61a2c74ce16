//! File metadata (SARG 2.4.4's `FTHFileMetadataItemData`) over the JSON API, on both engines:
//! items belong to the file and outlive new versions, permissions are the file's folder's,
//! every write is audited, and bad input changes nothing.

#[path = "folders/api.rs"]
mod api;
mod common;

use api::{Api, SHARED_ROOT};
use common::{ADMIN, ADMIN_PASSWORD, Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    file_metadata_follows_the_file,
    bad_file_metadata_changes_nothing
);

/// `(name, data)` of each item `GetFileMetadata` answers, in order.
fn pairs(items: &Value) -> Vec<(String, String)> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["Name"].as_str().unwrap().to_string(),
                i["Data"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn file_metadata_follows_the_file(backend: Backend) {
    let s = Server::start(backend);
    let reader = s.add_user("rita", "member", "rita-password");
    let editor = s.add_user("ed", "member", "ed-password");
    s.add_user("otto", "member", "otto-password");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let rita = Api::new(&s, "rita", "rita-password");
    let ed = Api::new(&s, "ed", "ed-password");
    let otto = Api::new(&s, "otto", "otto-password");
    let folder = admin.create(SHARED_ROOT, "Invoices");
    admin.grant(
        folder,
        json!([{"Permission": 1 | 2, "UserID": reader}, {"Permission": 1 | 2 | 64, "UserID": editor}]),
    );
    let (status, file) = s.put_file(&admin.session, folder, "inv-1.xml", "", b"<invoice/>");
    assert_eq!(status, 200, "{file}");
    let file = file["FileID"].as_i64().unwrap();

    let created = admin.ok(
        "CreateFileMetadata",
        json!({"fileID": file, "name": "Customer", "data": "ACME"}),
    );
    let id = created["FileMetadataID"].as_i64().unwrap();
    assert!(id > 0, "{created}");
    assert_eq!(
        created,
        json!({"FileMetadataID": id, "FileID": file, "Name": "Customer", "DataType": 0, "Data": "ACME"})
    );
    assert_error(
        &admin.call(
            "CreateFileMetadata",
            json!({"fileID": file, "name": "CUSTOMER", "data": "x"}),
        ),
        409,
        108,
    );
    // A new version is the same file: its items stay.
    let (status, v2) = s.put_file(&admin.session, folder, "inv-1.xml", "", b"<invoice n='2'/>");
    assert_eq!(
        (status, v2["FileID"].as_i64(), v2["Version"].as_i64()),
        (200, Some(file), Some(2))
    );
    let saved = ed.ok(
        "SaveFileMetadata",
        json!({"fileID": file, "name": "customer", "data": "ACME Corp"}),
    );
    assert_eq!(saved["FileMetadataID"], id);
    ed.ok(
        "CreateFileMetadata",
        json!({"fileID": file, "name": "Batch", "data": "2026-12"}),
    );
    let want = [
        ("Batch".to_string(), "2026-12".to_string()),
        ("customer".to_string(), "ACME Corp".to_string()),
    ];
    assert_eq!(
        pairs(&rita.ok("GetFileMetadata", json!({"fileID": file}))),
        want
    );

    // Read is enough to read them, Modify is needed to write them, and a user who may not
    // read the folder is told the file does not exist.
    assert_error(
        &rita.call(
            "SaveFileMetadata",
            json!({"fileID": file, "name": "Batch", "data": "x"}),
        ),
        403,
        105,
    );
    assert_error(
        &otto.call("GetFileMetadata", json!({"fileID": file})),
        404,
        202,
    );
    assert_error(
        &otto.call(
            "CreateFileMetadata",
            json!({"fileID": file, "name": "Mine", "data": "x"}),
        ),
        404,
        202,
    );
    assert_eq!(
        pairs(&admin.ok("GetFileMetadata", json!({"fileID": file}))),
        want
    );

    // Every write is in the audit trail, with its file and item name.
    let changes: Vec<Value> = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "FileMetadataChanged")
        .collect();
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert!(
        changes
            .iter()
            .all(|r| r["file_id"] == file && r["folder_id"] == folder)
    );
    assert_eq!(changes[1]["user_id"], editor);
    assert_eq!(changes[2]["path"], "Batch");

    // A deleted file has no metadata to read or write.
    admin.ok("DeleteFile", json!({"fileID": file}));
    assert_error(
        &admin.call("GetFileMetadata", json!({"fileID": file})),
        404,
        202,
    );
    assert_error(
        &admin.call(
            "SaveFileMetadata",
            json!({"fileID": file, "name": "Batch", "data": "x"}),
        ),
        404,
        202,
    );
}

fn bad_file_metadata_changes_nothing(backend: Backend) {
    let s = Server::start(backend);
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let folder = admin.home();
    let (_, file) = s.put_file(&admin.session, folder, "a.txt", "", b"a");
    let file = file["FileID"].as_i64().unwrap();
    let before = s.audit().len();
    let long = "x".repeat(4001);
    let long_name = "n".repeat(256);
    for (params, status, code) in [
        (json!({"fileID": file, "name": "", "data": "x"}), 400, 110),
        (
            json!({"fileID": file, "name": "   ", "data": "x"}),
            400,
            110,
        ),
        (
            json!({"fileID": file, "name": long_name, "data": "x"}),
            400,
            110,
        ),
        (json!({"fileID": file, "name": "n", "data": long}), 400, 110),
        (
            json!({"fileID": file, "name": "n", "data": "bell\u{7}"}),
            400,
            110,
        ),
        (
            json!({"fileID": file, "name": "n\u{202e}", "data": "x"}),
            400,
            110,
        ),
        (json!({"fileID": file, "name": "n"}), 400, 110),
        (json!({"fileID": file, "name": "n", "value": "x"}), 400, 110),
        (json!({"fileID": "12", "name": "n", "data": "x"}), 400, 110),
        (
            json!({"fileID": 987654, "name": "n", "data": "x"}),
            404,
            202,
        ),
        (json!({"fileID": -1, "name": "n", "data": "x"}), 404, 202),
    ] {
        assert_error(
            &admin.call("CreateFileMetadata", params.clone()),
            status,
            code,
        );
    }
    // Saving what was never created is refused (SARG: "exception will be thrown").
    assert_error(
        &admin.call(
            "SaveFileMetadata",
            json!({"fileID": file, "name": "n", "data": "x"}),
        ),
        404,
        208,
    );
    assert_eq!(
        s.audit().len(),
        before,
        "a refused write was recorded as a change"
    );
    assert_eq!(
        admin.ok("GetFileMetadata", json!({"fileID": file})),
        json!([])
    );

    // Names are data, never SQL or paths.
    let hostile = "x'); DROP TABLE file_metadata; --";
    admin.ok(
        "CreateFileMetadata",
        json!({"fileID": file, "name": hostile, "data": "../../etc/passwd"}),
    );
    assert_eq!(
        pairs(&admin.ok("GetFileMetadata", json!({"fileID": file}))),
        [(hostile.to_string(), "../../etc/passwd".to_string())]
    );

    // At most 256 items per file: the next one is refused, and nothing else changes.
    for i in 1..256 {
        admin.ok(
            "CreateFileMetadata",
            json!({"fileID": file, "name": format!("k{i:03}"), "data": "v"}),
        );
    }
    assert_error(
        &admin.call(
            "CreateFileMetadata",
            json!({"fileID": file, "name": "one-too-many", "data": "v"}),
        ),
        400,
        110,
    );
    let items = admin.ok("GetFileMetadata", json!({"fileID": file}));
    assert_eq!(items.as_array().unwrap().len(), 256);
    // Saving an existing item still works at the limit.
    admin.ok(
        "SaveFileMetadata",
        json!({"fileID": file, "name": "K001", "data": "w"}),
    );
}
