//! Lists a user can make longer than one answer should hold: a folder's child folders and a
//! file's versions (any member can make 100,000 of either in their own home). Past 10,000,
//! `GetFolders` and `GetFileVersions` refuse to answer whole, with a clear error that says
//! how to page, and answer a page at a time with `skip` and `take`; REST's folder content
//! pages through the folders, and the web client's file page shows the newest versions.
//! Before, each answered whole: 20 slow `GetFolders` of a 100,000-subfolder folder held
//! 2.1 GB.

mod common;

use common::web::Browser;
use common::{APP, Server, assert_error};
use ferry_testkit::Backend;
use serde_json::{Value, json};

const FOLDERS: usize = 10_050;

/// A server with Alice signed in: her session and home folder.
fn alice(s: &Server) -> (String, i64) {
    s.add_user("alice", "member", "alice-password");
    let (session, _) = s.open("alice", "alice-password", APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    (session, home["FolderID"].as_i64().unwrap())
}

/// `make(i)` for `i` in `0..n`, from four threads.
fn in_parallel(n: usize, make: impl Fn(usize) + Sync) {
    std::thread::scope(|scope| {
        for t in 0..4 {
            let make = &make;
            scope.spawn(move || (t..n).step_by(4).for_each(make));
        }
    });
}

#[test]
fn more_child_folders_than_answered_whole_come_a_page_at_a_time() {
    let s = Server::start(Backend::Sqlite);
    let (session, home) = alice(&s);
    in_parallel(FOLDERS, |i| {
        let (status, f) = s.call(
            "CreateFolder",
            json!({"sessionID": session, "parentFolderID": home, "name": format!("d{i:05}")}),
        );
        assert_eq!(status, 200, "{f}");
    });
    for name in ["a.txt", "b.txt", "c.txt"] {
        assert_eq!(s.put_file(&session, home, name, "", b"x").0, 200);
    }
    let get = |params: Value| {
        let mut params = params;
        params["sessionID"] = json!(session);
        params["folderID"] = json!(home);
        s.call("GetFolders", params)
    };
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|f| f["Name"].as_str().unwrap().to_string())
            .collect()
    };

    // Whole: refused, saying how to page. Nothing else is refused for it.
    let (status, body) = get(json!({}));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["Message"].as_str().unwrap().contains("skip and take"),
        "{body}"
    );
    // Pages, in name order, the last one short.
    let (status, first) = get(json!({"take": 1000}));
    assert_eq!(status, 200);
    let first = names(&first);
    assert_eq!(first.len(), 1000);
    assert_eq!(
        (first[0].as_str(), first[999].as_str()),
        ("d00000", "d00999")
    );
    let (_, last) = get(json!({"skip": 10_000, "take": 1000}));
    let expected: Vec<String> = (10_000..FOLDERS).map(|i| format!("d{i:05}")).collect();
    assert_eq!(names(&last), expected);
    let (_, default_take) = get(json!({"skip": 5}));
    assert_eq!(names(&default_take).len(), 100);
    assert_eq!(names(&default_take)[0], "d00005");
    // After a name: the same page without reading the folders before it.
    let (_, after) = get(json!({"afterName": "d09999", "take": 1000}));
    assert_eq!(names(&after), expected);
    let (_, after) = get(json!({"afterName": "D00009"}));
    assert_eq!(names(&after).len(), 100);
    assert_eq!(
        names(&after)[0],
        "d00010",
        "names compare case-insensitively"
    );
    let (_, beyond) = get(json!({"skip": 1_000_000, "take": 10}));
    assert_eq!(beyond, json!([]));
    for bad in [
        json!({"take": 0}),
        json!({"take": 1001}),
        json!({"skip": -1}),
        json!({"skip": "x"}),
    ] {
        let answer = get(bad.clone());
        assert_eq!(answer.0, 400, "{bad}: {}", answer.1);
    }

    // REST's folder content pages through them: the last folders, then the files.
    let (status, _, body) = s.get_bytes(
        &format!("/REST/1.3/FileSystem/Folder/{home}/Content/10045/10"),
        &[("Authorization", &session), ("Accept", "application/json")],
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let content: Value = serde_json::from_slice(&body).unwrap();
    let folders: Vec<String> = (10_045..FOLDERS).map(|i| format!("d{i:05}")).collect();
    assert_eq!(names(&content["Folders"]), folders);
    assert_eq!(names(&content["Files"]), ["a.txt", "b.txt", "c.txt"]);

    // A folder the caller may not see is not found, paged or not.
    s.add_user("bob", "member", "bob-password");
    let (bob, _) = s.open("bob", "bob-password", APP);
    let refused = s.call(
        "GetFolders",
        json!({"sessionID": bob, "folderID": home, "take": 10}),
    );
    assert_error(&refused, 404, 201);
}

const VERSIONS: usize = 10_050;

#[test]
fn more_versions_than_answered_whole_come_a_page_at_a_time() {
    let s = Server::start(Backend::Sqlite);
    let (session, home) = alice(&s);
    in_parallel(VERSIONS, |i| {
        let body = format!("v{i}");
        let (status, f) = s.put_file(&session, home, "log.txt", "", body.as_bytes());
        assert_eq!(status, 200, "{f}");
    });
    let (_, file) = s.call(
        "GetFileByName",
        json!({"sessionID": session, "folderID": home, "name": "log.txt"}),
    );
    let file = file["FileID"].as_i64().unwrap();
    assert_eq!(
        s.call("GetFile", json!({"sessionID": session, "fileID": file}))
            .1["Version"],
        VERSIONS
    );
    let get = |params: Value| {
        let mut params = params;
        params["sessionID"] = json!(session);
        params["fileID"] = json!(file);
        s.call("GetFileVersions", params)
    };
    let numbers = |list: &Value| -> Vec<i64> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|v| v["Version"].as_i64().unwrap())
            .collect()
    };
    let (status, body) = get(json!({}));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["Message"].as_str().unwrap().contains("skip and take"),
        "{body}"
    );
    let (status, first) = get(json!({"take": 5}));
    assert_eq!(status, 200, "{first}");
    assert_eq!(numbers(&first), [1, 2, 3, 4, 5]);
    let (_, last) = get(json!({"skip": 10_000, "take": 1000}));
    let expected: Vec<i64> = (10_001..=VERSIONS as i64).collect();
    assert_eq!(numbers(&last), expected);
    for bad in [
        json!({"take": 0}),
        json!({"take": 1001}),
        json!({"skip": -1}),
    ] {
        assert_eq!(get(bad.clone()).0, 400, "{bad}");
    }

    // The web client's file page shows the newest 100, and an old version still downloads.
    let mut web = Browser::new(&s);
    assert_eq!(web.sign_in("alice", "alice-password").status, 303);
    let page = web.get(&format!("/web/files/{file}"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("The 100 newest versions are shown"));
    assert!(
        page.body
            .contains(&format!("/versions/{VERSIONS}/download"))
    );
    assert!(
        !page
            .body
            .contains(&format!("/versions/{}/download", VERSIONS - 100))
    );
    let old = web.get(&format!("/web/files/{file}/versions/3/download"));
    assert_eq!(old.status, 200);
    assert!(old.body.starts_with('v'), "{}", old.body);
}
