//! The session methods of spec 2.3 over the JSON API, against the real server, on SQLite and
//! on PostgreSQL.

mod common;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(
    open_answers_session_data_and_the_session_works,
    a_second_open_replaces_the_first_only_for_the_same_application,
    immutable_sessions_are_never_replaced,
    clients_cannot_sign_in_to_reserved_applications,
    close_ends_the_session,
    unknown_disabled_and_reserved_applications_are_refused,
    failed_sign_ins_look_the_same_whatever_the_reason,
    repeated_failures_lock_the_account_even_for_the_right_password,
    impersonation_by_an_administrator,
    impersonation_is_refused_to_members_and_for_missing_or_disabled_users,
    user_string_is_recorded_and_bounded,
    a_thousand_parallel_opens_leave_exactly_one_session,
    disabling_a_user_ends_their_sessions,
);

/// `GetServerSettings` and `GetDataCenterSettings` answer the rules this server's configuration
/// sets, to a live session only.
#[test]
fn server_settings_follow_the_configuration() {
    let s = Server::start_with(
        Backend::Sqlite,
        "[sessions]\nweb_idle_minutes = 45\nweb_max_hours = 8\n[files]\npurge_after_days = 2\n\
         user_quota = \"5G\"\n",
    );
    let (sid, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let (status, settings) = s.call("GetServerSettings", json!({"sessionID": sid}));
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["ServerName"], "Ferry");
    assert_eq!(settings["ImmutableSessionHours"], 48);
    assert_eq!(settings["WebSessionIdleMinutes"], 45);
    assert_eq!(settings["WebSessionMaxMinutes"], 480);
    assert_eq!(settings["DeletedFileRetentionHours"], 48);
    assert_eq!(settings["MinPasswordLength"], 8);
    assert_eq!(settings["MaxPageSize"], 1000);
    assert_eq!(settings["MaxMetadataItems"], 256);
    assert_eq!(settings["MaxMetadataLength"], 4000);
    assert_eq!(settings["TicketSignIn"], false);
    assert_eq!(settings["SecondFactor"], false);
    assert_eq!(settings["StorageQuotaBytes"], 5_i64 << 30);
    let (_, center) = s.call("GetDataCenterSettings", json!({"sessionID": sid}));
    assert_eq!(center, settings);
    // Nothing for a caller without a live session.
    for method in ["GetServerSettings", "GetDataCenterSettings"] {
        assert_error(&s.call(method, json!({})), 400, 110);
        assert_error(
            &s.call(
                method,
                json!({"sessionID": "8a5f2a54-7d3e-4c1e-9e4b-2f1d0c9b8a77"}),
            ),
            401,
            101,
        );
    }
}

fn open_answers_session_data_and_the_session_works(backend: Backend) {
    let s = Server::start(backend);
    s.add_app(1000);
    let bob = s.add_user("bob", "member", "bob-password");
    // Parameter names are matched case-insensitively.
    let (status, body) = s.call(
        "Open",
        json!({"USERNAME": "bob", "Password": "bob-password", "applicationid": 1000}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["UserID"], bob);
    let session = body["SessionID"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(session).is_ok());
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "exactly FTHSessionData: {body}"
    );

    // Login names are case-insensitive too.
    let (again, _) = s.open("BOB", "bob-password", 1000);
    assert!(s.alive(&again));

    let (status, user) = s.call("GetCurrentUser", json!({"sessionID": again}));
    assert_eq!(status, 200);
    assert_eq!(user["UserID"], bob);
    assert_eq!(user["Name"], "bob");
    assert_eq!(user["Email"], "bob@example.com");
    assert_eq!(user["Role"], 3);
    assert_eq!(user["Active"], true);

    let signin = s
        .audit()
        .into_iter()
        .rfind(|r| r["operation"] == "SignIn")
        .unwrap();
    assert_eq!(signin["user_id"], bob);
    assert_eq!(signin["application_id"], 1000);
    assert_eq!(signin["client_version"], "ferry-tests/1");
    assert_eq!(signin["client_ip"], "127.0.0.1");
}

