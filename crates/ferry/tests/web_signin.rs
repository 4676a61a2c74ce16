//! The web client's sign-in (issue 17): the page at `/`, the session cookie's attributes, a
//! new session at every sign-in, the same words for a wrong password and an unknown user, the
//! lock-out every protocol shares, sign-out, the idle timeout, and an administrator's
//! disabling ending the session in the store; each web session is audited as application 5
//! with the browser's address and user agent.

mod common;

use common::web::Browser;
use common::{ADMIN, ADMIN_PASSWORD, APP, Server, audit_records, failed_start};
use ferry_testkit::Backend;
use serde_json::json;

const WEB_CLIENT: i64 = 5;

#[test]
fn the_front_page_signs_in_and_the_cookie_is_strict() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("ann", "member", "ann-password-1");
    let mut b = Browser::new(&s);

    let page = b.get("/");
    assert_eq!(page.status, 200);
    for needed in [
        r#"<label for="username">User name</label>"#,
        r#"<label for="password">Password</label>"#,
        r#"<button type="submit" class="primary">Sign in</button>"#,
    ] {
        assert!(
            page.body.contains(needed),
            "{needed} missing: {}",
            page.body
        );
    }
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(!page.body.contains("<script>") && !page.body.contains(" style="));

    // A cookie planted before sign-in (fixation) is not the one handed out, and is no key.
    let planted = "6f9619ff-8b86-d011-b42d-00c04fc964ff";
    b.cookie = Some(format!("ferry_session={planted}"));
    let done = b.sign_in("ann", "ann-password-1");
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(
        done.location
            .as_deref()
            .unwrap()
            .starts_with("/web/folders/")
    );
    let cookie = &done.cookies[0];
    assert!(cookie.starts_with("ferry_session="), "{cookie}");
    assert!(!cookie.contains(planted), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert!(!cookie.to_ascii_lowercase().contains("expires") && !cookie.contains("Max-Age"));
    let home = b.get(done.location.as_deref().unwrap());
    assert_eq!(home.status, 200);
    assert!(home.body.contains("<h1>ann</h1>"), "{}", home.body);
    assert!(home.body.contains(">Sign out</button>"));
    let mut planter = Browser::new(&s);
    planter.cookie = Some(format!("ferry_session={planted}"));
    assert_eq!(planter.get("/web/folders/1").status, 303);

    // `/` sends someone signed in to their home folder.
    assert_eq!(b.get("/").location, done.location);

    // The audit: application 5, the browser's address and user agent.
    let audit = s.audit();
    let signin = audit_records(&audit, "SignIn", WEB_CLIENT, "immutable");
    assert_eq!(signin.len(), 1, "{audit:?}");
    assert_eq!(signin[0]["client_ip"], "127.0.0.1");
    assert_eq!(
        signin[0]["client_version"],
        "FerryTestBrowser/1.0 (web client tests)"
    );
}

#[test]
fn behind_an_https_proxy_the_cookie_is_secure_and_host_prefixed() {
    let s = Server::start_with(Backend::Sqlite, "trusted_proxies = [\"127.0.0.1\"]\n");
    s.add_user("ann", "member", "ann-password-1");
    let mut b = Browser::new(&s);
    let done = b.post_with(
        "/web/signin",
        &[("username", "ann"), ("password", "ann-password-1")],
        &[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-for", "198.51.100.4"),
        ],
    );
    assert_eq!(done.status, 303);
    let cookie = &done.cookies[0];
    assert!(cookie.starts_with("__Host-ferry_session="), "{cookie}");
    assert!(
        cookie.contains("; Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain="), "{cookie}");
    let page = b.get_with(
        done.location.as_deref().unwrap(),
        &[("x-forwarded-proto", "https")],
    );
    assert_eq!(page.status, 200);

    // Without a trusted proxy, a client's own claim of HTTPS changes nothing.
    let plain = Server::start(Backend::Sqlite);
    plain.add_user("ann", "member", "ann-password-1");
    let mut c = Browser::new(&plain);
    let done = c.post_with(
        "/web/signin",
        &[("username", "ann"), ("password", "ann-password-1")],
        &[("x-forwarded-proto", "https")],
    );
    assert!(done.cookies[0].starts_with("ferry_session="));
}

#[test]
fn wrong_password_and_unknown_user_read_the_same_and_the_lockout_is_shared() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("ann", "member", "ann-password-1");
    let mut b = Browser::new(&s);
    let wrong = b.sign_in("ann", "not-her-password");
    let unknown = b.sign_in("nobody", "whatever-password");
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert_eq!(
        wrong.body.replace("value=\"ann\"", ""),
        unknown.body.replace("value=\"nobody\"", ""),
        "the two failures must not differ"
    );
    assert!(wrong.cookies.is_empty());
    assert!(
        wrong
            .body
            .contains("The user name or password is not right.")
    );

    // Empty fields: asked again, nothing counted.
    assert_eq!(b.sign_in("", "").status, 400);

    // Failures at the web page count toward the lock-out the JSON API enforces, and back.
    for _ in 0..6 {
        b.sign_in("ann", "still-wrong-password");
    }
    let (status, body) = s.call(
        "Open",
        json!({"userName": "ann", "password": "ann-password-1", "applicationID": APP}),
    );
    assert_eq!(status, 429, "{body}");
    let locked = b.sign_in("ann", "ann-password-1");
    assert_eq!(locked.status, 429);
    assert!(
        locked.body.contains("Too many failed sign-ins"),
        "{}",
        locked.body
    );
    assert!(locked.header("retry-after").is_some());
}

