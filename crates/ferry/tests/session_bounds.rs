//! One account's live sessions are bounded. `OpenImmutable` makes a new session per call and
//! each lives 48 hours unless closed: before, one user's credentials filled the `sessions`
//! table at the pace of their sign-ins (about 50 a second against the release build, which
//! 400 calls took to 402 rows), and disabling that user walked them all. Now a new immutable
//! sign-in beyond `[sessions] max_per_user` ends the user's least recently used ones (audited),
//! and a user's live shared links stop at 500 (the next refused); `Open` sessions, one per
//! application, and other users' sessions are untouched.

#[path = "folders/api.rs"]
mod api;
mod common;

use api::Api;
use common::web::Browser;
use common::{APP, Server, audit_records, failed_start};
use ferry_testkit::{Backend, on_both_backends};

on_both_backends!(immutable_sign_ins_beyond_the_bound_end_the_least_recently_used);

fn immutable_sign_ins_beyond_the_bound_end_the_least_recently_used(backend: Backend) {
    let s = Server::start_with(backend, "[sessions]\nmax_per_user = 3\n");
    s.add_user("ann", "member", "ann-password-1");
    s.add_user("bob", "member", "bob-password-1");
    let (replaceable, _) = s.open("ann", "ann-password-1", APP);
    let bobs: Vec<String> = (0..3)
        .map(|_| s.open_with("OpenImmutable", "bob", "bob-password-1", APP).0)
        .collect();
    let anns: Vec<String> = (0..5)
        .map(|_| s.open_with("OpenImmutable", "ann", "ann-password-1", APP).0)
        .collect();
    // The two opened first (least recently used: none was used since) ended.
    for (i, session) in anns.iter().enumerate() {
        assert_eq!(s.ends(session), i < 2, "ann's immutable session {i}");
    }
    assert!(s.alive(&replaceable), "the Open session is not counted");
    for session in &bobs {
        assert!(s.alive(session), "another user's sessions are untouched");
    }
    let audit = s.audit();
    let ended = audit_records(&audit, "SessionRevoked", APP, "ended for a new sign-in");
    assert_eq!(ended.len(), 2, "{ended:?}");
    // An ended one stays ended; signing in again keeps the bound.
    let again = s.open_with("OpenImmutable", "ann", "ann-password-1", APP).0;
    assert!(s.alive(&again) && s.ends(&anns[2]) && s.alive(&anns[4]));
}

#[test]
fn a_bound_below_one_stops_the_start() {
    for bad in ["0", "1000001", "-1"] {
        let said = failed_start(&format!("[sessions]\nmax_per_user = {bad}\n"));
        assert!(said.contains("max_per_user"), "{bad}: {said}");
    }
}

#[test]
fn live_links_stop_at_five_hundred_until_one_is_revoked() {
    let s = Server::start_with(Backend::Sqlite, common::TOOLS);
    s.add_user("ann", "member", "ann-password-1");
    let mut ann = Browser::new(&s);
    let home = ann.sign_in("ann", "ann-password-1").location.unwrap();
    let token = ann.csrf(&home);
    let request = |ann: &mut Browser| {
        ann.post(
            &format!("{home}/request-link"),
            &[("csrf", &token), ("days", "1")],
        )
    };
    for i in 0..500 {
        let made = request(&mut ann);
        assert_eq!(made.status, 200, "link {i}: {}", made.body);
    }
    let refused = request(&mut ann);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("at most 500 links live at once"),
        "{}",
        refused.body
    );
    // Nothing was made by the refusal: still 500 listed, all live.
    let listed = ann.get("/web/links").body;
    assert_eq!(listed.matches(">active<").count(), 500);
    // Sign-ins do not count against links, nor links against sign-ins.
    let api = Api::new(&s, "ann", "ann-password-1");
    assert!(s.alive(&api.session));
    let at = listed.find("/web/links/").unwrap();
    let id: String = listed[at + 11..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let revoked = ann.post(&format!("/web/links/{id}/revoke"), &[("csrf", &token)]);
    assert!(revoked.status < 400, "{}", revoked.status);
    assert_eq!(request(&mut ann).status, 200);
}
