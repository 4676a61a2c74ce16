//! What a change to a user ends (issue 15): a password set by an administrator or changed by
//! the user, a role change and a removed SSH key end the sessions they should, and the SFTP
//! and FTPS connections held open on them (idle ones too), checked with paramiko and ftplib.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::held_upload::{finish_held_upload, held_upload};
use common::paused_get::paused_get;
use common::web::Browser;
use common::{ADMIN, ADMIN_PASSWORD, APP, Server, assert_error, run_ok};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(
    a_disabled_applications_sessions_are_refused_until_it_is_enabled_again,
    changing_ones_own_password_keeps_only_that_session,
    what_ends_an_impersonators_sessions_ends_its_impersonations,
    a_disabled_application_refuses_the_sessions_it_impersonated_under_another,
    a_grant_taken_away_refuses_an_upload_in_progress,
    an_upload_in_progress_ends_with_its_session
);

const PROTOCOLS: &str = "[sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\n";

/// Holds the connections `specs` describes open until `change` has run, then reports which
/// the server ended (see `revocation/hold_connections.py`): (name, "ended" | "alive").
fn hold_while(s: &Server, specs: &[String], change: impl FnOnce()) -> Vec<(String, String)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/revocation/hold_connections.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(s.sftp_port().to_string())
        .arg(s.ftps_port().to_string())
        .args(specs)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with paramiko is required by the test suite");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "the connections did not sign in");
    change();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut report = Vec::new();
    for line in out.lines() {
        let line = line.unwrap();
        let (name, state) = line.split_once(' ').unwrap();
        report.push((name.to_string(), state.to_string()));
    }
    assert!(child.wait().unwrap().success(), "the client script failed");
    report
}

fn state<'a>(report: &'a [(String, String)], name: &str) -> &'a str {
    &report.iter().find(|(n, _)| n == name).unwrap().1
}

fn revoked_for(s: &Server, why: &str) -> Vec<i64> {
    let mut apps: Vec<i64> = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "SessionRevoked" && r["detail"] == why)
        .map(|r| r["application_id"].as_i64().unwrap())
        .collect();
    apps.sort();
    apps
}

#[test]
fn a_password_set_by_an_administrator_ends_every_session_and_connection() {
    let s = Server::start_with(Backend::Sqlite, PROTOCOLS);
    s.add_user("alice", "member", "alice-password");
    let (api, _) = s.open("alice", "alice-password", APP);
    let (immutable, _) = s.open_with("OpenImmutable", "alice", "alice-password", APP);
    let report = hold_while(
        &s,
        &[
            "sftp:sftp:alice:alice-password".into(),
            "ftps:ftps:alice:alice-password".into(),
        ],
        || {
            s.ferry_ok(
                &["user", "passwd", "alice", "--password-stdin"],
                Some("a-whole-new-password\n"),
            );
        },
    );
    assert_eq!(state(&report, "sftp"), "ended", "{report:?}");
    assert_eq!(state(&report, "ftps"), "ended", "{report:?}");
    assert!(!s.alive(&api));
    assert!(!s.alive(&immutable), "immutable sessions end too");
    assert_eq!(revoked_for(&s, "password changed"), [2, 3, APP, APP]);
    // The new password works on every protocol at once; the old one nowhere.
    assert_error(
        &s.call(
            "Open",
            json!({"userName": "alice", "password": "alice-password", "applicationID": APP}),
        ),
        401,
        102,
    );
    let report = hold_while(
        &s,
        &[
            "sftp:sftp:alice:a-whole-new-password".into(),
            "ftps:ftps:alice:a-whole-new-password".into(),
        ],
        || {},
    );
    assert_eq!(state(&report, "sftp"), "alive");
    assert_eq!(state(&report, "ftps"), "alive");
}

