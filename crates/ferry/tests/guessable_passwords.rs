//! A password a guesser tries first is refused wherever a password is set (the API's
//! `ChangePassword`, `ferry user add` and `ferry user passwd`, the console's user form, which
//! is `add_user` too): the lock-out allows each account and address a few guesses, and those
//! few are these. The refusal says why; the account and its sessions are unchanged.

mod common;

use common::{APP, Server, assert_error};
use ferry_testkit::Backend;
use serde_json::json;

#[test]
fn passwords_guessed_first_are_refused_where_a_password_is_set() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("annabelle", "member", "annabelle-password-1");
    let (session, _) = s.open("annabelle", "annabelle-password-1", APP);
    for new in [
        "Password1!",
        "Summer2026!",
        "annabelle99",
        "12345678",
        "qwertyuiop",
        "zzzzzzzzz",
    ] {
        let answer = s.call(
            "ChangePassword",
            json!({"sessionID": session, "oldPassword": "annabelle-password-1", "newPassword": new}),
        );
        assert_error(&answer, 400, 110);
        let said = answer.1["Message"].as_str().unwrap();
        assert!(said.contains("too easy to guess"), "{new}: {said}");
        assert!(
            !said.contains(new),
            "the message never repeats the password: {said}"
        );
    }
    assert!(s.alive(&session), "a refused change ends nothing");
    s.open_with("OpenImmutable", "annabelle", "annabelle-password-1", APP);

    let added = s.ferry(
        &[
            "user",
            "add",
            "carl",
            "--role",
            "member",
            "--password-stdin",
        ],
        Some("Welcome123\n"),
    );
    assert!(!added.status.success());
    assert!(String::from_utf8_lossy(&added.stderr).contains("too easy to guess"));
    let set = s.ferry(
        &["user", "passwd", "annabelle", "--password-stdin"],
        Some("annabelle2026\n"),
    );
    assert!(!set.status.success());
    assert!(String::from_utf8_lossy(&set.stderr).contains("it is the user name"));

    // A passphrase, or a password of the usual kind, is taken.
    let answer = s.call(
        "ChangePassword",
        json!({"sessionID": session, "oldPassword": "annabelle-password-1",
               "newPassword": "summer in the valley"}),
    );
    assert_eq!(answer.0, 204, "{}", answer.1);
}
