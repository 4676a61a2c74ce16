//! The web client's file page and the things done to several items at once (issue 17): a
//! file's SHA-256 and versions, an older version downloaded and restored as the newest (no
//! bytes copied, audited), its activity only for those who may read the audit; ticked items
//! as one ZIP, moved and deleted, each item checked on its own; a folder as ZIP; search.

#[path = "folders/api.rs"]
mod api;
mod common;

use api::Api;
use common::web::Browser;
use common::{ADMIN, ADMIN_PASSWORD, Server, audit_records, sha256_hex};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(versions_are_listed_downloaded_and_restored);

const WEB_CLIENT: i64 = 5;

fn signed_in<'a>(s: &'a Server, user: &str) -> (Browser, Api<'a>, i64) {
    let password = format!("{user}-password-1");
    s.add_user(user, "member", &password);
    let mut b = Browser::new(s);
    let home = b.sign_in(user, &password).location.unwrap();
    let api = Api::new(s, user, &password);
    (b, api, home.rsplit('/').next().unwrap().parse().unwrap())
}

fn versions_are_listed_downloaded_and_restored(backend: Backend) {
    let s = Server::start(backend);
    let (mut b, api, home) = signed_in(&s, "ann");
    for body in [&b"first draft"[..], b"second draft", b"final"] {
        let (status, _) = s.put_file(&api.session, home, "plan.txt", "", body);
        assert_eq!(status, 200);
    }
    let id = s.home_files(&api.session)[0]["FileID"].as_i64().unwrap();
    let page = b.get(&format!("/web/files/{id}"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&sha256_hex(b"final")), "{}", page.body);
    assert_eq!(
        page.body.matches("/versions/").count(),
        3 + 2,
        "3 downloads, 2 restores"
    );
    assert!(
        !page.body.contains("<h2>Activity</h2>"),
        "members do not read the audit"
    );

    let old = b.get(&format!("/web/files/{id}/versions/1/download"));
    assert_eq!(old.status, 200);
    assert_eq!(old.body, "first draft");
    assert!(
        old.header("content-disposition")
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(
        old.header("content-security-policy"),
        Some("default-src 'none'; sandbox")
    );
    assert_eq!(
        b.get(&format!("/web/files/{id}/versions/9/download"))
            .status,
        404
    );

    let token = b.csrf(&format!("/web/files/{id}"));
    let r = b.post(
        &format!("/web/files/{id}/versions/1/restore"),
        &[("csrf", &token)],
    );
    assert_eq!(r.status, 303);
    let files = s.home_files(&api.session);
    assert_eq!(files[0]["Version"], 4);
    assert_eq!(files[0]["SHA256"], sha256_hex(b"first draft"));
    let (_, _, body) = s.get_bytes(
        &format!("/api/v1/files/{id}/content"),
        &[("x-session-id", &api.session)],
    );
    assert_eq!(body, b"first draft");
    let audit = s.audit();
    let restored = audit_records(
        &audit,
        "FileVersionRestored",
        WEB_CLIENT,
        "version 1 restored as version 4",
    );
    assert_eq!(restored.len(), 1, "{audit:?}");
    // Without the token, nothing.
    let r = b.post(
        &format!("/web/files/{id}/versions/2/restore"),
        &[("csrf", "0")],
    );
    assert_eq!(r.status, 403);
    assert_eq!(s.home_files(&api.session)[0]["Version"], 4);

    // An administrator sees the file's activity.
    s.add_user("root2", "administrator", "root2-password-1");
    let mut admin = Browser::new(&s);
    admin.sign_in("root2", "root2-password-1");
    let page = admin.get(&format!("/web/files/{id}")).body;
    assert!(
        page.contains("<h2>Activity</h2>") && page.contains("FileVersionRestored"),
        "{page}"
    );
}

#[test]
fn ticked_items_are_zipped_moved_and_deleted_each_on_its_own_checks() {
    let s = Server::start(Backend::Sqlite);
    let (mut b, api, home) = signed_in(&s, "ann");
    let docs = api.create(home, "Docs");
    let inner = api.create(docs, "Inner");
    let (_, a) = s.put_file(&api.session, home, "a.txt", "", b"alpha");
    let (_, c) = s.put_file(&api.session, inner, "c.txt", "", b"gamma");
    assert!(c["FileID"].is_i64());
    let a = a["FileID"].as_i64().unwrap();
    let page = format!("/web/folders/{home}");
    let token = b.csrf(&page);
    let select = format!("{page}/selection");

    // One ZIP of a file and a folder (with its subfolder).
    let zip = b.post(
        &select,
        &[
            ("csrf", &token),
            ("action", "zip"),
            ("item", &format!("f:{a}")),
            ("item", &format!("d:{docs}")),
        ],
    );
    assert_eq!(zip.status, 200);
    assert_eq!(zip.header("content-type"), Some("application/zip"));
    assert!(
        zip.header("content-disposition")
            .unwrap()
            .contains("ann.zip")
    );
    let names = zip_names(&s, &zip_bytes(&mut b, &select, &token, a, docs));
    assert_eq!(names, ["Docs/Inner/c.txt", "a.txt"]);

    // Move a file into Docs, then delete Docs and a file of another user's in one go: the
    // foreign item is refused and said so, the rest is done.
    let r = b.post(
        &select,
        &[
            ("csrf", &token),
            ("action", "move"),
            ("to", &docs.to_string()),
            ("item", &format!("f:{a}")),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let (_, moved) = s.call("GetFile", json!({"sessionID": api.session, "fileID": a}));
    assert_eq!(moved["ParentFolderID"], docs);
    // ... and back by a typed path (the folders as SFTP sees them); a path to a file or to
    // nothing is refused.
    let r = b.post(
        &select,
        &[
            ("csrf", &token),
            ("action", "move"),
            ("to_path", "/Home/ann"),
            ("item", &format!("f:{a}")),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let (_, moved) = s.call("GetFile", json!({"sessionID": api.session, "fileID": a}));
    assert_eq!(moved["ParentFolderID"], home);
    for (path, status) in [
        ("/Home/ann/a.txt", 400),
        ("/Home/nobody", 404),
        ("/Home/ann/../..", 403),
    ] {
        let r = b.post(
            &select,
            &[
                ("csrf", &token),
                ("action", "move"),
                ("to_path", path),
                ("item", &format!("f:{a}")),
            ],
        );
        assert_eq!(r.status, status, "{path}: {}", r.body);
    }
    let r = b.post(
        &select,
        &[
            ("csrf", &token),
            ("action", "move"),
            ("to", &docs.to_string()),
            ("item", &format!("f:{a}")),
        ],
    );
    assert_eq!(r.status, 303);
    let (bob_b, bob, bob_home) = signed_in(&s, "bob");
    drop(bob_b);
    let (_, foreign) = s.put_file(&bob.session, bob_home, "bob.txt", "", b"bob");
    let foreign = foreign["FileID"].as_i64().unwrap();
    let r = b.post(
        &select,
        &[
            ("csrf", &token),
            ("action", "delete"),
            ("item", &format!("d:{docs}")),
            ("item", &format!("f:{foreign}")),
        ],
    );
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains("1 of 2 done; 1 refused"), "{}", r.body);
    assert!(b.get(&page).body.contains("This folder is empty."));
    assert_eq!(s.home_files(&bob.session).len(), 1);

    // Bad selections: refused, nothing done.
    for (fields, status) in [
        (
            vec![
                ("csrf", token.as_str()),
                ("action", "explode"),
                ("item", "f:1"),
            ],
            400,
        ),
        (
            vec![("csrf", token.as_str()), ("action", "zip"), ("item", "x:1")],
            400,
        ),
        (
            vec![("csrf", "nope"), ("action", "delete"), ("item", "f:1")],
            403,
        ),
    ] {
        assert_eq!(b.post(&select, &fields).status, status, "{fields:?}");
    }
}

fn zip_bytes(b: &mut Browser, select: &str, token: &str, a: i64, docs: i64) -> Vec<u8> {
    b.post(
        select,
        &[
            ("csrf", token),
            ("action", "zip"),
            ("item", &format!("f:{a}")),
            ("item", &format!("d:{docs}")),
        ],
    )
    .bytes
}

/// The entry names of a ZIP, as Python's zipfile reads them.
fn zip_names(s: &Server, bytes: &[u8]) -> Vec<String> {
    let path = s.dir.path().join("check.zip");
    std::fs::write(&path, bytes).unwrap();
    let out = common::run_ok(std::process::Command::new("python3").args([
        "-c",
        "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print('\\n'.join(sorted(z.namelist())))",
        path.to_str().unwrap(),
    ]));
    out.lines().map(str::to_string).collect()
}

#[test]
fn a_folder_zips_and_search_finds_only_what_may_be_seen() {
    let s = Server::start(Backend::Sqlite);
    let (mut b, api, home) = signed_in(&s, "ann");
    let (_, _) = s.put_file(&api.session, home, "report-2026.pdf", "", b"pdf");
    let (_, _) = s.put_file(&api.session, home, "notes.txt", "", b"txt");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let (_, _) = s.put_file(&admin.session, admin.home(), "secret-2026.pdf", "", b"no");

    let r = b.get(&format!("/web/folders/{home}/zip"));
    assert_eq!(r.status, 200);
    assert_eq!(zip_names(&s, &r.bytes), ["notes.txt", "report-2026.pdf"]);

    let found = b.get("/web/search?q=*.pdf").body;
    assert!(found.contains("report-2026.pdf"), "{found}");
    assert!(found.contains(">ann</a>"), "the folder is named: {found}");
    assert!(!found.contains("secret-2026.pdf"), "{found}");
    let none = b.get("/web/search?q=zzz").body;
    assert!(none.contains("Nothing you may see"));
    assert_eq!(b.get("/web/search").status, 200);
    let long = "x".repeat(300);
    assert_eq!(b.get(&format!("/web/search?q={long}")).status, 400);
}
