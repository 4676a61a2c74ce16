//! Directory sync (`ferry sso-sync` and the `[sso.sync]` schedule) against a real OpenLDAP
//! slapd seeded with people and groups, some with OpenLDAP's attributes (`uid`, `entryUUID`),
//! some with Active Directory's (`sAMAccountName`, binary `objectGUID`). The synced users then
//! sign in with tickets, which ties the two halves of single sign-on together.

mod common;

use std::process::Output;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{ADMIN, ADMIN_PASSWORD, Server, assert_error};
use ferry_testkit::slapd::{self, Slapd};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

const SSO: &str =
    "[sso]\nsite_name = \"files.example.com\"\npassword = \"test-shared-password-0123456789\"\n";
const BASE: &str = "dc=corp,dc=example";
const USERS: &str = "cn=ferry-users,ou=Groups,dc=corp,dc=example";
/// Bob's objectGUID bytes 00..0f, in Microsoft's text form.
const BOB_GUID: &str = "03020100-0504-0706-0809-0a0b0c0d0e0f";

on_both_backends!(sync_creates_updates_renames_and_deactivates);

fn person(uid: &str, mail: &str, given: &str, sn: &str) -> String {
    format!(
        "dn: uid={uid},ou=People,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {given} {sn}\n\
         givenName: {given}\nsn: {sn}\nmail: {mail}\n\n"
    )
}

fn seed() -> String {
    let guid: Vec<u8> = (0u8..16).collect();
    let mut ldif = format!(
        "dn: ou=People,{BASE}\nobjectClass: organizationalUnit\nou: People\n\n\
         dn: ou=Groups,{BASE}\nobjectClass: organizationalUnit\nou: Groups\n\n\
         dn: cn=Bob Smith,ou=People,{BASE}\nobjectClass: inetOrgPerson\nobjectClass: ferryTestAdUser\n\
         cn: Bob Smith\nsn: Smith\ngivenName: Bob\nmail: bob@corp.example\nsAMAccountName: bsmith\n\
         objectGUID:: {}\n\n",
        STANDARD.encode(&guid)
    );
    for (uid, mail, given, sn) in [
        ("ann", "ann@corp.example", "Ann", "Lee"),
        ("carl", "carl@corp.example", "Carl", "Berg"),
        ("dora", "dora@corp.example", "Dora", "Ng"),
        ("eve", "eve@corp.example", "Eve", "Ross"),
        ("faye", "faye@corp.example", "Faye", "Ito"),
        ("gina", "gina@corp.example", "Gina", "Moss"),
        ("outsider", "outsider@corp.example", "Out", "Sider"),
    ] {
        ldif.push_str(&person(uid, mail, given, sn));
    }
    let p = |uid: &str| format!("member: uid={uid},ou=People,{BASE}\n");
    ldif.push_str(&format!(
        "dn: {USERS}\nobjectClass: groupOfNames\ncn: ferry-users\n{}{}{}member: cn=Bob Smith,ou=People,{BASE}\n\
         member: cn=ferry-nested,ou=Groups,{BASE}\n\n",
        p("ann"),
        p("carl"),
        p("eve")
    ));
    // Nested, and a cycle back to the outer group.
    ldif.push_str(&format!(
        "dn: cn=ferry-nested,ou=Groups,{BASE}\nobjectClass: groupOfNames\ncn: ferry-nested\n{}member: {USERS}\n\n",
        p("dora")
    ));
    ldif.push_str(&format!(
        "dn: cn=ferry-posix,ou=Groups,{BASE}\nobjectClass: posixGroup\ncn: ferry-posix\ngidNumber: 5000\n\
         memberUid: ann\nmemberUid: faye\n\n\
         dn: cn=ferry-empty,ou=Groups,{BASE}\nobjectClass: posixGroup\ncn: ferry-empty\ngidNumber: 5001\n\n"
    ));
    // A group one of whose members is a referral: reading it fails half-way.
    ldif.push_str(&format!(
        "dn: ou=elsewhere,{BASE}\nobjectClass: referral\nobjectClass: extensibleObject\nou: elsewhere\n\
         ref: ldap://127.0.0.1:9/ou=elsewhere,{BASE}\n\n\
         dn: cn=ferry-broken,ou=Groups,{BASE}\nobjectClass: groupOfNames\ncn: ferry-broken\n{}{}{}member: ou=elsewhere,{BASE}\n\n",
        p("ann"),
        p("gina"),
        p("carl")
    ));
    ldif
}

