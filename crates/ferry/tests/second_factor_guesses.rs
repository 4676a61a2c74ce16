//! Guessing a second factor (issue 18, and the bursts of 2026-12-06): passcodes guessed with
//! the right password, one by one or sent all at once, and a stolen session guessing the
//! passcode that turns the factor off: each is counted by the lock-out and audited.

mod common;
#[path = "second_factor/enrolment.rs"]
mod enrolment;

use common::{APP, Server, answered, at_once};
use enrolment::{TOTP, enrol, open, passcode};
use ferry_testkit::Backend;
use serde_json::{Value, json};

#[test]
fn guessing_passcodes_is_stopped_by_the_lockout() {
    let s = Server::start_with(Backend::Sqlite, TOTP);
    s.add_user("bo", "member", "bo-password-1");
    let (session, _) = s.open("bo", "bo-password-1", APP);
    let (secret, _) = enrol(&s, &session, "bo-password-1");
    // 1,000 guesses with the right password: the account locks after five, and stays
    // locked for the rest (the right passcode too is then refused).
    let mut codes = std::collections::BTreeMap::new();
    for guess in 0..1000 {
        let (status, body) = open(&s, "bo", "bo-password-1", Some(&format!("{guess:06}")));
        *codes
            .entry((status, body["ErrorCode"].as_i64().unwrap_or(0)))
            .or_insert(0) += 1;
    }
    assert_eq!(
        codes.get(&(429, 103)).copied().unwrap_or(0),
        995,
        "{codes:?}"
    );
    let (status, body) = open(&s, "bo", "bo-password-1", Some(&passcode(&secret, 0)));
    assert_eq!((status, body["ErrorCode"].as_i64()), (429, Some(103)));
}

/// Passcodes sent all at once with the right password: before, all 48 were checked, every
/// one before the first failure was counted (tests/lockout_bursts.rs has the same for
/// passwords); now no more than one after another, but for the hashes that run at once.
#[test]
fn passcodes_sent_at_once_are_stopped_at_the_threshold() {
    let s = Server::start_with(
        Backend::Sqlite,
        &format!("{TOTP}[lockout]\naddress_threshold = 1000\n"),
    );
    s.add_user("di", "member", "di-password-1");
    let (session, _) = s.open("di", "di-password-1", APP);
    enrol(&s, &session, "di-password-1");
    let answers = at_once(48, |guess| {
        open(&s, "di", "di-password-1", Some(&format!("{guess:06}")))
    });
    let judged = answered(&answers, 401, 151);
    let hashing = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(
        (5..=5 + hashing - 1).contains(&judged),
        "{judged} of 48 passcodes judged: {answers:?}"
    );
    assert_eq!(
        judged + answered(&answers, 429, 103),
        answers.len(),
        "{answers:?}"
    );
}

/// A stolen session guessing the passcode that turns the factor off: before, nothing counted
/// or recorded the guesses (a million codes, three right at any moment, fall to minutes of
/// requests). Now they are counted by the lock-out and audited like a sign-in's, sent one by
/// one or all at once.
#[test]
fn guessing_the_passcode_that_turns_the_factor_off_is_counted_and_audited() {
    let s = Server::start_with(
        Backend::Sqlite,
        &format!("{TOTP}[lockout]\naddress_threshold = 1000\n"),
    );
    for (user, burst) in [("ed", false), ("flo", true)] {
        let password = format!("{user}-password-1");
        s.add_user(user, "member", &password);
        let (session, _) = s.open(user, &password, APP);
        let (secret, _) = enrol(&s, &session, &password);
        let right: Vec<String> = (-1..=1).map(|step| passcode(&secret, step)).collect();
        let guesses: Vec<String> = (0..1_000_000)
            .map(|n| format!("{n:06}"))
            .filter(|g| !right.contains(g))
            .take(if burst { 48 } else { 8 })
            .collect();
        let disable = |code: &str| {
            s.call(
                "DisableTotp",
                json!({"sessionID": session, "passcode": code}),
            )
        };
        let answers: Vec<(u16, Value)> = if burst {
            at_once(guesses.len(), |i| disable(&guesses[i]))
        } else {
            guesses.iter().map(|g| disable(g)).collect()
        };
        let (judged, locked) = (answered(&answers, 401, 151), answered(&answers, 429, 103));
        assert_eq!(
            (judged, locked),
            (5, answers.len() - 5),
            "{user}: {answers:?}"
        );
        // The right passcode waits for the lock-out too, and the factor stays on.
        let (status, body) = disable(&passcode(&secret, 0));
        assert_eq!((status, body["ErrorCode"].as_i64()), (429, Some(103)));
        let (_, state) = s.call("GetTotpStatus", json!({"sessionID": session}));
        assert_eq!(state["Enabled"], true, "{state}");
    }
    let refused = s
        .audit()
        .into_iter()
        .filter(|r| {
            r["operation"] == "SecondFactorDisabled"
                && r["status"] == "Failure"
                && r["detail"] == "wrong or reused passcode"
        })
        .count();
    assert_eq!(refused, 10, "five for each user");
}
