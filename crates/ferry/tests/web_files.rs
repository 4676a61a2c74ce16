//! The web client's file page and the things done to several items at once (issue 17): a
//! file's SHA-256 and versions, an older version downloaded and restored as the newest (no
//! bytes copied, audited), its activity only for those who may read the audit; ticked items
//! as one ZIP, moved (by the bar, a typed path or the folder picker) and deleted, each item
//! checked on its own; a folder as ZIP; search.

#[path = "folders/api.rs"]
mod api;
mod common;

use api::{Api, SHARED_ROOT};
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

    // A HEAD (a browser's or a link checker's) answers the headers and downloads nothing;
    // before, the version's link recorded a download for it.
    let downloads = |s: &Server| {
        s.audit()
            .iter()
            .filter(|r| r["operation"] == "FileDownloaded")
            .count()
    };
    for link in [
        format!("/web/files/{id}/versions/1/download"),
        format!("/web/files/{id}/download"),
    ] {
        let head = b.head(&link);
        assert_eq!(head.status, 200, "{link}");
        assert!(head.bytes.is_empty(), "{link}");
        assert!(
            head.header("content-disposition")
                .is_some_and(|v| v.contains("plan.txt")),
            "{link}"
        );
    }
    let head = b.head(&format!("/web/files/{id}/versions/1/download"));
    assert_eq!(head.header("content-length"), Some("11"));
    assert_eq!(
        b.head(&format!("/web/files/{id}/versions/9/download"))
            .status,
        404
    );
    assert_eq!(downloads(&s), 0, "a HEAD is not a download");

    let old = b.get(&format!("/web/files/{id}/versions/1/download"));
    assert_eq!(old.status, 200);
    assert_eq!(old.body, "first draft");
    assert_eq!(downloads(&s), 1);
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

#[test]
fn the_move_picker_opens_the_tree_a_folder_at_a_time_and_moves_into_the_chosen_one() {
    let s = Server::start(Backend::Sqlite);
    let (mut b, api, home) = signed_in(&s, "ann");
    let docs = api.create(home, "Docs");
    let inner = api.create(docs, "Inner <b>");
    let (_, a) = s.put_file(&api.session, home, "a.txt", "", b"alpha");
    let a = a["FileID"].as_i64().unwrap();
    // A shared folder ann may read but not add to, and bob's home, which she may not see.
    let ann_id = s
        .call("GetCurrentUser", json!({"sessionID": api.session}))
        .1["UserID"]
        .as_i64()
        .unwrap();
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let team = admin.create(SHARED_ROOT, "Team");
    let (status, _) = admin.grant(team, json!([{"Permission": 3, "UserID": ann_id}]));
    assert_eq!(status, 200);
    s.add_user("bob", "member", "bob-password-1");
    Api::new(&s, "bob", "bob-password-1").home();

    let page = format!("/web/folders/{home}");
    let token = b.csrf(&page);
    let picker = format!("{page}/move-to");
    let item = format!("f:{a}");
    let docs_folder = format!("d:{docs}");
    let radio = |id: i64| format!(r#"name="to" value="{id}" id="to-{id}""#);

    // First visit: open down to ann's home; it can be chosen, Docs (being moved too) cannot,
    // nothing of bob's is shown, and Docs and Shared are still closed.
    let r = b.post(
        &picker,
        &[("csrf", &token), ("item", &item), ("item", &docs_folder)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<h1>Move 2 items</h1>"), "{}", r.body);
    for open in ["/", "/Home", "/Home/ann"] {
        assert!(
            r.body.contains(&format!(r#"name="open" value="{open}""#)),
            "{open}: {}",
            r.body
        );
    }
    assert!(
        r.body.contains(&format!("{} disabled>", radio(docs))),
        "{}",
        r.body
    );
    assert!(r.body.contains(&format!("{}>", radio(home))), "{}", r.body);
    assert!(!r.body.contains("bob"), "{}", r.body);
    assert!(
        !r.body.contains("Inner") && !r.body.contains("Team"),
        "{}",
        r.body
    );

    // Open Docs and Shared: Docs's subfolder shows, its name escaped; the file alone may go
    // into Docs; Team (Read only) cannot be chosen.
    let opens = ["/", "/Home", "/Home/ann", "/Shared"];
    let mut fields = vec![("csrf", token.as_str()), ("item", item.as_str())];
    fields.extend(opens.iter().map(|o| ("open", *o)));
    fields.push(("open", "/Home/ann/Docs"));
    let r = b.post(&picker, &fields);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Inner &lt;b&gt;"), "{}", r.body);
    assert!(r.body.contains(&format!("{}>", radio(inner))), "{}", r.body);
    assert!(r.body.contains(&format!("{}>", radio(docs))), "{}", r.body);
    assert!(
        r.body.contains(&format!("{} disabled>", radio(team))),
        "{}",
        r.body
    );
    // Closing ann's home closes what is open below it.
    let mut closing = fields.clone();
    closing.push(("close", "/Home/ann"));
    let r = b.post(&picker, &closing);
    assert!(!r.body.contains("Docs"), "{}", r.body);
    // A hand-made open path names nothing the listing does not: bob's home stays unseen.
    let r = b.post(
        &picker,
        &[
            ("csrf", &token),
            ("item", &item),
            ("open", "/"),
            ("open", "/Home"),
            ("open", "/Home/bob"),
        ],
    );
    assert_eq!(r.status, 200);
    assert!(!r.body.contains("bob"), "{}", r.body);

    // Bad pickers: no form token, too many open folders.
    assert_eq!(
        b.post(&picker, &[("csrf", "nope"), ("item", &item)]).status,
        403
    );
    let many: Vec<String> = (0..65).map(|i| format!("/x{i}")).collect();
    let mut fields = vec![("csrf", token.as_str()), ("item", item.as_str())];
    fields.extend(many.iter().map(|o| ("open", o.as_str())));
    assert_eq!(b.post(&picker, &fields).status, 400);

    // "Move here" with Inner chosen: the file is there.
    let r = b.post(
        &format!("{page}/selection"),
        &[
            ("csrf", &token),
            ("action", "move"),
            ("to", &inner.to_string()),
            ("item", &item),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let (_, moved) = s.call("GetFile", json!({"sessionID": api.session, "fileID": a}));
    assert_eq!(moved["ParentFolderID"], inner);
}
