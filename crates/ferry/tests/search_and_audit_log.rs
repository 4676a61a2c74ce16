//! `Search` with wildcards and visibility, and `GetAuditLog` with filters, on both engines.

mod common;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    search_matches_wildcards_and_shows_only_what_the_caller_may_see,
    the_audit_log_is_filtered_and_for_administrators_only
);

fn names(found: &Value, key: &str) -> Vec<String> {
    let mut v: Vec<String> = found[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["Name"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn search_matches_wildcards_and_shows_only_what_the_caller_may_see(backend: Backend) {
    let s = Server::start(backend);
    let bob = s.add_user("bob", "member", "bob-password");
    let admin = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP).0;
    let (_, team) = s.call(
        "CreateFolder",
        json!({"sessionID": admin, "parentFolderID": 3, "name": "Team"}),
    );
    let team = team["FolderID"].as_i64().unwrap();
    // The furthest page there is: empty, not an overflow (schemathesis found a 500 here).
    let (status, far) = s.call(
        "Search",
        json!({"sessionID": admin, "searchString": "a", "skip": i64::MAX, "take": 319}),
    );
    assert_eq!(status, 200, "{far}");
    s.call(
        "CreateFolder",
        json!({"sessionID": admin, "parentFolderID": team, "name": "Reports"}),
    );
    for name in [
        "Report 2026.pdf",
        "report-old.PDF",
        "notes.txt",
        "100%_done.txt",
        "gone-report.pdf",
    ] {
        assert_eq!(s.put_file(&admin, team, name, "", b"x").0, 200);
    }
    let (_, gone) = s.call(
        "GetFileByName",
        json!({"sessionID": admin, "folderID": team, "name": "gone-report.pdf"}),
    );
    s.call(
        "DeleteFile",
        json!({"sessionID": admin, "fileID": gone["FileID"]}),
    );

    let search = |sid: &str, text: &str| {
        let (status, body) = s.call("Search", json!({"sessionID": sid, "searchString": text}));
        assert_eq!(status, 200, "{body}");
        body
    };
    let found = search(&admin, "*.pdf");
    assert_eq!(
        names(&found, "Files"),
        ["Report 2026.pdf", "report-old.PDF"],
        "deleted files are not found"
    );
    assert_eq!(names(&found, "Folders"), Vec::<String>::new());
    let found = search(&admin, "REPORT");
    assert_eq!(names(&found, "Folders"), ["Reports"]);
    assert_eq!(
        names(&found, "Files"),
        ["Report 2026.pdf", "report-old.PDF"]
    );
    assert_eq!(
        names(&search(&admin, "100%_"), "Files"),
        ["100%_done.txt"],
        "% and _ are literal"
    );
    assert_eq!(names(&search(&admin, "1%0"), "Files"), Vec::<String>::new());
    assert_eq!(
        names(&search(&admin, "' OR 1=1 --"), "Files"),
        Vec::<String>::new()
    );

    let (_, page) = s.call(
        "Search",
        json!({"sessionID": admin, "searchString": "*", "skip": 1, "take": 2}),
    );
    let total = page["Folders"].as_array().unwrap().len() + page["Files"].as_array().unwrap().len();
    assert_eq!(total, 2);

    // Bob sees nothing until granted; Show shows folders, Read shows files.
    let b = s.open_with("OpenImmutable", "bob", "bob-password", APP).0;
    let found = search(&b, "report");
    assert_eq!(
        (names(&found, "Folders").len(), names(&found, "Files").len()),
        (0, 0)
    );
    let grant = |bits: i64| {
        s.call("SetFolderPermissionList", json!({"sessionID": admin, "folderID": team, "permissionList": [{"Permission": bits, "UserID": bob}]}))
    };
    grant(1);
    let found = search(&b, "report");
    assert_eq!(names(&found, "Folders"), ["Reports"]);
    assert_eq!(names(&found, "Files"), Vec::<String>::new());
    grant(3);
    assert_eq!(
        names(&search(&b, "report"), "Files"),
        ["Report 2026.pdf", "report-old.PDF"]
    );

    // SearchFolders (FTHFolderSearchPagingData): the page and the total, of what Bob may see.
    let (_, more) = s.call(
        "CreateFolder",
        json!({"sessionID": admin, "parentFolderID": team, "name": "Reports archive"}),
    );
    assert!(more["FolderID"].is_i64(), "{more}");
    let paged = |sid: &str, start: i64, length: i64| {
        let (status, body) = s.call(
            "SearchFolders",
            json!({"sessionID": sid, "searchString": "report", "requestedStartIndex": start,
                   "requestedLength": length}),
        );
        assert_eq!(status, 200, "{body}");
        body
    };
    let all = paged(&admin, 0, 10);
    assert_eq!(all["TotalMatchingFolders"], 2, "{all}");
    assert_eq!(names(&all, "PageFolders"), ["Reports", "Reports archive"]);
    let second = paged(&admin, 1, 1);
    assert_eq!(
        (
            second["TotalMatchingFolders"].as_i64(),
            names(&second, "PageFolders")
        ),
        (Some(2), vec!["Reports archive".to_string()])
    );
    assert_eq!(
        (
            second["RequestedStartIndex"].as_i64(),
            second["RequestedLength"].as_i64()
        ),
        (Some(1), Some(1))
    );
    let beyond = paged(&admin, 5, 10);
    assert_eq!(
        (
            beyond["TotalMatchingFolders"].as_i64(),
            names(&beyond, "PageFolders").len()
        ),
        (Some(2), 0)
    );
    grant(0);
    let hidden = paged(&b, 0, 10);
    assert_eq!(
        hidden["TotalMatchingFolders"], 0,
        "hidden folders are not counted: {hidden}"
    );
    assert_error(
        &s.call(
            "SearchFolders",
            json!({"sessionID": admin, "searchString": "x", "requestedStartIndex": -1,
                   "requestedLength": 10}),
        ),
        400,
        110,
    );

    for bad in [
        json!({"searchString": ""}),
        json!({"searchString": "x", "take": 0}),
        json!({"searchString": "a\u{0}"}),
    ] {
        let mut params = bad;
        params["sessionID"] = json!(admin);
        assert_error(&s.call("Search", params), 400, 110);
    }
}

fn the_audit_log_is_filtered_and_for_administrators_only(backend: Backend) {
    let s = Server::start(backend);
    let bob = s.add_user("bob", "member", "bob-password");
    let admin = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP).0;
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": admin}));
    let home = home["FolderID"].as_i64().unwrap();
    for i in 0..3 {
        s.put_file(&admin, home, &format!("f{i}.txt"), "", b"x");
    }
    let b = s.open_with("OpenImmutable", "bob", "bob-password", APP).0;
    assert_error(&s.call("GetAuditLog", json!({"sessionID": b})), 403, 105);

    let log = |params: Value| {
        let mut params = params;
        params["sessionID"] = json!(admin);
        let (status, body) = s.call("GetAuditLog", params);
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().clone()
    };
    let uploads = log(json!({"operation": "FileUploaded", "folderID": home}));
    assert_eq!(uploads.len(), 3);
    assert!(
        uploads[0]["seq"].as_i64() > uploads[2]["seq"].as_i64(),
        "newest first"
    );
    assert_eq!(uploads[0]["path"], "f2.txt");
    let bobs = log(json!({"userID": bob, "operation": "SignIn"}));
    assert_eq!(bobs.len(), 1);
    assert!(
        log(json!({"applicationID": 4})).len() >= 2,
        "CLI actions carry application 4"
    );
    assert_eq!(log(json!({"fromTime": "2999-01-01T00:00:00Z"})).len(), 0);
    assert_eq!(log(json!({"toTime": "2000-01-01T00:00:00+02:00"})).len(), 0);
    assert_eq!(log(json!({"take": 2})).len(), 2);
    for bad in [
        json!({"fromTime": "yesterday"}),
        json!({"take": 1001}),
        json!({"skip": -1}),
        json!({"userID": "1"}),
    ] {
        let mut params = bad;
        params["sessionID"] = json!(admin);
        assert_error(&s.call("GetAuditLog", params), 400, 110);
    }
}
