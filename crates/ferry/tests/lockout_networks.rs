//! Which client the address lock-out counts. An IPv6 client counts as its /64. One host is given a whole /64 (a
//! cloud machine, a home line) and can take a new address for every guess: counted per
//! address, spraying one password over many accounts from 2001:db8:7:7::1, ::2, ::3, … never
//! reached `address_threshold`, and every account stayed under its own threshold. Now the
//! sixth guess from that /64 is refused whatever address it comes from; the neighbouring /64
//! and the account's own counts are untouched. And behind a trusted proxy, a client cannot
//! name its own address past an entry the proxy wrote that is no address.

mod common;

use common::{APP, Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(
    guesses_from_one_ipv6_64_are_counted_together,
    an_owner_on_a_new_temporary_ipv6_address_is_still_at_home
);

/// An address the account signed in from keeps its own budget while others guess at the
/// account from everywhere. IPv6 hosts take a new temporary address each day (RFC 8981), so
/// before, the owner's next day's address was a stranger's and the guessers locked the owner
/// out too. Known addresses are now remembered by their /64.
fn an_owner_on_a_new_temporary_ipv6_address_is_still_at_home(backend: Backend) {
    let s = Server::start_with(
        backend,
        "trusted_proxies = [\"127.0.0.1\"]\n[lockout]\naccount_total_threshold = 3\n",
    );
    s.add_user("ann", "member", "ann-password-1");
    let open = |from: &str, password: &str| {
        s.call_from(
            from,
            "Open",
            json!({"userName": "ann", "password": password, "applicationID": APP}),
        )
    };
    assert_eq!(open("2001:db8:5:5::a1", "ann-password-1").0, 200);
    // Guessers spread over the world lock the account for addresses it never used.
    for n in 1..=3 {
        assert_error(&open(&format!("198.51.100.{n}"), "guess"), 401, 102);
    }
    assert_error(&open("203.0.113.50", "ann-password-1"), 429, 103);
    // The owner, the next day, from a new address of the same home network.
    let (status, body) = open("2001:db8:5:5:77::b2", "ann-password-1");
    assert_eq!(status, 200, "{body}");
}

/// Behind a trusted proxy that writes an entry that is no address (`unknown`), the entries
/// before it are the client's own words: they were taken as its address (a guesser named a
/// new one for every guess, and the audit recorded it). Now the walk stops there.
#[test]
fn a_client_cannot_name_its_address_past_an_unreadable_proxy_entry() {
    let s = Server::start_with(Backend::Sqlite, "trusted_proxies = [\"127.0.0.1\"]\n");
    let body = json!({"userName": "nobody", "password": "x", "applicationID": APP});
    for forwarded in ["203.0.113.9, unknown", "203.0.113.9, [2001:db8::7]:443"] {
        let (status, _) = s.post_with(
            "/api/v1/Open",
            body.to_string().as_bytes(),
            &[("x-forwarded-for", forwarded)],
        );
        assert_eq!(status, 401);
    }
    let from: Vec<String> = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "SignInFailed")
        .map(|r| r["client_ip"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(from, ["127.0.0.1", "2001:db8::7"]);
}

fn guesses_from_one_ipv6_64_are_counted_together(backend: Backend) {
    // The clients' addresses come through a proxy Ferry trusts, as behind a load balancer.
    let s = Server::start_with(
        backend,
        "trusted_proxies = [\"127.0.0.1\"]\n[lockout]\naddress_threshold = 5\n",
    );
    s.add_user("ann", "member", "ann-password-1");
    let guess = |from: &str, user: &str, password: &str| {
        s.call_from(
            from,
            "Open",
            json!({"userName": user, "password": password, "applicationID": APP}),
        )
    };
    // One password sprayed over five accounts, each guess from a new address of the /64.
    for n in 1..=5 {
        assert_error(
            &guess(
                &format!("2001:db8:7:7::{n}"),
                &format!("user{n}"),
                "Summer2026!",
            ),
            401,
            102,
        );
    }
    // The sixth, from yet another address of it, is refused before its password is looked at,
    // even the right one of a real account.
    assert_error(
        &guess("2001:db8:7:7:ffff::6", "ann", "ann-password-1"),
        429,
        103,
    );
    // The next /64 is another client.
    let (status, body) = guess("2001:db8:7:8::1", "ann", "ann-password-1");
    assert_eq!(status, 200, "{body}");
    // IPv4 addresses are each their own.
    assert_error(&guess("198.51.100.7", "user9", "Summer2026!"), 401, 102);
    let (status, body) = guess("198.51.100.8", "ann", "ann-password-1");
    assert_eq!(status, 200, "{body}");
}