fn a_second_open_replaces_the_first_only_for_the_same_application(backend: Backend) {
    let s = Server::start(backend);
    s.add_app(1000);
    s.add_app(1001);
    s.add_user("carol", "member", "carol-password");
    let (first, _) = s.open("carol", "carol-password", 1000);
    let (other_app, _) = s.open("carol", "carol-password", 1001);
    let (second, _) = s.open("carol", "carol-password", 1000);
    assert_ne!(first, second);
    assert!(!s.alive(&first), "the replaced session must answer 101");
    assert!(s.alive(&second));
    assert!(
        s.alive(&other_app),
        "another application's session lives on"
    );
    assert!(
        s.audit()
            .iter()
            .any(|r| r["operation"] == "SessionReplaced"),
        "the replacement is audited"
    );
}

fn immutable_sessions_are_never_replaced(backend: Backend) {
    let s = Server::start(backend);
    s.add_app(1000);
    s.add_user("dave", "member", "dave-password");
    let (a, _) = s.open_with("OpenImmutable", "dave", "dave-password", 1000);
    let (b, _) = s.open_with("OpenImmutable", "dave", "dave-password", 1000);
    assert_ne!(
        a, b,
        "other application IDs get a new immutable session each time"
    );
    let (c, _) = s.open("dave", "dave-password", 1000);
    let (d, _) = s.open("dave", "dave-password", 1000);
    for live in [&a, &b, &d] {
        assert!(s.alive(live));
    }
    assert!(!s.alive(&c));
}

/// Reserved IDs (1 browser tools, 2 SFTP, 3 FTPS, 4 the CLI, and up to 999) are Ferry's own
/// front ends: a client signing in to one would have its actions attributed to Ferry's tools.
fn clients_cannot_sign_in_to_reserved_applications(backend: Backend) {
    let s = Server::start(backend);
    s.add_user("erin", "member", "erin-password");
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    for app in [1, 2, 3, 4, 999] {
        for method in ["Open", "OpenImmutable"] {
            assert_error(
                &s.call(
                    method,
                    json!({"userName": "erin", "password": "erin-password", "applicationID": app}),
                ),
                403,
                104,
            );
        }
        for method in ["OpenImmutableImpersonate", "OpenImmutableUserString"] {
            assert_error(
                &s.call(
                    method,
                    json!({"serviceSessionId": admin, "userID": 2, "applicationID": app, "ipAddress": "10.0.0.1"}),
                ),
                403,
                104,
            );
        }
    }
    let refusals: Vec<_> = s
        .audit()
        .into_iter()
        .filter(|r| {
            r["detail"]
                .as_str()
                .is_some_and(|d| d.contains("reserved for Ferry's own front ends"))
        })
        .collect();
    assert_eq!(
        refusals.len(),
        20,
        "every refusal is audited with its reason"
    );
    assert!(
        !s.audit()
            .iter()
            .any(|r| r["operation"] == "SignIn" && r["user_id"] == 2),
        "no session was opened for erin"
    );
}

