//! The web client's folder pages (issue 17): what the bits allow is offered and nothing else;
//! every change needs the session's form token and this origin; hostile names are shown as
//! text; another user's folder or file reads like a missing one; a large folder pages and
//! sorts; a download is always an attachment.

#[path = "folders/api.rs"]
mod api;
mod common;

use api::{Api, SHARED_ROOT};
use common::web::Browser;
use common::{ADMIN, ADMIN_PASSWORD, Server, audit_records};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

const WEB_CLIENT: i64 = 5;

/// A server with `ann` (a member) signed in to the web client; her home folder's page.
fn ann_signed_in(s: &Server) -> (Browser, String) {
    s.add_user("ann", "member", "ann-password-1");
    let mut b = Browser::new(s);
    let home = b.sign_in("ann", "ann-password-1").location.unwrap();
    (b, home)
}

fn folder_id(page: &str) -> i64 {
    page.rsplit('/').next().unwrap().parse().unwrap()
}

#[test]
fn changes_need_the_form_token_and_this_origin() {
    let s = Server::start(Backend::Sqlite);
    let (mut ann, home) = ann_signed_in(&s);
    let token = ann.csrf(&home);
    s.add_user("bob", "member", "bob-password-1");
    let mut bob = Browser::new(&s);
    let bob_home = bob.sign_in("bob", "bob-password-1").location.unwrap();
    let bobs_token = bob.csrf(&bob_home);
    let create = format!("{home}/new-folder");

    type Pairs<'a> = Vec<(&'a str, &'a str)>;
    let refused: [(&str, Pairs, Pairs); 5] = [
        ("no token", vec![("name", "A")], vec![]),
        ("a wrong token", vec![("name", "A"), ("csrf", "00")], vec![]),
        (
            "another session's token",
            vec![("name", "A"), ("csrf", &bobs_token)],
            vec![],
        ),
        (
            "another origin",
            vec![("name", "A"), ("csrf", &token)],
            vec![("origin", "https://evil.example")],
        ),
        (
            "a cross-site fetch",
            vec![("name", "A"), ("csrf", &token)],
            vec![("sec-fetch-site", "cross-site")],
        ),
    ];
    for (what, fields, headers) in refused {
        let r = ann.post_with(&create, &fields, &headers);
        assert_eq!(r.status, 403, "{what}: {}", r.body);
        assert!(r.body.contains("nothing was changed"), "{what}");
    }
    assert!(ann.get(&home).body.contains("This folder is empty."));

    // With the token, from this site: done, audited as the web client's.
    let r = ann.post(&create, &[("name", "Reports"), ("csrf", &token)]);
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some(home.as_str()));
    let page = ann.get(&home).body;
    assert!(page.contains(">Reports</a>"), "{page}");
    let audit = s.audit();
    let created = audit_records(&audit, "FolderCreated", WEB_CLIENT, "");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["path"], "Reports");

    // Rename and delete, and the name rules of every protocol.
    let link = page
        .split(r#"class="folder-link" href="/web/folders/"#)
        .nth(1)
        .unwrap();
    let reports: i64 = link[..link.find('"').unwrap()].parse().unwrap();
    let renamed = ann.post(
        &format!("/web/folders/{reports}/rename"),
        &[("name", "Quarterly"), ("csrf", &token), ("back", &home)],
    );
    assert_eq!(renamed.status, 303);
    assert!(ann.get(&home).body.contains(">Quarterly</a>"));
    for bad in ["a/b", "..", "x\u{202e}y", "", &"n".repeat(256)] {
        let r = ann.post(&create, &[("name", bad), ("csrf", &token)]);
        assert_eq!(r.status, 400, "{bad:?}: {}", r.body);
    }
    let dup = ann.post(&create, &[("name", "quarterly"), ("csrf", &token)]);
    assert_eq!(dup.status, 409, "{}", dup.body);
    // A `back` that leaves the web client is not followed.
    let deleted = ann.post(
        &format!("/web/folders/{reports}/delete"),
        &[("csrf", &token), ("back", "https://evil.example/")],
    );
    assert_eq!(deleted.status, 303);
    assert_eq!(deleted.location.as_deref(), Some("/"));
    assert!(ann.get(&home).body.contains("This folder is empty."));

    // A form that is not ours is a clear refusal, not a 500.
    let garbage = ann.post_with(&create, &[], &[("content-type", "application/json")]);
    assert!(
        garbage.status == 400 || garbage.status == 403,
        "{}",
        garbage.status
    );
}

