//! Ticket sign-in (`OpenWithTicket`, `OpenImmutableWithTicket`, `OpenWithTicketEx`) and
//! `CreateDomainUser`, against a live server. Tickets come from `ferry ticket issue` and from
//! the Python encoder of docs/sso-tickets.md (an implementation independent of the server's),
//! which the tests extract from the document and run, so the document cannot drift.

mod common;
#[path = "sso_tickets/fixture.rs"]
mod fixture;

use std::path::Path;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use common::{Server, assert_error, utc_stamp};
use ferry_testkit::{Backend, on_both_backends};
use fixture::{PASSWORD, SITE, admin_session, create_domain_user, issue, start, with_ticket};
use serde_json::{Value, json};

on_both_backends!(
    a_domain_user_signs_in_with_a_ticket,
    every_bad_ticket_gets_the_one_answer,
    ticket_ex_finds_or_creates_the_user_by_email,
    create_domain_user_is_for_administrators_and_checks_its_input,
);

/// The ```python block of docs/sso-tickets.md, written out as `sso_ticket.py`.
fn doc_example_dir() -> tempfile::TempDir {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sso-tickets.md"),
    )
    .unwrap();
    let start = doc.find("```python\n").expect("a python block") + "```python\n".len();
    let end = start + doc[start..].find("\n```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sso_ticket.py"), &doc[start..=end]).unwrap();
    dir
}

/// Seals each plaintext with the documented Python recipe under `password`.
fn python_seal(example: &Path, password: &str, plaintexts: &[Vec<u8>]) -> Vec<String> {
    let script = "import base64, json, sys\n\
                  import sso_ticket as t\n\
                  key = t.derive_key(sys.argv[1])\n\
                  for p in json.load(sys.stdin):\n\
                  \x20   print(t.seal(key, base64.b64decode(p)))\n";
    let input = json!(
        plaintexts
            .iter()
            .map(|p| STANDARD.encode(p))
            .collect::<Vec<_>>()
    );
    let out = run_python(example, &["-c", script, password], &input.to_string());
    out.lines().map(str::to_string).collect()
}

fn run_python(dir: &Path, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args(args)
        .current_dir(dir)
        .env("FERRY_SSO_PASSWORD", PASSWORD)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (with the cryptography package) is required by the test suite");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn plaintext(site: &str, user: &str, stamp: &str) -> Vec<u8> {
    format!("<token timestamp=\"{stamp}\"><sitename>{site}</sitename><username>{user}</username></token>")
        .into_bytes()
}

