//! What the database keeps of the bearer secrets it checks: their SHA-256, never the secret
//! (migration 0024). Before 2026-12-07 `sessions.id` held every live session ID as issued, a
//! shared link's row its session's ID, and `tool_grants.id` every open tool page's grant: a
//! copy of `ferry.db` (a backup, a stolen disk, a read through any hole in the SQL) was every
//! signed-in user's session, administrators' included, usable at once on the API, and every
//! open page's grant. Now a session API client, a browser's cookie, a shared link and a tool
//! page all hold secrets that appear nowhere in the database's files, what is there opens
//! nothing, a link can still be shown again (its ID sealed with the tools' key, which the
//! database never holds), and a reloaded page gets its grant again (derived from the page and
//! the tools' key).

mod common;

use base64::Engine;
use common::web::Browser;
use common::{ADMIN, ADMIN_PASSWORD, APP, Server};
use ferry_crypto::tool_token::ToolTokenKeys;
use ferry_testkit::Backend;
use serde_json::json;

use common::TEST_KEY as KEY;

/// The link on a "Your link" page: its token.
fn token_on(page: &str) -> String {
    let at = page.find("/tools/upload?token=").expect(page) + 20;
    page[at..]
        .chars()
        .take_while(|c| !matches!(c, '"' | '&'))
        .collect()
}

/// The session a link's token names.
fn session_of(token: &str) -> String {
    let keys = ToolTokenKeys::from_base64(KEY, None, false).unwrap();
    let decoded = token
        .replace("%2B", "+")
        .replace("%2F", "/")
        .replace("%3D", "=");
    let (_, plain) = keys.open(&decoded).expect("a token of this key");
    let claims: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    claims["Session"]
        .as_str()
        .expect("a link names a session")
        .to_string()
}

/// The grant on a tool page.
fn grant_on(page: &str) -> String {
    let at = page.find("data-grant=\"").expect(page) + 12;
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

/// Starts an upload through a page's grant, as its script does; the status.
fn start_upload(s: &Server, grant: &str) -> u16 {
    let meta = format!(
        "filename {}",
        base64::engine::general_purpose::STANDARD.encode("hello.txt")
    );
    let headers = [
        ("Tus-Resumable", "1.0.0"),
        ("Ferry-Grant", grant),
        ("Upload-Length", "5"),
        ("Upload-Metadata", meta.as_str()),
    ];
    s.post_with("/tools/tus", b"", &headers).0
}

/// Every byte of the database's files (the WAL too: a commit may not be checkpointed yet).
fn database_bytes(s: &Server) -> String {
    let mut all = Vec::new();
    for name in ["ferry.db", "ferry.db-wal"] {
        if let Ok(b) = std::fs::read(s.path().join(name)) {
            all.extend_from_slice(&b);
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

fn sha256_hex(text: &str) -> String {
    ferry_crypto::sha256_hex(text.as_bytes())
}

#[test]
fn no_bearer_secret_is_stored_and_what_is_stored_opens_nothing() {
    let s = Server::start_with(Backend::Sqlite, common::TOOLS);
    s.add_user("ann", "member", "ann-password-1");
    let (api, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let mut ann = Browser::new(&s);
    let home = ann.sign_in("ann", "ann-password-1").location.unwrap();
    let cookie = ann.cookie.clone().expect("signed in");
    let web = cookie.split_once('=').unwrap().1.to_string();
    let csrf = ann.csrf(&home);
    let made = ann.post(
        &format!("{home}/request-link"),
        &[("csrf", &csrf), ("days", "7")],
    );
    assert_eq!(made.status, 200, "{}", made.body);
    let token = token_on(&made.body);
    let link = session_of(&token);

    // Shown again: a new token for the same session, from the sealed ID.
    let links = ann.get("/web/links").body;
    let at = links.find("/web/links/").unwrap() + 11;
    let id: String = links[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let csrf = ann.csrf("/web/links");
    let shown = ann.post(&format!("/web/links/{id}/show"), &[("csrf", &csrf)]);
    assert_eq!(shown.status, 200, "{}", shown.body);
    let again = token_on(&shown.body);
    assert_ne!(again, token, "a new token");
    assert_eq!(session_of(&again), link, "for the same session");
    // The page's grant, the same when the page is reloaded (its row renewed).
    let (status, page) = s.get(&format!("/tools/upload?token={again}"));
    assert_eq!(status, 200, "{page}");
    let grant = grant_on(&page);
    assert_eq!(grant.len(), 43);
    assert_eq!(
        grant_on(&s.get(&format!("/tools/upload?token={again}")).1),
        grant
    );
    assert_eq!(start_upload(&s, &grant), 201);

    // None of the four secrets is in the database; each is there as its digest.
    let stored = database_bytes(&s);
    for (what, id) in [
        ("API", &api),
        ("web", &web),
        ("link", &link),
        ("page", &grant),
    ] {
        for form in [id.clone(), id.to_uppercase(), id.replace('-', "")] {
            assert!(!stored.contains(&form), "the {what} secret is stored");
        }
        assert!(
            stored.contains(&sha256_hex(id)),
            "the {what} secret is stored by its digest"
        );
    }

    // What is stored opens nothing: the key, or a GUID made of it, is no session.
    let key = sha256_hex(&api);
    let guid = format!(
        "{}-{}-{}-{}-{}",
        &key[..8],
        &key[8..12],
        &key[12..16],
        &key[16..20],
        &key[20..32]
    );
    for presented in [key.as_str(), guid.as_str()] {
        let (status, body) = s.call("GetCurrentUser", json!({"sessionID": presented}));
        assert_ne!(status, 200, "{presented} opened a session: {body}");
    }
    let (status, body) = s.call("GetCurrentUser", json!({"sessionID": guid}));
    assert_eq!(
        (status, body["ErrorCode"].as_i64()),
        (401, Some(101)),
        "{body}"
    );
    let forged = start_upload(&s, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_ne!(forged, 201);
    assert_eq!(
        start_upload(&s, &sha256_hex(&grant)),
        forged,
        "the grant's digest"
    );
    let mut thief = Browser::new(&s);
    thief.cookie = Some(cookie.replace(&web, &sha256_hex(&web)));
    assert_ne!(thief.get(&home).status, 200, "the web key is no cookie");

    // The IDs work on, through a restart too.
    let s = s.restart();
    assert!(s.alive(&api));
    let mut ann = Browser::new(&s);
    ann.cookie = Some(cookie);
    assert_eq!(ann.get(&home).status, 200);
    assert_eq!(s.get(&format!("/tools/upload?token={token}")).0, 200);
    assert_eq!(start_upload(&s, &grant), 201, "the grant works on");
}