fn close_ends_the_session(backend: Backend) {
    let s = Server::start(backend);
    let (session, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let (status, body) = s.call("Close", json!({"sessionID": session}));
    assert_eq!(status, 204, "{body}");
    assert!(!s.alive(&session));
    assert_error(&s.call("Close", json!({"sessionID": session})), 401, 101);
    // A well-formed GUID that never was a session.
    assert_error(
        &s.call(
            "GetCurrentUser",
            json!({"sessionID": uuid::Uuid::new_v4().to_string()}),
        ),
        401,
        101,
    );
    assert!(s.audit().iter().any(|r| r["operation"] == "SignOut"));
}

fn unknown_disabled_and_reserved_applications_are_refused(backend: Backend) {
    let s = Server::start(backend);
    s.add_app(1000);
    let open = |app: i64| {
        s.call(
            "Open",
            json!({"userName": ADMIN, "password": ADMIN_PASSWORD, "applicationID": app}),
        )
    };
    assert_error(&open(1234), 403, 104);
    assert_error(&open(5), 403, 104); // below 1000 but not one of Ferry's
    assert_error(&open(-1), 403, 104);
    assert_eq!(open(1000).0, 200);
    s.ferry_ok(&["app", "disable", "1000"], None);
    assert_error(&open(1000), 403, 104);
    s.ferry_ok(&["app", "enable", "1000"], None);
    assert_eq!(open(1000).0, 200);
    // Registering a reserved or existing ID fails.
    assert!(!s.ferry(&["app", "add", "999", "x"], None).status.success());
    assert!(
        !s.ferry(&["app", "add", "1000", "again"], None)
            .status
            .success()
    );
}

fn failed_sign_ins_look_the_same_whatever_the_reason(backend: Backend) {
    let s = Server::start(backend);
    s.add_user("frank", "member", "frank-password");
    s.add_user("gina", "member", "gina-password");
    s.ferry_ok(&["user", "disable", "gina"], None);
    let attempt = |user: &str, password: &str| {
        s.call(
            "Open",
            json!({"userName": user, "password": password, "applicationID": APP}),
        )
    };
    let wrong_password = attempt("frank", "not-it");
    let unknown_user = attempt("nobody", "not-it");
    let disabled = attempt("gina", "gina-password");
    assert_error(&wrong_password, 401, 102);
    assert_eq!(wrong_password, unknown_user);
    assert_eq!(wrong_password, disabled);
    let failures: Vec<_> = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "SignInFailed")
        .collect();
    assert_eq!(failures.len(), 3, "each failure is audited");
    let reasons: Vec<_> = failures
        .iter()
        .map(|r| r["detail"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["wrong password", "unknown user", "disabled user"]);
}

fn repeated_failures_lock_the_account_even_for_the_right_password(backend: Backend) {
    let s = Server::start_with(
        backend,
        "[lockout]\naccount_threshold = 3\naddress_threshold = 50\n",
    );
    s.add_user("hank", "member", "hank-password");
    let attempt = |password: &str| {
        s.call(
            "Open",
            json!({"userName": "hank", "password": password, "applicationID": APP}),
        )
    };
    for _ in 0..3 {
        assert_error(&attempt("guess"), 401, 102);
    }
    let (status, body) = attempt("hank-password");
    assert_error(&(status, body.clone()), 429, 103);
    // Unknown names are locked the same way, so a lock-out reveals nothing.
    for _ in 0..3 {
        assert_error(
            &s.call(
                "Open",
                json!({"userName": "ghost", "password": "x", "applicationID": APP}),
            ),
            401,
            102,
        );
    }
    assert_error(
        &s.call(
            "Open",
            json!({"userName": "ghost", "password": "x", "applicationID": APP}),
        ),
        429,
        103,
    );
    // Other accounts are not affected.
    s.open(ADMIN, ADMIN_PASSWORD, APP);
    let locked: Vec<_> = s
        .audit()
        .into_iter()
        .filter(|r| r["detail"] == "locked out")
        .collect();
    assert_eq!(locked.len(), 2, "refusals during the lock-out are audited");
}

fn impersonation_by_an_administrator(backend: Backend) {
    let s = Server::start(backend);
    s.add_app(1000);
    let ivy = s.add_user("ivy", "member", "ivy-password");
    let (admin_session, admin_id) = s.open(ADMIN, ADMIN_PASSWORD, 1000);
    let (status, body) = s.call(
        "OpenImmutableImpersonate",
        json!({"serviceSessionId": admin_session, "userID": ivy, "applicationID": 1000, "ipAddress": "203.0.113.7"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["UserID"], ivy);
    let session = body["SessionID"].as_str().unwrap();
    let (_, user) = s.call("GetCurrentUser", json!({"sessionID": session}));
    assert_eq!(user["Name"], "ivy");
    // The impersonated session is immutable: Ivy's own sign-in does not replace it.
    s.open("ivy", "ivy-password", 1000);
    assert!(s.alive(session));

    let record = s
        .audit()
        .into_iter()
        .find(|r| {
            r["operation"] == "SignIn" && r["user_id"] == ivy && r["impersonator_id"] == admin_id
        })
        .expect("the impersonated sign-in is audited with both users");
    // Where the request came from, and the workstation the service declared.
    assert_eq!(record["client_ip"], "127.0.0.1");
    assert_eq!(record["declared_ip"], "203.0.113.7");
    assert_eq!(record["application_id"], 1000);
}

fn impersonation_is_refused_to_members_and_for_missing_or_disabled_users(backend: Backend) {
    let s = Server::start(backend);
    let jack = s.add_user("jack", "member", "jack-password");
    let kate = s.add_user("kate", "member", "kate-password");
    s.ferry_ok(&["user", "disable", "kate"], None);
    let (member_session, _) = s.open("jack", "jack-password", APP);
    let (admin_session, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let impersonate = |service: &str, user: i64| {
        s.call(
            "OpenImmutableImpersonate",
            json!({"serviceSessionId": service, "userID": user, "applicationID": APP, "ipAddress": "10.1.2.3"}),
        )
    };
    assert_error(&impersonate(&member_session, jack), 403, 105);
    assert_error(&impersonate(&admin_session, 999_999), 404, 106);
    assert_error(&impersonate(&admin_session, kate), 403, 107);
    assert_error(
        &impersonate(&uuid::Uuid::new_v4().to_string(), jack),
        401,
        101,
    );
    let (status, body) = s.call(
        "OpenImmutableImpersonate",
        json!({"serviceSessionId": admin_session, "userID": jack, "applicationID": APP, "ipAddress": "not an address"}),
    );
    assert_error(&(status, body), 400, 110);
    let refused = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "ImpersonationRefused")
        .count();
    assert_eq!(refused, 3, "refused impersonations are audited");
}

fn user_string_is_recorded_and_bounded(backend: Backend) {
    let s = Server::start(backend);
    let lea = s.add_user("lea", "member", "lea-password");
    let (admin_session, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let call = |user_string: &str| {
        s.call(
            "OpenImmutableUserString",
            json!({"serviceSessionId": admin_session, "userID": lea, "applicationID": APP, "ipAddress": "::ffff:192.0.2.1", "userString": user_string}),
        )
    };
    let at_limit = "é".repeat(255);
    let (status, body) = call(&at_limit);
    assert_eq!(status, 200, "{body}");
    assert_error(&call(&"x".repeat(256)), 400, 110);
    let record = s
        .audit()
        .into_iter()
        .rfind(|r| r["operation"] == "SignIn")
        .unwrap();
    assert_eq!(record["external_user"], at_limit.as_str());
    assert_eq!(
        record["declared_ip"], "192.0.2.1",
        "IPv4-mapped addresses are recorded as IPv4"
    );
}

fn a_thousand_parallel_opens_leave_exactly_one_session(backend: Backend) {
    // A thousand clients at once, each from an address of its own behind a proxy (one address
    // may hold only so many connections and sign-ins waiting at once).
    let s = Server::start_with(backend, "trusted_proxies = [\"127.0.0.1\"]\n");
    s.add_app(1000);
    s.add_user("mia", "member", "mia-password");
    let sessions: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..1000)
            .map(|i| {
                let s = &s;
                scope.spawn(move || {
                    let (status, body) = s.call_from(
                        &format!("10.0.{}.{}", i / 250, i % 250 + 1),
                        "Open",
                        json!({"userName": "mia", "password": "mia-password", "applicationID": 1000}),
                    );
                    assert_eq!(status, 200, "{body}");
                    body["SessionID"].as_str().unwrap().to_string()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let distinct: std::collections::HashSet<_> = sessions.iter().collect();
    assert_eq!(distinct.len(), 1000);
    let alive = sessions.iter().filter(|id| s.alive(id)).count();
    assert_eq!(alive, 1, "exactly one session survives");
    let out = s.ferry_ok(&["audit", "verify"], None);
    assert!(out.contains("intact"), "{out}");
}

fn disabling_a_user_ends_their_sessions(backend: Backend) {
    let s = Server::start(backend);
    s.add_user("ned", "member", "ned-password");
    let (a, _) = s.open("ned", "ned-password", APP);
    let (b, _) = s.open_with("OpenImmutable", "ned", "ned-password", APP);
    s.ferry_ok(&["user", "disable", "ned"], None);
    assert!(s.ends(&a));
    assert!(s.ends(&b));
    assert_error(
        &s.call(
            "Open",
            json!({"userName": "ned", "password": "ned-password", "applicationID": APP}),
        ),
        401,
        102,
    );
    let revoked = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "SessionRevoked")
        .count();
    assert_eq!(revoked, 2);
}