#[test]
fn a_removed_key_ends_what_it_opened_and_a_role_change_ends_everything() {
    let s = Server::start_with(Backend::Sqlite, PROTOCOLS);
    s.add_user("alice", "member", "alice-password");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    run_ok(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
            .arg(&key),
    );
    let added = s.ferry_ok(
        &[
            "user",
            "add-key",
            "alice",
            "--key-file",
            &format!("{}.pub", key.display()),
        ],
        None,
    );
    let fingerprint = added.split_whitespace().nth(2).unwrap().to_string();
    let report = hold_while(
        &s,
        &[
            format!("bykey:sftp-key:alice:{}", key.display()),
            "bypassword:sftp:alice:alice-password".into(),
            "ftps:ftps:alice:alice-password".into(),
        ],
        || {
            s.ferry_ok(&["user", "remove-key", "alice", &fingerprint], None);
        },
    );
    assert_eq!(state(&report, "bykey"), "ended", "{report:?}");
    assert_eq!(state(&report, "bypassword"), "alive", "{report:?}");
    assert_eq!(state(&report, "ftps"), "alive", "{report:?}");
    assert_eq!(revoked_for(&s, "SSH key removed"), [2]);

    let (api, _) = s.open("alice", "alice-password", APP);
    let report = hold_while(
        &s,
        &[
            "sftp:sftp:alice:alice-password".into(),
            "ftps:ftps:alice:alice-password".into(),
        ],
        || {
            s.ferry_ok(&["user", "set-role", "alice", "manager"], None);
        },
    );
    assert_eq!(state(&report, "sftp"), "ended", "{report:?}");
    assert_eq!(state(&report, "ftps"), "ended", "{report:?}");
    assert!(s.ends(&api));
    let (_, user) = s.call(
        "GetCurrentUser",
        json!({"sessionID": s.open("alice", "alice-password", APP).0}),
    );
    assert_eq!(user["Role"], 4);
    let changed = s
        .audit()
        .into_iter()
        .rfind(|r| r["operation"] == "UserUpdated")
        .unwrap();
    assert_eq!(changed["detail"], "role member -> manager");
    // An unknown role changes nothing.
    assert!(
        !s.ferry(&["user", "set-role", "alice", "emperor"], None)
            .status
            .success()
    );
}

fn changing_ones_own_password_keeps_only_that_session(backend: Backend) {
    let s = Server::start(backend);
    s.add_app(1000);
    s.add_user("bob", "member", "bob-password");
    let (here, _) = s.open("bob", "bob-password", APP);
    let (elsewhere, _) = s.open("bob", "bob-password", 1000);
    let change = |session: &str, old: &str, new: &str| {
        s.call(
            "ChangePassword",
            json!({"sessionID": session, "oldPassword": old, "newPassword": new}),
        )
    };
    assert_error(&change(&here, "not-it", "bob-new-password"), 401, 102);
    assert_error(&change(&here, "bob-password", ""), 400, 110);
    assert!(s.alive(&elsewhere), "a refused change ends nothing");
    let (status, body) = change(&here, "bob-password", "bob-new-password");
    assert_eq!(status, 204, "{body}");
    assert!(s.alive(&here), "the session that changed it lives on");
    assert!(!s.alive(&elsewhere));
    assert_eq!(revoked_for(&s, "password changed"), [1000]);
    assert_error(
        &s.call(
            "Open",
            json!({"userName": "bob", "password": "bob-password", "applicationID": APP}),
        ),
        401,
        102,
    );
    // (Signing in again replaces `here`, an Open session of the same application.)
    let (here, _) = s.open("bob", "bob-new-password", APP);
    // An impersonating service cannot change it (it does not know the password anyway).
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let (_, imp) = s.call(
        "OpenImmutableImpersonate",
        json!({"serviceSessionId": admin, "userID": 2, "applicationID": APP, "ipAddress": "10.0.0.1"}),
    );
    assert_error(
        &change(
            imp["SessionID"].as_str().unwrap(),
            "bob-new-password",
            "x-password-2",
        ),
        403,
        105,
    );
    // Wrong current passwords count toward the lock-out like failed sign-ins.
    for _ in 0..5 {
        change(&here, "guess", "whatever-password");
    }
    assert_error(
        &change(&here, "bob-new-password", "whatever-password"),
        429,
        103,
    );
    // The password was never logged.
    let log = s.log();
    assert!(!log.contains("bob-new-password") && !log.contains("bob-password"));
}