fn a_domain_user_signs_in_with_a_ticket(backend: Backend) {
    let s = start(backend);
    let admin = admin_session(&s);
    let ann = create_domain_user(&s, &admin, "CORP\\ann", "ann@corp.example");
    assert_eq!(ann["Name"], "ann", "{ann}");

    // Names compare ignoring case; the first session is replaced by the second, like Open.
    let (status, first) = with_ticket(&s, "OpenWithTicket", &issue(&s, "corp\\ANN", None));
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["UserID"], ann["UserID"]);
    let first = first["SessionID"].as_str().unwrap().to_string();
    let (_, who) = s.call("GetCurrentUser", json!({"sessionID": first}));
    assert_eq!(who["Name"], "ann");
    let (status, second) = with_ticket(&s, "OpenWithTicket", &issue(&s, "CORP\\ann", None));
    assert_eq!(status, 200, "{second}");
    assert!(
        !s.alive(&first),
        "a ticket sign-in replaces the previous session"
    );
    let second = second["SessionID"].as_str().unwrap().to_string();
    // An immutable ticket session coexists.
    let (status, imm) = with_ticket(&s, "OpenImmutableWithTicket", &issue(&s, "CORP\\ann", None));
    assert_eq!(status, 200, "{imm}");
    assert!(s.alive(&second) && s.alive(imm["SessionID"].as_str().unwrap()));

    // Every accepted timestamp format, and a ticket from the documented Python example, which
    // also calls the server itself.
    for stamp in ["11/22/2026 3:04 PM", "2026-11-22T15:04:05Z"] {
        let out = s.ferry(
            &[
                "ticket",
                "issue",
                "--user",
                "CORP\\ann",
                "--timestamp",
                stamp,
            ],
            None,
        );
        assert!(out.status.success(), "{stamp}");
    }
    let example = doc_example_dir();
    let stdout = run_python(
        example.path(),
        &[
            "sso_ticket.py",
            "--site",
            SITE,
            "--user",
            "CORP\\ann",
            "--url",
            &s.base,
            "--application-id",
            "1000",
        ],
        "",
    );
    assert!(
        stdout.contains(&format!("UserID {}", ann["UserID"])),
        "{stdout}"
    );

    // The document's curl call, as written.
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sso-tickets.md"),
    )
    .unwrap();
    let start = doc.find("```sh\nTICKET=").unwrap() + "```sh\n".len();
    let curl = &doc[start..start + doc[start..].find("\n```").unwrap()];
    let out = Command::new("bash")
        .args(["-c", curl])
        .current_dir(example.path())
        .env("FERRY_SSO_PASSWORD", PASSWORD)
        .env("FERRY_SSO_SITE_NAME", SITE)
        .env("FERRY_URL", &s.base)
        .output()
        .unwrap();
    let answer: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(answer["UserID"], ann["UserID"], "{answer}");

    let audit = s.audit();
    let ticket_signins = audit
        .iter()
        .filter(|r| {
            r["operation"] == "SignIn" && r["detail"].as_str().unwrap_or("").starts_with("ticket")
        })
        .count();
    assert!(ticket_signins >= 5, "{ticket_signins}");
    assert!(
        audit
            .iter()
            .any(|r| r["operation"] == "SignIn" && r["client_version"] == "portal/1")
    );
}