#[test]
fn hostile_names_are_shown_as_text() {
    let s = Server::start(Backend::Sqlite);
    let (mut ann, home) = ann_signed_in(&s);
    let token = ann.csrf(&home);
    let api = Api::new(&s, "ann", "ann-password-1");
    let names = [
        "<img src=x onerror=alert(1)>",
        "\"><svg onload=alert(2)>",
        "javascript:alert(3)",
        "'; alert(4); '",
        "<iframe srcdoc=alert(5)>",
    ];
    for name in names {
        let r = ann.post(
            &format!("{home}/new-folder"),
            &[("name", name), ("csrf", &token)],
        );
        assert_eq!(r.status, 303, "{name}");
        let (status, _) = s.put_file(
            &api.session,
            folder_id(&home),
            &format!("{name}.txt"),
            "",
            b"x",
        );
        assert_eq!(status, 200, "{name}");
    }
    let page = ann.get(&home).body;
    for raw in ["<img", "<svg", "<iframe", "onerror=alert(1)>"] {
        assert!(!page.contains(raw), "{raw} reached the page unescaped");
    }
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("&quot;&gt;&lt;svg onload=alert(2)&gt;"));
    assert!(!page.contains("href=\"javascript:"));
    // A right-to-left override is refused as a name everywhere, here too.
    let r = ann.post(
        &format!("{home}/new-folder"),
        &[("name", "invoice\u{202e}fdp.exe"), ("csrf", &token)],
    );
    assert_eq!(r.status, 400);
}

#[test]
fn another_users_folders_and_files_read_like_missing_ones() {
    let s = Server::start(Backend::Sqlite);
    let (mut ann, _) = ann_signed_in(&s);
    let token = ann.csrf("/web/folders/1");
    s.add_user("bob", "member", "bob-password-1");
    let bob = Api::new(&s, "bob", "bob-password-1");
    let bob_home = bob.home();
    let (_, file) = s.put_file(&bob.session, bob_home, "secret.txt", "", b"bob's");
    let bob_file = file["FileID"].as_i64().unwrap();

    let missing_folder = ann.get("/web/folders/987654321");
    assert_eq!(missing_folder.status, 404);
    let other_folder = ann.get(&format!("/web/folders/{bob_home}"));
    assert_eq!(other_folder.status, 404);
    assert_eq!(other_folder.body, missing_folder.body);
    assert_eq!(ann.get("/web/folders/not-a-number").status, 404);

    let missing_file = ann.get("/web/files/987654321/download");
    let other_file = ann.get(&format!("/web/files/{bob_file}/download"));
    assert_eq!(missing_file.status, 404);
    assert_eq!(
        (other_file.status, other_file.body),
        (404, missing_file.body)
    );
    for action in ["rename", "delete"] {
        let r = ann.post(
            &format!("/web/files/{bob_file}/{action}"),
            &[("csrf", &token), ("name", "mine.txt")],
        );
        assert_eq!(r.status, 404, "{action}");
    }
    assert_eq!(s.home_files(&bob.session)[0]["Name"], "secret.txt");

    // The navigation folders show only what she may see: not bob's home.
    let homes = ann.get("/web/folders/2").body;
    assert!(
        homes.contains(">ann</a>") && !homes.contains(">bob</a>"),
        "{homes}"
    );
}