/// A service account's impersonated sessions (`OpenImmutableImpersonate`) are the target's,
/// but their power is the service account's: disabling it, changing its role or setting its
/// password ends them too. Before, they lived on to their 48 hours, so a leaked service account
/// disabled at once still acted as everyone it had impersonated.
fn what_ends_an_impersonators_sessions_ends_its_impersonations(backend: Backend) {
    let s = Server::start(backend);
    let bob = s.add_user("bob", "member", "bob-password-1");
    for (i, change) in ["passwd", "set-role", "disable"].into_iter().enumerate() {
        let service = format!("svc{i}");
        s.add_user(&service, "system", "svc-password-123");
        let (svc_session, _) = s.open(&service, "svc-password-123", APP);
        let (status, imp) = s.call(
            "OpenImmutableImpersonate",
            json!({"serviceSessionId": svc_session, "userID": bob, "applicationID": APP, "ipAddress": "10.0.0.1"}),
        );
        assert_eq!(status, 200, "{imp}");
        let imp = imp["SessionID"].as_str().unwrap().to_string();
        let (own_bob, _) = s.open_with("OpenImmutable", "bob", "bob-password-1", APP);
        let works = |sid: &str| s.call("GetCurrentUser", json!({"sessionID": sid})).0 == 200;
        assert!(works(&imp));
        match change {
            "passwd" => {
                s.ferry_ok(
                    &["user", "passwd", &service, "--password-stdin"],
                    Some("svc-password-456\n"),
                );
            }
            "set-role" => {
                s.ferry_ok(&["user", "set-role", &service, "member"], None);
            }
            _ => {
                s.ferry_ok(&["user", "disable", &service], None);
            }
        }
        // Changed by another process (the CLI): on PostgreSQL this node's session cache hears
        // of it from the database's notice, within milliseconds (`Server::ends` waits for it).
        assert!(s.ends(&imp), "{change}: the impersonated session ended");
        assert!(works(&own_bob), "{change}: bob's own session is his");
    }
    let ended: Vec<_> = s
        .audit()
        .into_iter()
        .filter(|r| {
            r["operation"] == "SessionRevoked"
                && r["detail"]
                    .as_str()
                    .is_some_and(|d| d.ends_with("(the impersonating user)"))
        })
        .collect();
    assert_eq!(ended.len(), 3, "{ended:?}");
    assert!(ended.iter().all(|r| r["user_id"] == bob));
}

/// An upload can take hours. Before, one begun before its user was disabled (or given a new
/// password, or its session closed) was recorded when its bytes had arrived, as that user,
/// after the CLI had said "signed out everywhere". Now it ends with its session, as SFTP and
/// FTPS connections do: refused with 101, nothing stored, and the failure audited.
fn an_upload_in_progress_ends_with_its_session(backend: Backend) {
    let s = Server::start(backend);
    s.add_user("bob", "member", "bob-password");
    s.add_user("carol", "member", "carol-password");
    let signed_in = |user: &str| {
        let (session, _) = s.open(user, &format!("{user}-password"), APP);
        let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
        (session, home["FolderID"].as_i64().unwrap())
    };
    let (bob, bob_home) = signed_in("bob");
    let (carol, carol_home) = signed_in("carol");
    let disabled = held_upload(&s, &bob, bob_home, "while-disabled.bin");
    let closed = held_upload(&s, &carol, carol_home, "while-closed.bin");

    s.ferry_ok(&["user", "disable", "bob"], None);
    let (status, _) = s.call("Close", json!({"sessionID": carol}));
    assert_eq!(status, 204);
    // This node has seen both sessions end (on PostgreSQL, its cache has had the notices).
    for session in [&bob, &carol] {
        assert_error(
            &s.call("GetCurrentUser", json!({"sessionID": session})),
            401,
            101,
        );
    }
    for held in [disabled, closed] {
        let answer = finish_held_upload(held);
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
        assert!(answer.contains("\"ErrorCode\":101"), "{answer}");
    }
    let (carol, _) = signed_in("carol");
    assert!(s.home_files(&carol).is_empty(), "nothing was stored");
    let count = |operation: &str| {
        s.audit()
            .into_iter()
            .filter(|r| r["operation"] == operation)
            .count()
    };
    assert_eq!(count("FileUploaded"), 0, "nothing was recorded");
    assert_eq!(count("UploadFailed"), 2, "each refusal is audited");
}