fn every_bad_ticket_gets_the_one_answer(backend: Backend) {
    // Forged tickets count toward the address lock-out (privilege.rs tests that); here every
    // one of them must get its own answer.
    let s = Server::start_with(
        backend,
        &format!(
            "[sso]\nsite_name = \"{SITE}\"\npassword = \"{PASSWORD}\"\n\
             [lockout]\naddress_threshold = 1000\n"
        ),
    );
    s.add_app(1000);
    let admin = admin_session(&s);
    create_domain_user(&s, &admin, "CORP\\ann", "ann@corp.example");
    create_domain_user(&s, &admin, "CORP\\gone", "gone@corp.example");
    s.ferry_ok(&["user", "disable", "gone"], None);
    let good = issue(&s, "CORP\\ann", None);
    assert_eq!(with_ticket(&s, "OpenWithTicket", &good).0, 200);

    let raw = STANDARD.decode(&good).unwrap();
    let mut bad: Vec<(String, String)> = Vec::new();
    for bit in [0, 7, 8, 100, raw.len() * 8 / 2, raw.len() * 8 - 1] {
        let mut flipped = raw.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        bad.push((format!("bit {bit} flipped"), STANDARD.encode(&flipped)));
    }
    bad.push(("truncated".into(), good[..good.len() - 8].to_string()));
    bad.push((
        "truncated bytes".into(),
        STANDARD.encode(&raw[..raw.len() - 1]),
    ));
    bad.push(("padded".into(), format!("{good}====")));
    bad.push((
        "extra bytes".into(),
        STANDARD.encode([&raw[..], b"x"].concat()),
    ));
    let mut url_safe = raw.clone();
    // Make sure the URL-safe form differs: find a ticket with + or / in it.
    let mut tries = 0;
    while !STANDARD.encode(&url_safe).contains(['+', '/']) {
        url_safe = STANDARD.decode(issue(&s, "CORP\\ann", None)).unwrap();
        tries += 1;
        assert!(tries < 50);
    }
    bad.push(("URL-safe alphabet".into(), URL_SAFE.encode(&url_safe)));
    bad.push(("empty".into(), String::new()));
    bad.push(("not base64".into(), "this is not a ticket!".into()));
    bad.push(("60 KB".into(), "A".repeat(60_000)));
    bad.push((
        "expired".into(),
        issue(&s, "CORP\\ann", Some(&utc_stamp(-10 * 60))),
    ));
    bad.push((
        "from the future".into(),
        issue(&s, "CORP\\ann", Some(&utc_stamp(10 * 60))),
    ));
    bad.push(("never synced".into(), issue(&s, "CORP\\nobody", None)));
    bad.push(("disabled user".into(), issue(&s, "CORP\\gone", None)));

    let example = doc_example_dir();
    let now = utc_stamp(0);
    let hostile: Vec<(&str, Vec<u8>)> = vec![
        ("another site", plaintext("evil.example.com", "CORP\\ann", &now)),
        (
            "a DTD with an external entity",
            format!("<!DOCTYPE token [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><token timestamp=\"{now}\"><sitename>{SITE}</sitename><username>&x;</username></token>").into_bytes(),
        ),
        (
            "an entity-expansion bomb",
            format!("<!DOCTYPE lolz [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><token timestamp=\"{now}\"><sitename>{SITE}</sitename><username>&c;</username></token>").into_bytes(),
        ),
        (
            "an undefined entity",
            plaintext(SITE, "CORP\\&ann;", &now),
        ),
        ("not UTF-8", {
            let mut p = plaintext(SITE, "CORP\\ann", &now);
            p.extend_from_slice(b"\xff\xfe");
            p
        }),
        ("not XML", b"CORP\\ann".to_vec()),
        ("no timestamp", b"<token><sitename>files.example.com</sitename><username>CORP\\ann</username></token>".to_vec()),
    ];
    let plaintexts: Vec<Vec<u8>> = hostile.iter().map(|(_, p)| p.clone()).collect();
    for ((what, _), ticket) in
        hostile
            .iter()
            .zip(python_seal(example.path(), PASSWORD, &plaintexts))
    {
        bad.push((what.to_string(), ticket));
    }
    let other = python_seal(
        example.path(),
        "another-password-0123456789",
        &[plaintext(SITE, "CORP\\ann", &now)],
    );
    bad.push(("sealed with another password".into(), other[0].clone()));
    // The control: the Python recipe with the right password is accepted.
    let control = python_seal(
        example.path(),
        PASSWORD,
        &[plaintext(SITE, "CORP\\ann", &now)],
    );
    assert_eq!(with_ticket(&s, "OpenWithTicket", &control[0]).0, 200);

    let sessions_before = s
        .audit()
        .iter()
        .filter(|r| r["operation"] == "SignIn")
        .count();
    let mut answers = Vec::new();
    for (what, ticket) in &bad {
        for method in ["OpenWithTicket", "OpenImmutableWithTicket"] {
            let answer = with_ticket(&s, method, ticket);
            assert_error(&answer, 401, 130);
            answers.push((what.clone(), answer.1));
        }
        let ex = s.call(
            "OpenWithTicketEx",
            json!({"ticket": ticket, "EmailAddress": "new@corp.example", "FirstName": "N",
                   "LastName": "U", "applicationID": 1000, "ClientVersion": "portal/1"}),
        );
        if what != "never synced" && what != "disabled user" {
            // Ex ignores the ticket's user name, so those two are valid tickets for it.
            assert_error(&ex, 401, 130);
        }
    }
    let first = &answers[0].1;
    for (what, answer) in &answers {
        assert_eq!(answer, first, "{what} answered differently");
    }

    // A body over the limit is refused before the ticket is read.
    let huge = with_ticket(&s, "OpenWithTicket", &"A".repeat(1 << 20));
    assert_error(&huge, 413, 111);

    // Nothing was signed in, every refusal is audited with its reason, and the log names the
    // reasons but never a ticket.
    // (The two valid tickets given to OpenWithTicketEx above signed in twice.)
    let audit = s.audit();
    assert_eq!(
        audit.iter().filter(|r| r["operation"] == "SignIn").count(),
        sessions_before + 2
    );
    let reasons: Vec<&str> = audit
        .iter()
        .filter(|r| r["operation"] == "SignInFailed")
        .filter_map(|r| r["detail"].as_str())
        .collect();
    for needle in [
        "does not authenticate",
        "not standard base64",
        "expired",
        "future",
        "another site",
        "DTD",
        "entity",
        "UTF-8",
        "no user has that DomainUsername",
        "user disabled",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(needle)),
            "no audited reason mentions {needle:?}: {reasons:?}"
        );
    }
    let log = s.log();
    assert!(log.contains("ticket sign-in refused"));
    for (_, ticket) in bad.iter().filter(|(_, t)| t.len() > 20) {
        assert!(!log.contains(ticket.as_str()), "a ticket was logged");
    }
    assert!(!log.contains(PASSWORD));
}