#[test]
fn what_the_bits_refuse_is_not_offered() {
    let s = Server::start(Backend::Sqlite);
    let ann_id = s.add_user("ann", "member", "ann-password-1");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let team = admin.create(SHARED_ROOT, "Team");
    let (_, file) = s.put_file(&admin.session, team, "plan.txt", "", b"plan");
    assert!(file["FileID"].is_i64());
    let (status, _) = admin.grant(team, json!([{"Permission": 3, "UserID": ann_id}]));
    assert_eq!(status, 200);
    let mut ann = Browser::new(&s);
    ann.sign_in("ann", "ann-password-1");
    let page = ann.get(&format!("/web/folders/{team}")).body;
    assert!(page.contains("plan.txt"), "{page}");
    assert!(!page.contains("New folder"));
    assert!(!page.contains("row-actions"));
    assert!(
        !page.contains("/download"),
        "Show and Read only: no download link"
    );
    // Breadcrumbs lead back through the navigation folders.
    assert!(
        page.contains(r#"<a href="/web/folders/3">Shared</a>"#),
        "{page}"
    );

    // With every bit: everything is offered.
    let (status, _) = admin.grant(team, json!([{"Permission": 255, "UserID": ann_id}]));
    assert_eq!(status, 200);
    let page = ann.get(&format!("/web/folders/{team}")).body;
    for offered in [
        "New folder",
        "row-actions",
        "/download",
        "/rename",
        "/delete",
    ] {
        assert!(page.contains(offered), "{offered}");
    }
}

on_both_backends!(a_large_folder_pages_and_sorts);

fn a_large_folder_pages_and_sorts(backend: Backend) {
    let s = Server::start(backend);
    let (mut ann, home) = ann_signed_in(&s);
    let api = Api::new(&s, "ann", "ann-password-1");
    let folder = folder_id(&home);
    for i in 0..250 {
        let body = vec![b'x'; (i * 7) % 1000];
        let (status, _) = s.put_file(&api.session, folder, &format!("f{i:03}.bin"), "", &body);
        assert_eq!(status, 200);
    }
    let rows = |page: &str| page.matches(r#"<tr class="file">"#).count();
    let link = |page: &str, rel: &str| -> String {
        let at = page
            .find(&format!(r#"<a rel="{rel}" href=""#))
            .unwrap_or_else(|| panic!("no {rel} link"));
        let rest = &page[at + 16 + rel.len()..];
        rest[..rest.find('"').unwrap()].replace("&amp;", "&")
    };
    let first = ann.get(&home).body;
    assert_eq!(rows(&first), 100);
    assert!(
        first.contains("100 files shown of 250 in this folder"),
        "{first}"
    );
    assert!(first.contains(r#"rel="next""#) && !first.contains(r#"rel="prev""#));
    assert!(first.find("f000.bin").unwrap() < first.find("f099.bin").unwrap());
    // Next, next: the last 50; then back.
    let second = ann.get(&link(&first, "next")).body;
    assert!(second.contains("f100.bin") && !second.contains("f099.bin"));
    let third = ann.get(&link(&second, "next")).body;
    assert_eq!(rows(&third), 50);
    assert!(third.contains("f249.bin") && !third.contains(r#"rel="next""#));
    let back = ann.get(&link(&third, "prev")).body;
    assert_eq!(rows(&back), 100);
    assert!(back.contains("f100.bin") && back.contains("f199.bin"));
    let back_to_first = ann.get(&link(&back, "prev")).body;
    assert!(back_to_first.contains("f000.bin") && !back_to_first.contains(r#"rel="prev""#));

    let by_size = ann.get(&format!("{home}?sort=size&dir=desc")).body;
    assert!(by_size.contains(r#"aria-sort="descending""#));
    let first_bytes = by_size.split("data-bytes=\"").nth(1).unwrap();
    let largest = (0..250).map(|i| (i * 7) % 1000).max().unwrap();
    assert!(
        first_bytes.starts_with(&format!("{largest}\"")),
        "{first_bytes}"
    );
    let next_by_size = ann.get(&link(&by_size, "next")).body;
    let sizes = |page: &str| -> Vec<i64> {
        page.split("data-bytes=\"")
            .skip(1)
            .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
            .collect()
    };
    let (a, b) = (sizes(&by_size), sizes(&next_by_size));
    assert!(
        a.last().unwrap() >= b.first().unwrap(),
        "pages continue the order"
    );
    let by_time = ann.get(&format!("{home}?sort=modified&dir=desc")).body;
    assert!(by_time.find("f249.bin").unwrap() < by_time.find("f248.bin").unwrap());

    // A cursor from another folder (here another user's) is not a probe: the first page.
    s.add_user("bob", "member", "bob-password-1");
    let bob = Api::new(&s, "bob", "bob-password-1");
    let (_, secret) = s.put_file(&bob.session, bob.home(), "m-secret.txt", "", b"s");
    let secret = secret["FileID"].as_i64().unwrap();
    for q in [
        format!("?after={secret}"),
        format!("?before={secret}"),
        "?after=999999".into(),
    ] {
        let page = ann.get(&format!("{home}{q}")).body;
        assert!(
            page.contains("f000.bin") && !page.contains(r#"rel="prev""#),
            "{q}"
        );
    }

    // Odd queries are refused or read sensibly, never a 500.
    for q in ["?sort=nonsense", "?dir=sideways", "?after=-5", "?page=3"] {
        assert_eq!(ann.get(&format!("{home}{q}")).status, 200, "{q}");
    }
    assert_eq!(ann.get(&format!("{home}?after=abc")).status, 400);
}

/// More subfolders than a page shows: the first page shows 500 and the files, the next page
/// the rest of the folders. Before, every page read and showed every subfolder.
#[test]
fn many_subfolders_page_too() {
    let s = Server::start(Backend::Sqlite);
    let (mut ann, home) = ann_signed_in(&s);
    let api = Api::new(&s, "ann", "ann-password-1");
    let folder = folder_id(&home);
    for i in 0..520 {
        api.create(folder, &format!("d{i:03}"));
    }
    assert_eq!(s.put_file(&api.session, folder, "z.txt", "", b"z").0, 200);
    let folders = |page: &str| page.matches(r#"<tr class="folder">"#).count();
    let first = ann.get(&home).body;
    assert_eq!(folders(&first), 500);
    assert!(first.contains(">d499<") && !first.contains(">d500<"));
    assert!(first.contains("z.txt") && first.contains("500 folders shown"));
    let at = first
        .find(r#"<a rel="next" href=""#)
        .expect("a link to more folders");
    let rest = &first[at + 20..];
    let next = rest[..rest.find('"').unwrap()].replace("&amp;", "&");
    assert!(next.ends_with("folders_after=d499"), "{next}");
    let second = ann.get(&next).body;
    assert_eq!(folders(&second), 20);
    assert!(second.contains(">d500<") && second.contains(">d519<"));
    assert!(!second.contains("z.txt") && !second.contains(r#"rel="next""#));
    assert!(second.contains("First page"));
    // Any name is only a place in the order.
    for q in ["zzz", "%00", "..%2F..", "%E2%80%AE", &"a".repeat(5000)] {
        let page = ann.get(&format!("{home}?folders_after={q}"));
        assert_eq!(page.status, 200, "{q}");
    }
}

#[test]
fn a_download_is_an_attachment_never_a_page_of_this_origin() {
    let s = Server::start(Backend::Sqlite);
    let (mut ann, home) = ann_signed_in(&s);
    let api = Api::new(&s, "ann", "ann-password-1");
    let html = b"<html><script>alert(document.cookie)</script></html>";
    let (_, file) = s.put_file(&api.session, folder_id(&home), "page.html", "", html);
    let id = file["FileID"].as_i64().unwrap();
    let r = ann.get(&format!("/web/files/{id}/download"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_bytes(), html);
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert!(
        r.header("content-disposition")
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r.header("content-security-policy").is_some());
    let audit = s.audit();
    let downloads = audit_records(&audit, "FileDownloaded", WEB_CLIENT, "");
    assert_eq!(downloads.len(), 1, "{audit:?}");

    // Signed out, the link leads to sign-in, and back.
    let mut stranger = Browser::new(&s);
    let r = stranger.get(&format!("/web/files/{id}/download"));
    assert_eq!(r.status, 303);
    assert_eq!(r.location, Some(format!("/?next=/web/files/{id}/download")));
    let back = stranger.post(
        "/web/signin",
        &[
            ("username", "ann"),
            ("password", "ann-password-1"),
            ("next", &format!("/web/files/{id}/download")),
        ],
    );
    assert_eq!(back.location, Some(format!("/web/files/{id}/download")));
}
