//! One upload link reloaded over and over (issue 15): the page keeps its grant instead of
//! filling the node's grant table, so every other tool page keeps working, and its opens are
//! one audit record a minute with a count rather than one each. And one IPv6 host
//! opening links from the many addresses of its /64 holds no more grants than one address.

mod common;

use common::web::Browser;
use common::{APP, Server};
use ferry_testkit::Backend;
use serde_json::json;

use common::TEST_KEY as KEY;

fn grant_in(page: &str) -> String {
    let start = page.find("data-grant=\"").expect("a grant in the page") + 12;
    page[start..start + page[start..].find('"').unwrap()].to_string()
}

#[test]
fn reloading_a_link_reuses_its_grant() {
    let s = Server::start_with(Backend::Sqlite, common::TOOLS);
    s.add_user("ann", "member", "ann-password");
    s.add_user("bea", "member", "bea-password");
    let link = |user: &str| {
        let (session, _) = s.open_with("OpenImmutable", user, &format!("{user}-password"), APP);
        let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
        common::upload_link(&s, &session, home["FolderID"].as_i64().unwrap())
    };
    let ann = link("ann");
    let (status, page) = s.get(&ann);
    assert_eq!(status, 200, "{page}");
    let first = grant_in(&page);
    for _ in 0..2_000 {
        let (status, page) = s.get(&ann);
        assert_eq!(status, 200);
        assert_eq!(
            grant_in(&page),
            first,
            "a reload gets the page's grant back"
        );
    }
    // 2,001 opens of one page are one record: reloads are counted, written once a minute
    // (before, each wrote its own, so whoever held a link wrote records at will).
    let opened = |audit: &[serde_json::Value]| {
        audit
            .iter()
            .filter(|r| r["operation"] == "ToolOpened")
            .count()
    };
    assert_eq!(opened(&s.audit()), 1);
    // Other links still open, each with its own grant.
    let bea = link("bea");
    let (status, page) = s.get(&bea);
    assert_eq!(status, 200, "{page}");
    assert_ne!(grant_in(&page), first);
    // Page options are part of the page: another limit is another grant.
    let (status, page) = s.get(&format!("{ann}&ThruMaxFileNumber=2"));
    assert_eq!(status, 200, "{page}");
    assert_ne!(grant_in(&page), first);
    // Bea's link is another token: its own record. Ann's page with other options is the same
    // token from the same network: counted with its reloads.
    assert_eq!(opened(&s.audit()), 2);
}

/// A link that takes many files (a shared drop box) is not refused for the files it already
/// took: only uploads still in progress count toward the 1,000 a token may run at once.
#[test]
fn completed_uploads_do_not_count_toward_the_uploads_in_progress() {
    use base64::Engine;
    let s = Server::start_with(Backend::Sqlite, common::TOOLS);
    s.add_user("ann", "member", "ann-password");
    let (session, _) = s.open_with("OpenImmutable", "ann", "ann-password", APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let link = common::upload_link(&s, &session, home["FolderID"].as_i64().unwrap());
    let (status, page) = s.get(&link);
    assert_eq!(status, 200, "{page}");
    let grant = grant_in(&page);
    let create = |name: &str, length: &str| {
        let meta = format!(
            "filename {}",
            base64::engine::general_purpose::STANDARD.encode(name)
        );
        s.post_with(
            "/tools/tus",
            b"",
            &[
                ("Tus-Resumable", "1.0.0"),
                ("Ferry-Grant", &grant),
                ("Upload-Length", length),
                ("Upload-Metadata", &meta),
            ],
        )
    };
    // 1,100 files stored through the link (an empty upload is complete when created).
    for i in 0..1_100 {
        let (status, body) = create(&format!("done-{i}.txt"), "0");
        assert_eq!(status, 201, "completed upload {i}: {body}");
    }
    // Uploads left in progress still count: the 1,001st is refused with error 120.
    for i in 0..1_000 {
        let (status, body) = create(&format!("open-{i}.txt"), "1");
        assert_eq!(status, 201, "upload in progress {i}: {body}");
    }
    let (status, body) = create("one-too-many.txt", "1");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("120"), "{body}");
    let mut stored = 0;
    for skip in [0, 1_000] {
        let (status, files) = s.call(
            "GetFiles",
            json!({"sessionID": session, "folderID": home["FolderID"], "skip": skip, "take": 1_000}),
        );
        assert_eq!(status, 200, "{files}");
        stored += files.as_array().unwrap().len();
    }
    assert_eq!(stored, 1_100, "only the completed uploads are files");
}

/// Two links opened from 1,200 addresses of one IPv6 /64 (behind a trusted proxy): the /64
/// holds at most 1,000 grants, as one IPv4 address does, so the first page's grant gave way
/// (its page must be reloaded). Before, each address was counted apart: one host holding a
/// hundred links (a member makes up to 500) took every grant of the node, and every tool page
/// then answered 503.
#[test]
fn one_ipv6_network_holds_the_grants_of_one_address() {
    use base64::Engine;
    let s = Server::start_with(
        Backend::Sqlite,
        &format!(
            "trusted_proxies = [\"127.0.0.1\"]\n[tools]\nkey = \"{KEY}\"\nversion_1 = false\n"
        ),
    );
    s.add_user("ann", "member", "ann-password-1");
    let mut ann = Browser::new(&s);
    let home = ann.sign_in("ann", "ann-password-1").location.unwrap();
    let links = [ann.request_link(&home), ann.request_link(&home)];
    let open = |link: &str, from: &str| {
        let (status, page) = s.get_with(link, &[("X-Forwarded-For", from)]);
        assert_eq!(status, 200, "{from}: {page}");
        grant_in(&page)
    };
    let host = |i: usize| format!("2001:db8:1:2::{i:x}");
    // Whether a grant still lets its page make an (empty, so at once complete) upload.
    let usable = |grant: &str, from: &str, name: &str| {
        let meta = format!(
            "filename {}",
            base64::engine::general_purpose::STANDARD.encode(name)
        );
        let (status, body) = s.post_with(
            "/tools/tus",
            b"",
            &[
                ("Tus-Resumable", "1.0.0"),
                ("Ferry-Grant", grant),
                ("Upload-Length", "0"),
                ("Upload-Metadata", &meta),
                ("X-Forwarded-For", from),
            ],
        );
        assert!(status == 201 || status == 403, "{status}: {body}");
        status == 201
    };
    let first = open(&links[0], &host(0));
    assert!(usable(&first, &host(0), "a.txt"));
    let elsewhere = "2001:db8:9:9::1";
    let other = open(&links[0], elsewhere);
    for i in 1..600 {
        open(&links[0], &host(i));
    }
    for i in 600..1_200 {
        open(&links[1], &host(i));
    }
    assert!(
        !usable(&first, &host(0), "b.txt"),
        "the network's oldest grant gave way to its newer pages"
    );
    assert!(
        usable(&other, elsewhere, "c.txt"),
        "another network's grant is kept"
    );
    let again = open(&links[0], &host(0));
    assert!(usable(&again, &host(0), "d.txt"), "a reloaded page works");
}
