//! Guesses sent all at once get no more tries than guesses sent one after another. Every
//! attempt asked the lock-out before it waited for a password-hashing slot, and the failures
//! were counted after the hash: 60 wrong passwords sent together from one address were all
//! checked (60 × 401, then the lock-out), against a threshold of 5. Now the lock-out is asked
//! again once the attempt holds its slot, and a failure is counted before the slot goes back,
//! so only the attempts hashing at the same moment can pass together: at most
//! `available_parallelism` - 1 more than the threshold, on one node.
//!
//! Forged browser-tool tokens and single sign-on tickets take microseconds to refuse, and
//! they counted toward the address lock-out the same way: 48 sent at once from one address
//! were each checked and counted against a threshold of 10. Now an address's checks take
//! turns, from the lock-out's check to the failure's count: exactly the threshold is checked.

mod common;

use common::{APP, Server, answered, assert_error, at_once, audit_records};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    wrong_passwords_sent_at_once_are_stopped_at_the_threshold,
    wrong_current_passwords_sent_at_once_are_stopped_at_the_threshold,
    forged_tokens_and_tickets_sent_at_once_are_stopped_at_the_threshold
);

/// Guesses sent together, and the threshold they were allowed past.
const BURST: usize = 48;
const THRESHOLD: usize = 5;

/// Sends `BURST` calls of `method` with `body(i)` at once; the answers.
fn burst(s: &Server, method: &str, body: impl Fn(usize) -> Value + Sync) -> Vec<(u16, Value)> {
    at_once(BURST, |i| s.call(method, body(i)))
}

/// Checks a burst's answers: at most the threshold plus the hashes that may run at once were
/// judged (401, code 102), every other attempt locked out (429, code 103).
fn assert_stopped(answers: &[(u16, Value)]) {
    let (judged, locked) = (answered(answers, 401, 102), answered(answers, 429, 103));
    assert_eq!(judged + locked, BURST, "{answers:?}");
    let at_once = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(
        (THRESHOLD..=THRESHOLD + at_once - 1).contains(&judged),
        "{judged} of {BURST} guesses were judged against a threshold of {THRESHOLD}"
    );
}

fn wrong_passwords_sent_at_once_are_stopped_at_the_threshold(backend: Backend) {
    let s = Server::start_with(backend, "[lockout]\naddress_threshold = 1000\n");
    s.add_user("ann", "member", "ann-password-1");
    let answers = burst(
        &s,
        "Open",
        |i| json!({"userName": "ann", "password": format!("guess-{i}"), "applicationID": APP}),
    );
    assert_stopped(&answers);
    // The right password is refused as well, until the lock-out runs out.
    assert_error(
        &s.call(
            "Open",
            json!({"userName": "ann", "password": "ann-password-1", "applicationID": APP}),
        ),
        429,
        103,
    );
    let counted = audit_records(&s.audit(), "SignInFailed", APP, "wrong password").len();
    assert!(counted < BURST, "{counted} guesses judged");
}

fn wrong_current_passwords_sent_at_once_are_stopped_at_the_threshold(backend: Backend) {
    let s = Server::start_with(backend, "[lockout]\naddress_threshold = 1000\n");
    s.add_user("bob", "member", "bob-password-1");
    // A stolen session guessing the password it would need to change it.
    let (session, _) = s.open("bob", "bob-password-1", APP);
    let answers = burst(&s, "ChangePassword", |i| {
        json!({"sessionID": session, "oldPassword": format!("guess-{i}"),
               "newPassword": "a-new-password-1"})
    });
    assert_stopped(&answers);
    assert_error(
        &s.call(
            "ChangePassword",
            json!({"sessionID": session, "oldPassword": "bob-password-1",
                   "newPassword": "a-new-password-1"}),
        ),
        429,
        103,
    );
}

fn forged_tokens_and_tickets_sent_at_once_are_stopped_at_the_threshold(backend: Backend) {
    let s = Server::start_with(
        backend,
        "trusted_proxies = [\"127.0.0.1\"]\n[lockout]\naddress_threshold = 10\n\
         [tools]\nkey = \"q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=\"\nversion_1 = false\n\
         [sso]\nsite_name = \"Portal\"\npassword = \"portal-shared-secret-1\"\n",
    );
    let pages = at_once(BURST, |i| {
        s.get(&format!("/tools/upload?token=forged{i:04}AAAA")).0
    });
    assert!(pages.iter().all(|&status| status == 403), "{pages:?}");
    // Checked and counted: the first ten. Every later one is refused for the lock-out.
    let checked = |operation: &str, locked: &str| {
        s.audit()
            .into_iter()
            .filter(|r| r["operation"] == operation && r["detail"] != locked)
            .count()
    };
    assert_eq!(checked("ToolTokenRefused", "address locked out"), 10);

    // Tickets, from another address (the tokens locked this one).
    let answers = at_once(BURST, |i| {
        s.call_from(
            "198.51.100.9",
            "OpenWithTicket",
            json!({"ticket": format!("AAAA{}", "B".repeat(40 + i)), "applicationID": APP}),
        )
    });
    for answer in &answers {
        assert_error(answer, 401, 130);
    }
    let forged = s
        .audit()
        .into_iter()
        .filter(|r| {
            r["operation"] == "SignInFailed"
                && r["client_ip"] == "198.51.100.9"
                && r["detail"] != "OpenWithTicket: address locked out"
        })
        .count();
    assert_eq!(forged, 10);
}