/// A partner's access withdrawn while their upload's bytes arrive: the upload is refused
/// when they have (105, nothing stored, `UploadFailed`), as it is when the session ends.
/// Before, it was recorded with the rights read when it began, so the trail showed a
/// `FileUploaded` after the `PermissionsChanged` that took the bit away.
fn a_grant_taken_away_refuses_an_upload_in_progress(backend: Backend) {
    let s = Server::start(backend);
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let (status, inbox) = s.call(
        "CreateFolder",
        json!({"sessionID": admin, "parentFolderID": 3, "name": "Inbox"}),
    );
    assert_eq!(status, 200, "{inbox}");
    let inbox = inbox["FolderID"].as_i64().unwrap();
    let grant = |users: &[i64]| {
        let list: Vec<(i64, i64)> = users.iter().map(|u| (*u, 7)).collect();
        s.set_grants(&admin, inbox, &list);
    };
    let bob = s.add_user("bob", "member", "bob-password");
    let carol = s.add_user("carol", "member", "carol-password");
    grant(&[bob, carol]);
    let (bob_session, _) = s.open("bob", "bob-password", APP);
    let (carol_session, _) = s.open("carol", "carol-password", APP);
    let withdrawn = held_upload(&s, &bob_session, inbox, "bob.bin");
    let kept = held_upload(&s, &carol_session, inbox, "carol.bin");

    grant(&[carol]);
    // Past the second within which an upload keeps its checks' reading.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let answer = finish_held_upload(withdrawn);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("\"ErrorCode\":105"), "{answer}");
    let answer = finish_held_upload(kept);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let (_, files) = s.call(
        "GetFiles",
        json!({"sessionID": admin, "folderID": inbox, "skip": 0, "take": 10}),
    );
    let names: Vec<_> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["Name"].clone())
        .collect();
    assert_eq!(names, vec![json!("carol.bin")]);
    let audit = s.audit();
    let of = |op: &str| {
        audit
            .iter()
            .filter(|r| r["operation"] == op)
            .map(|r| (r["user_id"].as_i64().unwrap(), r["path"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(of("FileUploaded"), vec![(carol, json!("carol.bin"))]);
    assert_eq!(of("UploadFailed"), vec![(bob, json!("bob.bin"))]);
}

/// A download over HTTP runs for as long as its client reads: read slowly by a live session it
/// comes whole; when its user is disabled meanwhile (which ends their sessions), it is broken
/// off within a second, as an SFTP or FTPS transfer is, instead of sending the rest of the file.
#[test]
fn a_download_in_progress_ends_with_its_session() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("bob", "member", "bob-password-1");
    let (bob, _) = s.open("bob", "bob-password-1", APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": bob}));
    let home = home["FolderID"].as_i64().unwrap();
    // 10 MiB: more than the server's socket buffer takes, so a slow reader makes it wait.
    let size = common::paused_get::beyond_socket_buffers(10 << 20) as u32;
    let content: Vec<u8> = (0..size).map(|i: u32| (i % 253) as u8).collect();
    let (status, file) = s.put_file(&bob, home, "big.bin", "", &content);
    assert_eq!(status, 200);
    let path = format!("/api/v1/files/{}/content", file["FileID"]);
    let pause = || std::thread::sleep(std::time::Duration::from_millis(1500));

    let slow = paused_get(&s.base, &path, &[("X-Session-ID", &bob)], pause);
    assert!(slow.head.starts_with("HTTP/1.1 200"), "{}", slow.head);
    assert!(slow.complete && slow.body == content);

    let cut = paused_get(&s.base, &path, &[("X-Session-ID", &bob)], || {
        s.ferry_ok(&["user", "disable", "bob"], None);
        pause();
    });
    assert!(
        !cut.complete,
        "{} of {} bytes",
        cut.body.len(),
        content.len()
    );
    assert!(cut.body.len() < content.len() - (1 << 20));
    assert!(s.log().contains("download broken off"), "{}", s.log());
    // The audit log says so too: the whole download first, then only the cut one.
    let cut_off = common::awaited_audit(&s, "DownloadBrokenOff", 1);
    assert_eq!(cut_off.len(), 1, "{cut_off:?}");
    assert_eq!(cut_off[0]["file_id"], file["FileID"]);
    assert!(cut_off[0]["size"].as_i64().unwrap() < content.len() as i64);
}

/// Disabling an application refuses the sessions it already has (101, as an ended one), on
/// every node's cache (PostgreSQL's here lives a minute, so only the database's notice can
/// explain the refusal) and on SFTP and FTPS connections, until it is enabled again; then the
/// same sessions work. Before, they lived on (an immutable one up to 48 hours): disabling a
/// leaked integration's application did not stop the sessions already opened with it.
fn a_disabled_applications_sessions_are_refused_until_it_is_enabled_again(backend: Backend) {
    let s = Server::start_with(
        backend,
        &format!("{PROTOCOLS}[sessions]\ncache_milliseconds = 60000\n"),
    );
    s.add_user("alice", "member", "alice-password");
    let (api, _) = s.open("alice", "alice-password", APP);
    let (immutable, _) = s.open_with("OpenImmutable", "alice", "alice-password", APP);
    assert!(s.alive(&api) && s.alive(&immutable), "checked, so cached");
    let report = hold_while(
        &s,
        &[
            "sftp:sftp:alice:alice-password".into(),
            "ftps:ftps:alice:alice-password".into(),
        ],
        || {
            for app in [APP.to_string(), "2".into(), "3".into()] {
                s.ferry_ok(&["app", "disable", &app], None);
            }
        },
    );
    assert_eq!(state(&report, "sftp"), "ended", "{report:?}");
    assert_eq!(state(&report, "ftps"), "ended", "{report:?}");
    assert!(s.ends(&api), "the disabled application's session refused");
    assert!(s.ends(&immutable), "immutable ones too");
    let disabled = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "ApplicationChanged")
        .map(|r| r["detail"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert_eq!(disabled.len(), 3);
    assert!(
        disabled
            .iter()
            .all(|d| d == "disabled: its sessions are refused until it is enabled again"),
        "{disabled:?}"
    );
    // Enabled again, the same sessions work, and the protocols sign in.
    for app in [APP.to_string(), "2".into(), "3".into()] {
        s.ferry_ok(&["app", "enable", &app], None);
    }
    assert!(
        s.alive(&api) && s.alive(&immutable),
        "the same sessions back"
    );
    let report = hold_while(
        &s,
        &[
            "sftp:sftp:alice:alice-password".into(),
            "ftps:ftps:alice:alice-password".into(),
        ],
        || {},
    );
    assert_eq!(state(&report, "sftp"), "alive", "{report:?}");
    assert_eq!(state(&report, "ftps"), "alive", "{report:?}");

    // The console may disable a client's application, not the one it is itself using.
    let mut admin = Browser::new(&s);
    assert_eq!(admin.sign_in(ADMIN, ADMIN_PASSWORD).status, 303);
    let csrf = admin.csrf("/admin/applications");
    let set = |admin: &mut Browser, id: &str| {
        admin.post(
            "/admin/applications/enabled",
            &[("csrf", &csrf), ("id", id), ("enabled", "false")],
        )
    };
    assert_eq!(set(&mut admin, "5").status, 403);
    assert_eq!(
        admin.get("/admin/applications").status,
        200,
        "still signed in"
    );
    assert_eq!(set(&mut admin, &APP.to_string()).status, 303);
    assert!(s.ends(&immutable), "refused after the console's change");
}

/// `OpenImmutableImpersonate` may open the user's session under another application ID than
/// the service session's. Disabling the integration's own application refuses what it
/// impersonated too, whatever ID the new session carries: the power was the integration's.
/// Before, those sessions lived on for their 48 hours. The user's own sessions under the
/// other ID, and sessions impersonated by another integration, go on.
fn a_disabled_application_refuses_the_sessions_it_impersonated_under_another(backend: Backend) {
    let s = Server::start_with(backend, "[sessions]\ncache_milliseconds = 60000\n");
    let portal = APP + 1;
    s.add_app(portal);
    let bob = s.add_user("bob", "member", "bob-password-1");
    s.add_user("svc", "system", "svc-password-123");
    let (svc, _) = s.open_with("OpenImmutable", "svc", "svc-password-123", APP);
    let (other_svc, _) = s.open_with("OpenImmutable", "svc", "svc-password-123", portal);
    let impersonate = |service: &str| {
        let (status, imp) = s.call(
            "OpenImmutableImpersonate",
            json!({"serviceSessionId": service, "userID": bob, "applicationID": portal, "ipAddress": "10.0.0.1"}),
        );
        assert_eq!(status, 200, "{imp}");
        imp["SessionID"].as_str().unwrap().to_string()
    };
    let by_app = impersonate(&svc);
    let by_portal = impersonate(&other_svc);
    let (own, _) = s.open_with("OpenImmutable", "bob", "bob-password-1", portal);
    assert!(
        s.alive(&by_app) && s.alive(&by_portal) && s.alive(&own),
        "cached"
    );

    s.ferry_ok(&["app", "disable", &APP.to_string()], None);
    assert!(s.ends(&svc), "the service session refused");
    assert!(s.ends(&by_app), "and what it impersonated under {portal}");
    assert!(s.alive(&by_portal), "impersonated by a session of {portal}");
    assert!(s.alive(&own), "bob's own session under {portal}");

    s.ferry_ok(&["app", "enable", &APP.to_string()], None);
    assert!(s.alive(&by_app), "the same session back once it is enabled");
}