#[test]
fn a_sign_in_form_from_another_site_is_refused() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("ann", "member", "ann-password-1");
    let mut b = Browser::new(&s);
    for header in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let r = b.post_with(
            "/web/signin",
            &[("username", "ann"), ("password", "ann-password-1")],
            &[header],
        );
        assert_eq!(r.status, 403, "{header:?}");
        assert!(r.cookies.is_empty());
    }
    assert!(audit_records(&s.audit(), "SignIn", WEB_CLIENT, "").is_empty());
}

#[test]
fn sessions_end_at_sign_out_when_idle_and_when_the_user_is_disabled() {
    let s = Server::start_with(Backend::Sqlite, "[sessions]\nweb_idle_minutes = 0.05\n");
    s.add_user("ann", "member", "ann-password-1");

    // A second browser does not sign the first out.
    let mut first = Browser::new(&s);
    let home = first.sign_in("ann", "ann-password-1").location.unwrap();
    let mut second = Browser::new(&s);
    second.sign_in("ann", "ann-password-1");
    assert_eq!(first.get(&home).status, 200);
    assert_eq!(second.get(&home).status, 200);

    // Sign-out ends the session in the store: its cookie, replayed, is no key.
    let token = second.csrf(&home);
    let old_cookie = second.cookie.clone();
    let out = second.post("/web/signout", &[("csrf", &token)]);
    assert_eq!(out.status, 303);
    assert_eq!(out.location.as_deref(), Some("/"));
    assert!(out.cookies.iter().any(|c| c.contains("Max-Age=0")));
    second.cookie = old_cookie;
    let replay = second.get(&home);
    assert_eq!(replay.status, 303);
    assert_eq!(
        replay.location.as_deref(),
        Some(format!("/?next={home}").as_str())
    );
    assert!(!audit_records(&s.audit(), "SignOut", WEB_CLIENT, "").is_empty());

    // Idle past the timeout (3 s here): signed out, and the store says so.
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(first.get(&home).status, 303);

    // An administrator disables the user: the session ends at once.
    let mut third = Browser::new(&s);
    third.sign_in("ann", "ann-password-1");
    assert_eq!(third.get(&home).status, 200);
    s.ferry_ok(&["user", "disable", "ann"], None);
    assert_eq!(third.get(&home).status, 303);
    assert_eq!(third.sign_in("ann", "ann-password-1").status, 401);
}

#[test]
fn only_web_sessions_open_web_pages_and_reserved_ids_stay_closed_to_the_api() {
    let s = Server::start(Backend::Sqlite);
    // An API session's ID in the cookie is not a way in.
    let (api_session, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let mut b = Browser::new(&s);
    b.cookie = Some(format!("ferry_session={api_session}"));
    assert_eq!(b.get("/web/folders/1").status, 303);
    // And the web client's application ID is not a way in to the API.
    let (status, body) = s.call(
        "OpenImmutable",
        json!({"userName": ADMIN, "password": ADMIN_PASSWORD, "applicationID": WEB_CLIENT}),
    );
    assert_eq!(status, 403, "{body}");
}

/// A web session in constant use still ends at its greatest age from the sign-in
/// (`web_max_hours`, 5.4 s here against an idle timeout of 30 minutes): a session taken from a
/// browser cannot be kept alive for ever by using it. Values out of range stop the start.
#[test]
fn a_busy_web_session_ends_at_its_greatest_age() {
    let s = Server::start_with(Backend::Sqlite, "[sessions]\nweb_max_hours = 0.0015\n");
    s.add_user("ann", "member", "ann-password-1");
    let mut b = Browser::new(&s);
    let home = b.sign_in("ann", "ann-password-1").location.unwrap();
    // The session began before this instant (at most the sign-in's time before it): it is
    // used until 3.5 s after, and asked again once 6 s have passed.
    let signed_in = std::time::Instant::now();
    let secs = std::time::Duration::from_secs_f64;
    while signed_in.elapsed() < secs(3.5) {
        assert_eq!(b.get(&home).status, 200);
        std::thread::sleep(secs(0.5));
    }
    std::thread::sleep(secs(6.0).saturating_sub(signed_in.elapsed()));
    assert_eq!(b.get(&home).status, 303, "signed out at 5.4 s however busy");
    assert_eq!(b.sign_in("ann", "ann-password-1").status, 303);

    for bad in ["0", "-1", "721", "\"12\""] {
        let said = failed_start(&format!("[sessions]\nweb_max_hours = {bad}\n"));
        assert!(said.contains("web_max_hours"), "{bad}: {said}");
    }
}