fn sync(s: &Server, url: &str, group: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "sso-sync",
        "--ldap-url",
        url,
        "--bind-dn",
        slapd::ADMIN_DN,
        "--bind-password-stdin",
        "--base-dn",
        BASE,
        "--group-dn",
        group,
        "--timeout-secs",
        "10",
    ];
    args.extend(extra);
    s.ferry(&args, Some(&format!("{}\n", slapd::ADMIN_PASSWORD)))
}

#[track_caller]
fn sync_ok(s: &Server, url: &str, group: &str, extra: &[&str]) -> String {
    let out = sync(s, url, group, extra);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "sso-sync failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[track_caller]
fn sync_fails(s: &Server, url: &str, group: &str, extra: &[&str]) -> String {
    let out = sync(s, url, group, extra);
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn summary_line(stdout: &str) -> &str {
    stdout.lines().last().unwrap_or("")
}

/// Signs in by ticket as `CORP\account`; the session and the user, or the refusal.
fn ticket_user(s: &Server, account: &str) -> Result<(String, Value), (u16, Value)> {
    let ticket = s.ferry_ok(
        &["ticket", "issue", "--user", &format!("CORP\\{account}")],
        None,
    );
    let answer = s.call(
        "OpenWithTicket",
        json!({"ticket": ticket.trim(), "applicationID": 1000}),
    );
    if answer.0 != 200 {
        return Err(answer);
    }
    let session = answer.1["SessionID"].as_str().unwrap().to_string();
    let (_, user) = s.call("GetCurrentUser", json!({"sessionID": session}));
    Ok((session, user))
}

fn user_names(s: &Server) -> String {
    s.ferry_ok(&["user", "list"], None)
}

fn start() -> (Slapd, impl Fn(Backend) -> Server) {
    let directory = Slapd::start(&seed());
    let server = |backend| {
        let s = Server::start_with(backend, SSO);
        s.add_app(1000);
        // A local user who owns eve's address: the directory must not take it over.
        s.ferry_ok(
            &[
                "user",
                "add",
                "eve-local",
                "--role",
                "member",
                "--email",
                "EVE@corp.example",
            ],
            None,
        );
        s
    };
    (directory, server)
}

fn sync_creates_updates_renames_and_deactivates(backend: Backend) {
    let (d, server) = start();
    let s = server(backend);
    let before = user_names(&s);

    let plan = sync_ok(&s, &d.url, USERS, &["--dry-run"]);
    assert_eq!(
        summary_line(&plan),
        "created 4, updated 0, deactivated 0, unchanged 0, conflicts 1 (dry run)",
        "{plan}"
    );
    assert!(
        plan.contains("eve: e-mail eve@corp.example belongs to the local user eve-local"),
        "{plan}"
    );
    assert_eq!(user_names(&s), before, "a dry run changes nothing");

    let applied = sync_ok(&s, &d.url, USERS, &[]);
    assert_eq!(
        summary_line(&applied),
        "created 4, updated 0, deactivated 0, unchanged 0, conflicts 1",
        "{applied}"
    );
    let list = user_names(&s);
    for name in ["ann", "bsmith", "carl", "dora"] {
        assert!(list.contains(name), "{name} missing: {list}");
    }
    assert!(!list.contains("outsider"));

    // Active Directory attributes: account name and binary GUID.
    let (_, bob) = ticket_user(&s, "bsmith").unwrap();
    assert_eq!(bob["UserSyncID"], BOB_GUID, "{bob}");
    assert_eq!(bob["DomainUsername"], "CORP\\bsmith");
    assert_eq!(bob["Email"], "bob@corp.example");
    assert_eq!(bob["FirstName"], "Bob");
    assert_eq!(bob["LastName"], "Smith");
    assert_eq!(bob["Role"], 3);
    assert!(bob["HomeFolderID"].is_i64());
    // OpenLDAP attributes: uid and entryUUID.
    let (_, ann) = ticket_user(&s, "ann").unwrap();
    assert_eq!(ann["UserSyncID"].as_str().unwrap().len(), 36, "{ann}");
    let (_, carl) = ticket_user(&s, "carl").unwrap();
    let (dora_session, _) = ticket_user(&s, "dora").unwrap();

    let again = sync_ok(&s, &d.url, USERS, &[]);
    assert_eq!(
        summary_line(&again),
        "created 0, updated 0, deactivated 0, unchanged 4, conflicts 1"
    );

    // Carl is renamed (same entryUUID), Ann's address changes, Dora leaves the nested group.
    d.modify(&format!(
        "dn: uid=carl,ou=People,{BASE}\nchangetype: modrdn\nnewrdn: uid=charles\ndeleteoldrdn: 1\n\n\
         dn: {USERS}\nchangetype: modify\ndelete: member\nmember: uid=carl,ou=People,{BASE}\n-\n\
         add: member\nmember: uid=charles,ou=People,{BASE}\n\n\
         dn: uid=ann,ou=People,{BASE}\nchangetype: modify\nreplace: mail\nmail: ann.lee@corp.example\n\n\
         dn: cn=ferry-nested,ou=Groups,{BASE}\nchangetype: modify\ndelete: member\nmember: uid=dora,ou=People,{BASE}\n"
    ));
    let changed = sync_ok(&s, &d.url, USERS, &[]);
    assert_eq!(
        summary_line(&changed),
        "created 0, updated 2, deactivated 1, unchanged 1, conflicts 1",
        "{changed}"
    );
    let (_, charles) = ticket_user(&s, "charles").unwrap();
    assert_eq!(charles["UserID"], carl["UserID"], "a rename keeps the user");
    assert_eq!(charles["Name"], "charles");
    assert_error(&ticket_user(&s, "carl").unwrap_err(), 401, 130);
    let (_, ann) = ticket_user(&s, "ann").unwrap();
    assert_eq!(ann["Email"], "ann.lee@corp.example");
    assert!(
        !s.alive(&dora_session),
        "leaving the group ends the sessions"
    );
    assert_error(&ticket_user(&s, "dora").unwrap_err(), 401, 130);

    // Dora comes back.
    d.modify(&format!(
        "dn: cn=ferry-nested,ou=Groups,{BASE}\nchangetype: modify\nadd: member\nmember: uid=dora,ou=People,{BASE}\n"
    ));
    let back = sync_ok(&s, &d.url, USERS, &[]);
    assert!(
        summary_line(&back).starts_with("created 0, updated 1, deactivated 0"),
        "{back}"
    );
    assert!(ticket_user(&s, "dora").is_ok());

    let audit = s.audit();
    let count = |op: &str| audit.iter().filter(|r| r["operation"] == op).count();
    assert_eq!(count("DirectorySynced"), 4, "dry runs are not audited");
    assert!(count("UserUpdated") >= 2);
    assert!(count("UserDisabled") >= 1);
    assert!(count("UserEnabled") >= 1);
    assert!(audit.iter().any(|r| r["operation"] == "UserCreated"
        && r["path"] == "bsmith"
        && r["detail"] == "directory sync"));
    assert!(
        audit.iter().any(|r| r["operation"] == "SessionRevoked"
            && r["detail"] == "user left the directory group")
    );
}

#[test]
fn a_sync_is_all_or_nothing_and_guards_against_mass_deactivation() {
    let (mut d, server) = start();
    let s = server(Backend::Sqlite);
    sync_ok(&s, &d.url, USERS, &[]);
    let users = user_names(&s);

    // An empty group would deactivate everyone: refused, also as a dry run.
    let empty = format!("cn=ferry-empty,ou=Groups,{BASE}");
    let err = sync_fails(&s, &d.url, &empty, &[]);
    assert!(err.contains("would deactivate 4 of 4"), "{err}");
    sync_fails(&s, &d.url, &empty, &["--dry-run"]);
    // Three of four leaving is over 25%, but not over the default floor of 10 users: a small
    // company's leavers are not held back (shown by a dry run). Over both bounds, it is held
    // back, and the audit says what was held back.
    let posix = format!("cn=ferry-posix,ou=Groups,{BASE}");
    let dry = sync_ok(&s, &d.url, &posix, &["--dry-run"]);
    assert!(summary_line(&dry).contains("deactivated 3"), "{dry}");
    let err = sync_fails(&s, &d.url, &posix, &["--max-deactivate-count", "2"]);
    assert!(err.contains("would deactivate 3 of 4"), "{err}");
    let held = s
        .audit()
        .into_iter()
        .rfind(|r| r["operation"] == "DirectorySynced" && r["status"] == "Failure")
        .expect("the held-back sync is audited");
    let detail = held["detail"].as_str().unwrap();
    assert!(detail.starts_with("held back: "), "{detail}");
    assert!(
        detail.contains("bsmith"),
        "names who would have left: {detail}"
    );
    // A member that cannot be read fails the whole sync before anything changes.
    let broken = format!("cn=ferry-broken,ou=Groups,{BASE}");
    let err = sync_fails(&s, &d.url, &broken, &["--force"]);
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(err.contains("referral"), "{err}");
    assert_eq!(err.matches("referral").count(), 1, "said once: {err}");
    // A group that does not exist, a wrong password, a directory that is not there.
    let err = sync_fails(&s, &d.url, &format!("cn=nope,ou=Groups,{BASE}"), &[]);
    assert!(err.contains("does not exist"), "{err}");
    let out = s.ferry(
        &[
            "sso-sync",
            "--ldap-url",
            &d.url,
            "--bind-dn",
            slapd::ADMIN_DN,
            "--bind-password-stdin",
            "--base-dn",
            BASE,
            "--group-dn",
            USERS,
        ],
        Some("wrong-password\n"),
    );
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("wrong-password"));
    assert_eq!(user_names(&s), users, "failed syncs changed nothing");
    assert!(ticket_user(&s, "ann").is_ok());

    // Forced, the posix group's memberUids rule: ann stays, faye arrives, the rest leave.
    let forced = sync_ok(&s, &d.url, &posix, &["--force"]);
    assert_eq!(
        summary_line(&forced),
        "created 1, updated 0, deactivated 3, unchanged 1, conflicts 0",
        "{forced}"
    );
    assert!(ticket_user(&s, "faye").is_ok());
    assert!(ticket_user(&s, "bsmith").is_err());

    let url = d.url.clone();
    d.stop();
    let err = sync_fails(&s, &url, USERS, &[]);
    assert!(err.contains("cannot read the directory group"), "{err}");
}

#[test]
fn tls_is_verified_and_the_schedule_runs_in_serve() {
    let (d, server) = start();
    let s = server(Backend::Sqlite);
    let ca = d.ca_file();
    let ca = ca.to_str().unwrap();
    sync_ok(
        &s,
        &d.url,
        USERS,
        &["--starttls", "--ca-file", ca, "--dry-run"],
    );
    sync_ok(&s, &d.ldaps_url, USERS, &["--ca-file", ca, "--dry-run"]);
    // The test CA is not among the system's roots: refused.
    let err = sync_fails(&s, &d.ldaps_url, USERS, &["--dry-run"]);
    assert!(err.contains("cannot read the directory group"), "{err}");
    let err = sync_fails(&s, &d.url, USERS, &["--starttls", "--dry-run"]);
    assert!(err.contains("cannot read the directory group"), "{err}");
    assert!(!user_names(&s).contains("bsmith"));

    // The same sync on a schedule inside serve, over LDAPS.
    let password_file = s.dir.path().join("bind-password");
    std::fs::write(&password_file, format!("{}\n", slapd::ADMIN_PASSWORD)).unwrap();
    // Closed to other users, as a secret's file must be.
    std::fs::set_permissions(
        &password_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let scheduled = Server::start_with(
        Backend::Sqlite,
        &format!(
            "{SSO}\n[sso.sync]\nldap_url = \"{}\"\nbind_dn = \"{}\"\nbind_password_file = \"{}\"\n\
             base_dn = \"{BASE}\"\ngroup_dn = \"{USERS}\"\nca_file = \"{ca}\"\ninterval_minutes = 60\n",
            d.ldaps_url,
            slapd::ADMIN_DN,
            password_file.display()
        ),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !user_names(&scheduled).contains("bsmith") {
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduled sync did not run: {}",
            scheduled.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(scheduled.log().contains("scheduled directory sync"));
    let _ = (ADMIN, ADMIN_PASSWORD);
}

/// The administration console's directory page: the configured sync's last runs (the
/// schedule's first run among them), a dry-run preview that changes nothing, and a run now,
/// both through the sync `serve` has; a server without `[sso.sync]` says so.
#[test]
fn the_console_previews_and_runs_the_configured_sync() {
    use common::web::Browser;
    let (d, _) = start();
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("bind-password");
    std::fs::write(&password_file, format!("{}\n", slapd::ADMIN_PASSWORD)).unwrap();
    std::fs::set_permissions(
        &password_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let s = Server::start_with(
        Backend::Sqlite,
        &format!(
            "{SSO}\n[sso.sync]\nldap_url = \"{}\"\nbind_dn = \"{}\"\nbind_password_file = \"{}\"\n\
             base_dn = \"{BASE}\"\ngroup_dn = \"{USERS}\"\ninterval_minutes = 60\n",
            d.url,
            slapd::ADMIN_DN,
            password_file.display()
        ),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !user_names(&s).contains("bsmith") {
        assert!(std::time::Instant::now() < deadline, "{}", s.log());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let mut admin = Browser::new(&s);
    admin.sign_in(ADMIN, ADMIN_PASSWORD);
    let page = admin.get("/admin/directory").body;
    assert!(
        page.contains(&d.url) && page.contains("Last runs"),
        "{page}"
    );
    assert!(!page.contains(slapd::ADMIN_PASSWORD));
    assert!(
        page.contains("created "),
        "the scheduled run is listed: {page}"
    );
    let token = admin.csrf("/admin/directory");
    let users_before = user_names(&s);
    let preview = admin.post("/admin/directory", &[("csrf", &token), ("run", "preview")]);
    assert_eq!(preview.status, 200);
    assert!(
        preview.body.contains("What the next run would change"),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("(dry run)"));
    assert_eq!(user_names(&s), users_before);
    let now = admin.post("/admin/directory", &[("csrf", &token), ("run", "now")]);
    assert!(now.body.contains("What the run changed"), "{}", now.body);
    assert_eq!(
        admin
            .post(
                "/admin/directory",
                &[("csrf", &token), ("run", "everything")]
            )
            .status,
        400
    );

    let plain = Server::start(Backend::Sqlite);
    let mut b = Browser::new(&plain);
    b.sign_in(ADMIN, ADMIN_PASSWORD);
    assert!(
        b.get("/admin/directory")
            .body
            .contains("No directory sync is configured")
    );
}
