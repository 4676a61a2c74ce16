//! The administration console (issue 17): only Administrator and System users reach it (a
//! member is answered as if it did not exist, by page and by action); users are created and
//! changed within the Service's role rules; live sessions are listed by tag and ended; the
//! audit log filters, exports and verifies; applications are registered and disabled.

mod common;

use common::web::Browser;
use common::{ADMIN, ADMIN_PASSWORD, APP, Server, audit_records};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(
    users_are_created_changed_disabled_and_their_sessions_ended,
    groups_and_the_effective_configuration
);

const WEB_CLIENT: i64 = 5;

fn admin(s: &Server) -> (Browser, String) {
    let mut b = Browser::new(s);
    assert_eq!(b.sign_in(ADMIN, ADMIN_PASSWORD).status, 303);
    let token = b.csrf("/admin/users");
    (b, token)
}

#[test]
fn a_member_cannot_reach_the_console_by_page_or_by_action() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("mia", "member", "mia-password-1");
    s.add_user("manny", "manager", "manny-password-1");
    let (mut root, _) = admin(&s);
    let unknown = root.get("/no/such/page");
    for user in ["mia", "manny"] {
        let mut b = Browser::new(&s);
        b.sign_in(user, &format!("{user}-password-1"));
        let home = b.get("/").location.unwrap();
        let token = b.csrf(&home);
        assert!(!b.get(&home).body.contains("/admin"), "no link for {user}");
        for page in [
            "/admin",
            "/admin/users",
            "/admin/sessions",
            "/admin/audit",
            "/admin/audit/export?format=csv",
            "/admin/applications",
        ] {
            let r = b.get(page);
            assert_eq!(r.status, 404, "{user} {page}");
            assert!(
                !r.body.contains("Users") || !r.body.contains("Live sessions"),
                "{page}"
            );
        }
        for (action, fields) in [
            (
                "/admin/users",
                vec![
                    ("name", "evil"),
                    ("role", "administrator"),
                    ("password", "evil-password-1"),
                ],
            ),
            (
                "/admin/users/role",
                vec![("name", user), ("role", "administrator")],
            ),
            ("/admin/users/disable", vec![("name", ADMIN)]),
            ("/admin/sessions/end", vec![("user", "1"), ("tag", "x")]),
            ("/admin/applications", vec![("id", "4242"), ("name", "x")]),
        ] {
            let mut f = fields.clone();
            f.push(("csrf", &token));
            assert_eq!(b.post(action, &f).status, 404, "{user} {action}");
        }
    }
    assert_eq!(unknown.status, 404);
    let users = s.ferry_ok(&["user", "list"], None);
    assert!(!users.contains("evil"), "{users}");
    assert!(s.ferry_ok(&["user", "list"], None).contains("manny"));
}

