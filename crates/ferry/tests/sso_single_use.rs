//! `[sso] single_use`: a ticket opens one session; its second use, by any of the three ticket
//! sign-ins, gets the one ticket refusal, is audited and counted by the address's lock-out.
//! Without it (the spec's behaviour, the default) a ticket works until it expires, so one read
//! from a log or a browser's history after its sign-in opened the account again, and through
//! `OpenWithTicketEx` the account of any e-mail address sent with it.

mod common;
#[path = "sso_tickets/fixture.rs"]
mod fixture;

use common::assert_error;
use ferry_testkit::{Backend, on_both_backends};
use fixture::{admin_session, create_domain_user, issue, start, start_with, with_ticket};
use serde_json::json;

on_both_backends!(a_single_use_ticket_opens_one_session);

fn ticket_ex(s: &common::Server, ticket: &str, email: &str) -> (u16, serde_json::Value) {
    s.call(
        "OpenWithTicketEx",
        json!({"ticket": ticket, "EmailAddress": email, "FirstName": "F", "LastName": "L",
               "applicationID": 1000, "ClientVersion": "portal/1"}),
    )
}

fn a_single_use_ticket_opens_one_session(backend: Backend) {
    let s = start_with(
        backend,
        "single_use = true\n[lockout]\naddress_threshold = 6\n",
    );
    let admin = admin_session(&s);
    create_domain_user(&s, &admin, "CORP\\ann", "ann@example.com");
    create_domain_user(&s, &admin, "CORP\\bob", "bob@example.com");

    let ticket = issue(&s, "CORP\\ann", None);
    let (status, first) = with_ticket(&s, "OpenWithTicket", &ticket);
    assert_eq!(status, 200, "{first}");
    // The same ticket again, by every ticket sign-in: the one refusal, nothing opened.
    let refused = with_ticket(&s, "OpenWithTicket", &ticket);
    assert_error(&refused, 401, 130);
    assert_eq!(with_ticket(&s, "OpenImmutableWithTicket", &ticket), refused);
    assert_eq!(ticket_ex(&s, &ticket, "bob@example.com"), refused);
    let forged = with_ticket(&s, "OpenWithTicket", "AQID");
    assert_eq!(
        forged, refused,
        "a replay is told apart from a forgery by nobody"
    );
    let replays = s
        .audit()
        .into_iter()
        .filter(|r| {
            r["operation"] == "SignInFailed"
                && r["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("ticket used before (single use)"))
        })
        .count();
    assert_eq!(replays, 3);
    // A new ticket for the same user opens a session: each ticket is spent, not the user.
    let (status, body) = ticket_ex(&s, &issue(&s, "CORP\\ann", None), "bob@example.com");
    assert_eq!(status, 200, "{body}");
    assert!(s.alive(first["SessionID"].as_str().unwrap()));

    // Replays count toward the address's lock-out like forged tickets (six here).
    for _ in 0..3 {
        with_ticket(&s, "OpenWithTicket", &ticket);
    }
    // Locked out: even a fresh ticket gets the one answer now, audited as such.
    let fresh = with_ticket(&s, "OpenWithTicket", &issue(&s, "CORP\\ann", None));
    assert_eq!(fresh, refused);
    assert!(
        s.audit().iter().any(|r| r["detail"]
            .as_str()
            .is_some_and(|d| d.contains("address locked out"))),
        "locked out after replays"
    );
}

/// The default keeps the spec's behaviour: a ticket works until it expires.
#[test]
fn without_single_use_a_ticket_works_until_it_expires() {
    let s = start(Backend::Sqlite);
    let admin = admin_session(&s);
    create_domain_user(&s, &admin, "CORP\\ann", "ann@example.com");
    let ticket = issue(&s, "CORP\\ann", None);
    for _ in 0..3 {
        let (status, body) = with_ticket(&s, "OpenWithTicket", &ticket);
        assert_eq!(status, 200, "{body}");
    }
}