fn ticket_ex_finds_or_creates_the_user_by_email(backend: Backend) {
    let s = start(backend);
    let ex = |email: &str, first: &str, last: &str| {
        s.call(
            "OpenWithTicketEx",
            json!({"ticket": issue(&s, "IGNORED\\whoever", None), "EmailAddress": email,
                   "FirstName": first, "LastName": last, "applicationID": 1000,
                   "ClientVersion": "portal/1"}),
        )
    };
    let (status, created) = ex("Dora.Lee@Corp.Example", "Dora", "Lee");
    assert_eq!(status, 200, "{created}");
    let session = created["SessionID"].as_str().unwrap();
    let (_, dora) = s.call("GetCurrentUser", json!({"sessionID": session}));
    assert_eq!(dora["Email"], "Dora.Lee@Corp.Example", "{dora}");
    assert_eq!(dora["FirstName"], "Dora");
    assert_eq!(dora["LastName"], "Lee");
    assert_eq!(dora["Role"], 3);
    let (status, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    assert_eq!(status, 200, "{home}");

    // Found again by address, ignoring case; the names given later do not rename it.
    let (status, again) = ex("dora.lee@corp.example", "Other", "Name");
    assert_eq!(status, 200);
    assert_eq!(again["UserID"], created["UserID"]);
    assert!(!s.alive(session), "replaced like Open");

    // A local user whose login name is that address makes the new user's name unique.
    s.ferry_ok(
        &["user", "add", "eve@corp.example", "--role", "member"],
        None,
    );
    let (status, eve) = ex("eve@corp.example", "Eve", "Ng");
    assert_eq!(status, 200, "{eve}");
    let (_, eve_user) = s.call("GetCurrentUser", json!({"sessionID": eve["SessionID"]}));
    assert_eq!(eve_user["Name"], "eve@corp.example-2", "{eve_user}");

    // Two users with one address: refused, not guessed.
    for name in ["twin1", "twin2"] {
        s.ferry_ok(
            &[
                "user",
                "add",
                name,
                "--role",
                "member",
                "--email",
                "twin@corp.example",
            ],
            None,
        );
    }
    assert_error(&ex("twin@corp.example", "T", "W"), 409, 132);
    // A disabled user answers like any refused ticket.
    s.ferry_ok(&["user", "disable", "twin2"], None);
    s.ferry_ok(
        &[
            "user",
            "add",
            "solo",
            "--role",
            "member",
            "--email",
            "solo@corp.example",
        ],
        None,
    );
    s.ferry_ok(&["user", "disable", "solo"], None);
    assert_error(&ex("solo@corp.example", "S", "O"), 401, 130);
    // Bad arguments.
    assert_error(&ex("not-an-address", "A", "B"), 400, 110);
    assert_error(&ex("", "A", "B"), 400, 110);
    assert_error(&ex("long@corp.example", &"x".repeat(10_000), "B"), 400, 110);
    assert_error(&ex("long@corp.example", "A", &"y".repeat(10_000)), 400, 110);
    assert_error(&ex("ctl@corp.example", "A\u{0}", "B"), 400, 110);
    let users = s.ferry_ok(&["user", "list"], None);
    assert!(!users.contains("long@corp.example"), "{users}");
    assert!(!users.contains("not-an-address"), "{users}");
}

fn create_domain_user_is_for_administrators_and_checks_its_input(backend: Backend) {
    let s = start(backend);
    let admin = admin_session(&s);
    s.add_user("member", "member", "member-password");
    let member = s.open("member", "member-password", 1000).0;
    let call = |session: &str, domain_username: &str, extra: Value| {
        let mut body = json!({"sessionID": session, "domainUsername": domain_username});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        s.call("CreateDomainUser", body)
    };
    assert_error(&call(&member, "CORP\\x", json!({})), 403, 105);
    for bad in [
        "noslash",
        "\\x",
        "CORP\\",
        "CORP\\a\\b",
        "CORP\\bad name",
        "CORP\\-x",
    ] {
        assert_error(&call(&admin, bad, json!({})), 400, 110);
    }
    assert_error(&call(&admin, "CORP\\x", json!({"role": 9})), 400, 110);
    assert_error(&call(&admin, "CORP\\x", json!({"email": "nope"})), 400, 110);
    assert_error(
        &call(&admin, "CORP\\x", json!({"userSyncID": "u".repeat(300)})),
        400,
        110,
    );

    let (status, made) = call(
        &admin,
        "CORP\\frank",
        json!({"userSyncID": "6B29FC40-CA47-1067-B31D-00DD010662DA", "createHomeFolder": false,
               "role": 4, "active": false}),
    );
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["Role"], 4);
    assert_eq!(made["Active"], false);
    assert_eq!(made["UserSyncID"], "6b29fc40-ca47-1067-b31d-00dd010662da");
    // An inactive domain user cannot sign in by ticket.
    assert_error(
        &with_ticket(&s, "OpenWithTicket", &issue(&s, "CORP\\frank", None)),
        401,
        130,
    );
    // Same login name, same DOMAIN\name, same GUID: each is taken.
    assert_error(&call(&admin, "OTHER\\frank", json!({})), 409, 108);
    assert_error(&call(&admin, "corp\\FRANK", json!({})), 409, 108);
    assert_error(
        &call(
            &admin,
            "CORP\\gina",
            json!({"userSyncID": "6b29fc40-ca47-1067-b31d-00dd010662da"}),
        ),
        409,
        108,
    );
    let audit = s.audit();
    assert!(
        audit
            .iter()
            .any(|r| r["operation"] == "UserCreated" && r["path"] == "frank")
    );
}

#[test]
fn ticket_sign_in_is_off_without_configuration() {
    let s = Server::start(Backend::Sqlite);
    s.add_app(1000);
    let answer = with_ticket(&s, "OpenWithTicket", "AAAA");
    assert_error(&answer, 403, 131);
    let out = s.ferry(&["ticket", "issue", "--user", "CORP\\ann"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not configured"));
    assert!(s.log().contains("ticket sign-in off"));
}

#[test]
fn half_a_configuration_or_a_short_password_is_refused_at_start() {
    for (extra, message) in [
        ("[sso]\nsite_name = \"x.example\"\n", "both a site name"),
        (
            "[sso]\nsite_name = \"x.example\"\npassword = \"short\"\n",
            "at least 16",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ferry.toml"), extra).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .arg("--config")
            .arg(dir.path().join("ferry.toml"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["ticket", "issue", "--user", "A\\b"])
            .env_remove("FERRY_SSO_SITE_NAME")
            .env_remove("FERRY_SSO_PASSWORD")
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
    }
}