fn users_are_created_changed_disabled_and_their_sessions_ended(backend: Backend) {
    let s = Server::start(backend);
    let (mut root, token) = admin(&s);
    let r = root.post(
        "/admin/users",
        &[
            ("csrf", &token),
            ("name", "nina"),
            ("email", "nina@example.com"),
            ("first_name", "Nina"),
            ("last_name", "<b>Hostile</b>"),
            ("role", "member"),
            ("password", "nina-password-1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = root.get("/admin/users").body;
    assert!(
        page.contains("nina") && page.contains("Nina &lt;b&gt;Hostile&lt;/b&gt;"),
        "{page}"
    );

    // She signs in; the console lists her web session by its tag; ending it signs her out.
    let mut nina = Browser::new(&s);
    let home = nina.sign_in("nina", "nina-password-1").location.unwrap();
    assert_eq!(nina.get(&home).status, 200);
    let sessions = root.get("/admin/sessions?user=&app=5").body;
    let at = sessions
        .find(r#"name="tag" value=""#)
        .expect("a session listed");
    let tag = &sessions[at + 18..at + 30];
    let nina_id = s.ferry_ok(&["user", "list"], None);
    let nina_id = nina_id
        .lines()
        .find(|l| l.contains("nina"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let ended = root.post(
        "/admin/sessions/end",
        &[("csrf", &token), ("user", &nina_id), ("tag", tag)],
    );
    assert_eq!(ended.status, 303, "{}", ended.body);
    let next = nina.get(&home);
    assert_eq!(next.status, 303, "her next click lands on sign-in");
    let audit = s.audit();
    let revoked = audit_records(
        &audit,
        "SessionRevoked",
        WEB_CLIENT,
        "ended by an administrator",
    );
    assert_eq!(revoked.len(), 1, "{audit:?}");
    assert_eq!(revoked[0]["session_tag"], tag);

    // Role, password, disable, enable; each audited, each through the Service's rules.
    assert_eq!(
        root.post(
            "/admin/users/role",
            &[("csrf", &token), ("name", "nina"), ("role", "manager")]
        )
        .status,
        303
    );
    assert!(
        s.ferry_ok(&["user", "list"], None)
            .lines()
            .any(|l| l.contains("nina") && l.contains("manager"))
    );
    assert_eq!(
        root.post(
            "/admin/users/password",
            &[("csrf", &token), ("name", "nina"), ("password", "short")]
        )
        .status,
        400
    );
    assert_eq!(
        root.post(
            "/admin/users/password",
            &[
                ("csrf", &token),
                ("name", "nina"),
                ("password", "nina-password-2")
            ]
        )
        .status,
        303
    );
    assert_eq!(nina.sign_in("nina", "nina-password-2").status, 303);
    assert_eq!(
        root.post(
            "/admin/users/disable",
            &[("csrf", &token), ("name", "nina")]
        )
        .status,
        303
    );
    assert_eq!(nina.get(&home).status, 303);
    assert_eq!(
        Browser::new(&s).sign_in("nina", "nina-password-2").status,
        401
    );
    assert_eq!(
        root.post("/admin/users/enable", &[("csrf", &token), ("name", "nina")])
            .status,
        303
    );
    assert_eq!(
        Browser::new(&s).sign_in("nina", "nina-password-2").status,
        303
    );
    let audit = s.audit();
    for op in [
        "UserCreated",
        "PasswordChanged",
        "UserDisabled",
        "UserEnabled",
    ] {
        assert!(
            !audit_records(&audit, op, WEB_CLIENT, "").is_empty(),
            "{op}"
        );
    }

    // An administrator cannot make or change a System user, nor act without the token.
    s.add_user("sys", "system", "sys-password-1");
    assert_eq!(
        root.post("/admin/users/disable", &[("csrf", &token), ("name", "sys")])
            .status,
        403
    );
    assert_eq!(
        root.post(
            "/admin/users",
            &[("csrf", &token), ("name", "sys2"), ("role", "system")]
        )
        .status,
        403
    );
    assert_eq!(
        root.post("/admin/users/disable", &[("csrf", "0"), ("name", "nina")])
            .status,
        403
    );
    // Nor demote or disable themselves (another administrator does): a slip in the console
    // never leaves the server without an administrator. Before, both went through.
    let before = s.audit().len();
    let own_role = [
        ("csrf", token.as_str()),
        ("name", ADMIN),
        ("role", "member"),
    ];
    assert_eq!(root.post("/admin/users/role", &own_role).status, 403);
    let own = [("csrf", token.as_str()), ("name", ADMIN)];
    assert_eq!(root.post("/admin/users/disable", &own).status, 403);
    assert_eq!(root.get("/admin/users").status, 200, "still signed in");
    assert_eq!(s.audit().len(), before, "nothing changed");
    for bad in [
        vec![
            ("csrf", token.as_str()),
            ("name", "bad/name"),
            ("role", "member"),
        ],
        vec![("csrf", token.as_str()), ("name", "x"), ("role", "emperor")],
        vec![
            ("csrf", token.as_str()),
            ("name", "nina"),
            ("role", "member"),
        ],
    ] {
        let r = root.post("/admin/users", &bad);
        assert!(r.status == 400 || r.status == 409, "{bad:?}: {}", r.status);
    }
}

#[test]
fn the_audit_log_filters_exports_and_verifies() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("ann", "member", "ann-password-1");
    let (ann_session, ann) = s.open("ann", "ann-password-1", APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": ann_session}));
    let (status, _) = s.put_file(
        &ann_session,
        home["FolderID"].as_i64().unwrap(),
        "x.txt",
        "",
        b"x",
    );
    assert_eq!(status, 200);
    let (mut root, token) = admin(&s);

    let page = root
        .get(&format!("/admin/audit?user={ann}&op=FileUploaded"))
        .body;
    assert_eq!(page.matches("<td>FileUploaded</td>").count(), 1, "{page}");
    assert!(!page.contains("<td>SignIn</td>"));
    let signins = root
        .get(&format!("/admin/audit?user={ann}&op=SignIn&app={APP}"))
        .body;
    assert_eq!(signins.matches("<td>SignIn</td>").count(), 1);
    let none = root
        .get("/admin/audit?from=2000-01-01T00:00&to=2000-01-02")
        .body;
    assert_eq!(none.matches("<tr><td>").count(), 0);
    assert_eq!(root.get("/admin/audit?from=yesterday").status, 400);
    assert_eq!(root.get("/admin/audit?user=abc").status, 400);

    let jsonl = root.get(&format!("/admin/audit/export?format=jsonl&user={ann}"));
    assert_eq!(jsonl.status, 200);
    let lines: Vec<serde_json::Value> = jsonl
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines.len() >= 2 && lines.iter().all(|r| r["user_id"] == ann),
        "{lines:?}"
    );
    let csv = root.get("/admin/audit/export?format=csv&op=FileUploaded");
    assert!(csv.body.starts_with("seq,time,"), "{}", csv.body);
    assert_eq!(csv.body.lines().count(), 2);
    assert_eq!(root.get("/admin/audit/export?format=xml").status, 400);

    let verified = root.post("/admin/audit/verify", &[("csrf", &token)]);
    assert_eq!(verified.status, 200);
    assert!(
        verified.body.contains("The chain holds"),
        "{}",
        verified.body
    );
    // With its head as an anchor, the same `ferry audit verify` prints.
    let said = s.ferry_ok(&["audit", "verify"], None);
    let head = said.trim().rsplit(' ').next().unwrap();
    assert!(
        verified
            .body
            .contains(&format!(r#"<code id="chain-anchor">{head}</code>"#)),
        "{head}: {}",
        verified.body
    );

    // A record altered in the database: the console names the first broken link.
    s.ferry_ok(&["audit", "verify"], None);
    let db = s.dir.path().join("ferry.db");
    let out = std::process::Command::new("python3")
        .args(["-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE audit_log SET detail = 'forged' WHERE seq = 3\"); c.commit()", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let broken = root.post("/admin/audit/verify", &[("csrf", &token)]);
    assert!(
        broken.body.contains("The chain is broken at record 3"),
        "{}",
        broken.body
    );
}

#[test]
fn applications_are_registered_and_disabled() {
    let s = Server::start(Backend::Sqlite);
    let (mut root, token) = admin(&s);
    let page = root.get("/admin/applications").body;
    assert!(
        page.contains("Ferry&#39;s web client") || page.contains("Ferry web client"),
        "{page}"
    );
    assert_eq!(
        root.post(
            "/admin/applications",
            &[("csrf", &token), ("id", "4242"), ("name", "Payroll")]
        )
        .status,
        303
    );
    assert_eq!(
        root.post(
            "/admin/applications",
            &[("csrf", &token), ("id", "7"), ("name", "Mine")]
        )
        .status,
        400
    );
    assert_eq!(
        root.post(
            "/admin/applications/enabled",
            &[("csrf", &token), ("id", "4242"), ("enabled", "false")]
        )
        .status,
        303
    );
    let (status, body) = s.call(
        "Open",
        json!({"userName": ADMIN, "password": ADMIN_PASSWORD, "applicationID": 4242}),
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        root.post(
            "/admin/applications/enabled",
            &[("csrf", &token), ("id", "4242"), ("enabled", "true")]
        )
        .status,
        303
    );
    let (status, _) = s.call(
        "Open",
        json!({"userName": ADMIN, "password": ADMIN_PASSWORD, "applicationID": 4242}),
    );
    assert_eq!(status, 200);
}

fn groups_and_the_effective_configuration(backend: Backend) {
    let key = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
    let s = Server::start_with(
        backend,
        &format!(
            "[tools]\nkey = \"{key}\"\nversion_1 = false\n[sessions]\nweb_idle_minutes = 45\n"
        ),
    );
    s.add_user("nina", "member", "nina-password-1");
    let (mut root, token) = admin(&s);
    assert_eq!(
        root.post(
            "/admin/groups",
            &[("csrf", &token), ("name", "Finance <team>")]
        )
        .status,
        303
    );
    let page = root.get("/admin/groups").body;
    assert!(page.contains("Finance &lt;team&gt;"), "{page}");
    let at = page.find(r#"name="group" value=""#).unwrap();
    let group: String = page[at + 20..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let add = |b: &mut Browser, user: &str, add: &str| {
        b.post(
            "/admin/groups/members",
            &[
                ("csrf", &token),
                ("group", &group),
                ("user", user),
                ("add", add),
            ],
        )
        .status
    };
    assert_eq!(add(&mut root, "nina", "true"), 303);
    assert!(root.get("/admin/groups").body.contains("<li>nina "));
    assert_eq!(add(&mut root, "nobody", "true"), 404);
    assert_eq!(add(&mut root, "nina", "false"), 303);
    assert!(root.get("/admin/groups").body.contains("No members."));
    assert_eq!(
        root.post("/admin/groups", &[("csrf", &token), ("name", "")])
            .status,
        400
    );
    let audit = s.audit();
    for op in ["GroupCreated", "GroupMemberAdded", "GroupMemberRemoved"] {
        assert!(
            !audit_records(&audit, op, WEB_CLIENT, "").is_empty(),
            "{op}"
        );
    }

    let config = root.get("/admin/configuration").body;
    assert!(
        config.contains("web_idle_minutes") && config.contains("45 min"),
        "{config}"
    );
    assert!(config.contains("set (hidden)"));
    assert!(
        !config.contains(key) && !config.contains("q83vEjRW"),
        "the key must not show"
    );
    let mut nina = Browser::new(&s);
    nina.sign_in("nina", "nina-password-1");
    assert_eq!(nina.get("/admin/configuration").status, 404);
    assert_eq!(nina.get("/admin/groups").status, 404);
}

#[test]
fn ssh_keys_are_added_and_removed_but_never_to_a_higher_role() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("nina", "member", "nina-password-1");
    s.add_user("sys", "system", "sys-password-1");
    let key_path = s.dir.path().join("id_test");
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "<b>laptop</b>", "-f"])
        .arg(&key_path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let line = std::fs::read_to_string(key_path.with_extension("pub")).unwrap();
    let (mut root, token) = admin(&s);
    let r = root.post(
        "/admin/users/keys",
        &[("csrf", &token), ("name", "nina"), ("line", line.trim())],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = root.get("/admin/users/keys?name=nina").body;
    assert!(
        page.contains("SHA256:") && page.contains("&lt;b&gt;laptop&lt;/b&gt;"),
        "{page}"
    );
    assert!(
        s.ferry_ok(&["user", "list-keys", "nina"], None)
            .contains("SHA256:")
    );
    let at = page.find(r#"name="fingerprint" value=""#).unwrap();
    let fp: String = page[at + 26..].chars().take_while(|c| *c != '"').collect();
    let r = root.post(
        "/admin/users/keys/remove",
        &[("csrf", &token), ("name", "nina"), ("fingerprint", &fp)],
    );
    assert_eq!(r.status, 303);
    assert!(
        root.get("/admin/users/keys?name=nina")
            .body
            .contains("No keys.")
    );

    // A key is a way in: an Administrator may not give one to a System user.
    let r = root.post(
        "/admin/users/keys",
        &[("csrf", &token), ("name", "sys"), ("line", line.trim())],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        !s.ferry_ok(&["user", "list-keys", "sys"], None)
            .contains("SHA256:")
    );
    for bad in ["ssh-ed25519 AAAA not-base64!", "", "ssh-rsa"] {
        let r = root.post(
            "/admin/users/keys",
            &[("csrf", &token), ("name", "nina"), ("line", bad)],
        );
        assert_eq!(r.status, 400, "{bad:?}");
    }
    assert_eq!(root.get("/admin/users/keys?name=nobody").status, 404);
}
