//! One upload link reloaded over and over (issue 15): the page keeps its grant instead of
//! filling the node's grant table, so every other tool page keeps working.

mod common;

use common::{APP, Server};
use ferry_testkit::Backend;
use serde_json::json;

const KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

fn grant_in(page: &str) -> String {
    let start = page.find("data-grant=\"").expect("a grant in the page") + 12;
    page[start..start + page[start..].find('"').unwrap()].to_string()
}

#[test]
fn reloading_a_link_reuses_its_grant() {
    let s = Server::start_with(
        Backend::Sqlite,
        &format!("[tools]\nkey = \"{KEY}\"\nversion_1 = false\n"),
    );
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
    // Other links still open, each with its own grant.
    let bea = link("bea");
    let (status, page) = s.get(&bea);
    assert_eq!(status, 200, "{page}");
    assert_ne!(grant_in(&page), first);
    // Page options are part of the page: another limit is another grant.
    let (status, page) = s.get(&format!("{ann}&ThruMaxFileNumber=2"));
    assert_eq!(status, 200, "{page}");
    assert_ne!(grant_in(&page), first);
}
