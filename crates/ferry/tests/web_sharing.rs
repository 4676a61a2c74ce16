//! Sharing from the web client (issue 17): "Request files" makes an upload link and "Share" a
//! download link, both only with the Distribute bit; a link opens the browser tools' page from
//! any address until it ends, outlives the web session that made it, is listed with its end,
//! and once revoked is refused exactly as a token that never worked. A link is a distribution:
//! it stops working when its maker loses Distribute on what it opens (before, it worked on for
//! up to 90 days). An upload link's uploads are in `link_uploads.rs`.

#[path = "folders/api.rs"]
mod api;
mod common;

use api::{Api, SHARED_ROOT};
use common::web::Browser;
use common::{ADMIN, ADMIN_PASSWORD, Server, audit_records};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(
    links_open_the_tools_pages_until_revoked,
    links_end_when_their_maker_loses_distribute
);

const WEB_CLIENT: i64 = 5;

fn with_tools(backend: Backend) -> Server {
    Server::start_with(backend, common::TOOLS)
}

/// The link on a "Your link" page, as a path of this server.
fn link_on(page: &str, base: &str) -> String {
    let at = page
        .find(r#"id="link" class="link-field" readonly value=""#)
        .expect(page);
    let rest = &page[at + 45..];
    let url = rest[..rest.find('"').unwrap()].replace("&amp;", "&");
    assert!(url.starts_with(base), "{url}");
    url.trim_start_matches(base).to_string()
}

fn links_open_the_tools_pages_until_revoked(backend: Backend) {
    let s = with_tools(backend);
    s.add_user("ann", "member", "ann-password-1");
    let mut ann = Browser::new(&s);
    let home = ann.sign_in("ann", "ann-password-1").location.unwrap();
    let api = Api::new(&s, "ann", "ann-password-1");
    let folder: i64 = home.rsplit('/').next().unwrap().parse().unwrap();
    let (_, file) = s.put_file(&api.session, folder, "report.pdf", "", b"%PDF");
    let file = file["FileID"].as_i64().unwrap();
    let page = ann.get(&home).body;
    assert!(page.contains("Request files") && page.contains("Make download link"));
    let token = ann.csrf(&home);

    // An upload link, for a recipient, for 7 days.
    let made = ann.post(
        &format!("{home}/request-link"),
        &[
            ("csrf", &token),
            ("days", "7"),
            ("email", "client@example.com"),
        ],
    );
    assert_eq!(made.status, 200, "{}", made.body);
    assert!(made.body.contains("client@example.com"));
    let upload_link = link_on(&made.body, &s.base);
    assert!(
        upload_link.starts_with("/tools/upload?token="),
        "{upload_link}"
    );

    // A download link for the ticked file.
    let shared = ann.post(
        &format!("{home}/selection"),
        &[
            ("csrf", &token),
            ("action", "share"),
            ("item", &format!("f:{file}")),
            ("days", "1"),
            ("email", ""),
        ],
    );
    assert_eq!(shared.status, 200, "{}", shared.body);
    let download_link = link_on(&shared.body, &s.base);

    // Signing out does not end them: each has its own session. Anyone may open them.
    let out_token = ann.csrf(&home);
    ann.post("/web/signout", &[("csrf", &out_token)]);
    let (status, upload_page) = s.get(&upload_link);
    assert_eq!(status, 200, "{upload_page}");
    assert!(upload_page.contains("data-grant="));
    let (status, download_page) = s.get(&download_link);
    assert_eq!(status, 200);
    assert!(download_page.contains("report.pdf"), "{download_page}");
    // Opened twice: a link is not single-use.
    assert_eq!(s.get(&download_link).0, 200);

    // Listed; revoked; then refused exactly as a token that never worked.
    ann.sign_in("ann", "ann-password-1");
    let links = ann.get("/web/links").body;
    assert_eq!(links.matches(">active<").count(), 2, "{links}");
    let at = links.find("/web/links/").unwrap();
    let id: String = links[at + 11..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let token = ann.csrf("/web/links");
    let r = ann.post(&format!("/web/links/{id}/revoke"), &[("csrf", &token)]);
    assert_eq!(r.status, 303);
    let links = ann.get("/web/links").body;
    assert_eq!(links.matches(">active<").count(), 1);
    assert_eq!(links.matches(">revoked<").count(), 1);
    // The newest link (listed first) was the download link: it is refused now, exactly as
    // a token that never worked; the upload link still works.
    let garbage = s.get("/tools/download?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let revoked = s.get(&download_link);
    assert_ne!(revoked.0, 200);
    assert_eq!(
        revoked, garbage,
        "a revoked link reads as any refused token"
    );
    assert_eq!(s.get(&upload_link).0, 200);
    let audit = s.audit();
    assert_eq!(
        audit_records(&audit, "LinkCreated", WEB_CLIENT, "").len(),
        2
    );
    assert_eq!(
        audit_records(&audit, "LinkRevoked", WEB_CLIENT, "").len(),
        1
    );
    assert!(!audit_records(&audit, "ToolOpened", 1, "").is_empty());
}

#[test]
fn links_need_distribute_and_refuse_bad_input() {
    let s = with_tools(Backend::Sqlite);
    let ann_id = s.add_user("ann", "member", "ann-password-1");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let team = admin.create(SHARED_ROOT, "Team");
    let (_, f) = s.put_file(&admin.session, team, "plan.txt", "", b"plan");
    let f = f["FileID"].as_i64().unwrap();
    // Everything but Distribute.
    let (status, _) = admin.grant(team, json!([{"Permission": 255 - 16, "UserID": ann_id}]));
    assert_eq!(status, 200);
    let mut ann = Browser::new(&s);
    ann.sign_in("ann", "ann-password-1");
    let page_path = format!("/web/folders/{team}");
    let page = ann.get(&page_path).body;
    assert!(!page.contains("Request files") && !page.contains("Make download link"));
    let token = ann.csrf(&page_path);
    let r = ann.post(
        &format!("{page_path}/request-link"),
        &[("csrf", &token), ("days", "7")],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = ann.post(
        &format!("{page_path}/selection"),
        &[
            ("csrf", &token),
            ("action", "share"),
            ("days", "7"),
            ("item", &format!("f:{f}")),
        ],
    );
    assert_eq!(r.status, 403);

    // With Distribute: bad inputs are refused, nothing made.
    let (status, _) = admin.grant(team, json!([{"Permission": 255, "UserID": ann_id}]));
    assert_eq!(status, 200);
    for (fields, why) in [
        (vec![("days", "5")], "not a choice"),
        (vec![("days", "-1")], "negative"),
        (
            vec![("days", "7"), ("email", "not an address")],
            "bad e-mail",
        ),
        (vec![("days", "7"), ("email", "a@b.c\u{202e}")], "bidi"),
    ] {
        let mut f = fields.clone();
        f.push(("csrf", &token));
        let r = ann.post(&format!("{page_path}/request-link"), &f);
        assert_eq!(r.status, 400, "{why}: {}", r.body);
    }
    let r = ann.post(
        &format!("{page_path}/selection"),
        &[
            ("csrf", &token),
            ("action", "share"),
            ("days", "7"),
            ("item", &format!("d:{team}")),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(ann.get("/web/links").body.contains("not shared a link yet"));
    // Someone else's link reads as none.
    let mut admin_b = Browser::new(&s);
    admin_b.sign_in(ADMIN, ADMIN_PASSWORD);
    let t = admin_b.csrf(&page_path);
    let made = admin_b.post(
        &format!("{page_path}/request-link"),
        &[("csrf", &t), ("days", "1")],
    );
    assert_eq!(made.status, 200);
    let links = admin_b.get("/web/links").body;
    let at = links.find("/web/links/").unwrap();
    let id: String = links[at + 11..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert_eq!(
        ann.post(&format!("/web/links/{id}/revoke"), &[("csrf", &token)])
            .status,
        404
    );
    assert_eq!(
        ann.post(&format!("/web/links/{id}/show"), &[("csrf", &token)])
            .status,
        404
    );
    assert!(admin_b.get("/web/links").body.contains(">active<"));
}

#[test]
fn without_the_tools_key_nothing_is_offered() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("ann", "member", "ann-password-1");
    let mut ann = Browser::new(&s);
    let home = ann.sign_in("ann", "ann-password-1").location.unwrap();
    assert!(!ann.get(&home).body.contains("Request files"));
    let token = ann.csrf(&home);
    let r = ann.post(
        &format!("{home}/request-link"),
        &[("csrf", &token), ("days", "7")],
    );
    assert_eq!(r.status, 403);
    // Refused before anything is stored: no link, no session of its own, no record.
    assert!(ann.get("/web/links").body.contains("not shared a link yet"));
    assert!(audit_records(&s.audit(), "LinkCreated", WEB_CLIENT, "").is_empty());
}

fn links_end_when_their_maker_loses_distribute(backend: Backend) {
    let s = with_tools(backend);
    let ann_id = s.add_user("ann", "member", "ann-password-1");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let team = admin.create(SHARED_ROOT, "Team");
    let (_, f) = s.put_file(&admin.session, team, "plan.txt", "", b"plan");
    let f = f["FileID"].as_i64().unwrap();
    let grant = |bits: i64| {
        let (status, body) = admin.grant(team, json!([{"Permission": bits, "UserID": ann_id}]));
        assert_eq!(status, 200, "{body}");
    };
    grant(1 | 2 | 4 | 8 | 16);
    let mut ann = Browser::new(&s);
    ann.sign_in("ann", "ann-password-1");
    let page_path = format!("/web/folders/{team}");
    let token = ann.csrf(&page_path);
    let made = ann.post(
        &format!("{page_path}/request-link"),
        &[("csrf", &token), ("days", "7")],
    );
    assert_eq!(made.status, 200, "{}", made.body);
    let upload_link = link_on(&made.body, &s.base);
    let shared = ann.post(
        &format!("{page_path}/selection"),
        &[
            ("csrf", &token),
            ("action", "share"),
            ("days", "7"),
            ("item", &format!("f:{f}")),
        ],
    );
    assert_eq!(shared.status, 200, "{}", shared.body);
    let download_link = link_on(&shared.body, &s.base);
    assert_eq!(s.get(&upload_link).0, 200);
    let (status, page) = s.get(&download_link);
    assert_eq!(status, 200);
    // The page's own link to the file, with its grant, works while she holds Distribute.
    let at = page.find("/tools/files/").unwrap();
    let file_link = page[at..page[at..].find('"').unwrap() + at].replace("&amp;", "&");
    assert_eq!(s.get(&file_link).0, 200);

    // Everything but Distribute: both links, and the page already open, are refused as
    // any token that never worked is.
    grant(1 | 2 | 4 | 8);
    let garbage = s.get("/tools/download?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(s.get(&download_link), garbage);
    let garbage = s.get("/tools/upload?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(s.get(&upload_link), garbage);
    assert_ne!(s.get(&file_link).0, 200);
    let refused = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "ToolTokenRefused")
        .filter_map(|r| r["detail"].as_str().map(str::to_string))
        .filter(|d| d.contains("no longer holds Distribute"))
        .count();
    assert_eq!(
        refused, 2,
        "each refused opening is audited with its reason"
    );
    // Given back, the same links work again: they were never revoked.
    grant(1 | 2 | 4 | 8 | 16);
    assert_eq!(s.get(&download_link).0, 200);
    assert_eq!(s.get(&upload_link).0, 200);
}
