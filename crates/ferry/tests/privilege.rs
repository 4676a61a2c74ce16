//! Privilege and identity attacks (issue 15), each written as the attack, against the real
//! server on both engines: a Manager reaching a folder through a group, a ticket opening an
//! administrator, impersonation chains and upward impersonation, and audit records that must
//! name the address each request came from (behind a proxy too).

mod common;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    a_manager_cannot_join_a_group_that_holds_more_than_he_does,
    tickets_do_not_open_administrators_or_password_accounts,
    an_impersonated_session_cannot_impersonate,
    nobody_impersonates_a_higher_role,
    the_audit_names_the_address_of_each_request,
    forged_tickets_lock_the_address_out,
);

const SHARED_ROOT: i64 = 3;

fn ok(s: &Server, session: &str, method: &str, mut params: Value) -> Value {
    params["sessionID"] = json!(session);
    let (status, body) = s.call(method, params);
    assert_eq!(status, 200, "{method}: {body}");
    body
}

/// The escalation: an administrator grants a group every bit on a finance folder; a Manager
/// adds himself to the group, then would download its files and re-grant them to anyone.
fn a_manager_cannot_join_a_group_that_holds_more_than_he_does(backend: Backend) {
    let s = Server::start(backend);
    let mallory = s.add_user("mallory", "manager", "mallory-password");
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let (m, _) = s.open("mallory", "mallory-password", APP);
    let finance = ok(
        &s,
        &admin,
        "CreateFolder",
        json!({"parentFolderID": SHARED_ROOT, "name": "Finance"}),
    )["FolderID"]
        .as_i64()
        .unwrap();
    let (status, _) = s.put_file(&admin, finance, "payroll.csv", "", b"secret");
    assert_eq!(status, 200);
    let group = ok(
        &s,
        &admin,
        "CreateUserGroup",
        json!({"name": "Finance team"}),
    )["UserGroupID"]
        .as_i64()
        .unwrap();
    ok(
        &s,
        &admin,
        "SetFolderPermissionList",
        json!({"folderID": finance, "permissionList": [{"Permission": 255, "UserGroupID": group}]}),
    );

    // Mallory manages groups, but holds nothing on Finance: adding himself is refused.
    let add = |who: i64| {
        s.call(
            "AddUserToGroup",
            json!({"sessionID": m, "userGroupID": group, "userID": who}),
        )
    };
    assert_error(&add(mallory), 403, 105);
    assert_error(
        &s.call(
            "RemoveUserFromGroup",
            json!({"sessionID": m, "userGroupID": group, "userID": 1}),
        ),
        403,
        105,
    );
    // So the folder stays out of reach.
    assert_error(
        &s.call("GetFolder", json!({"sessionID": m, "folderID": finance})),
        404,
        201,
    );
    let (status, _, _) = s.get_bytes(
        &format!("/api/v1/folders/{finance}/zip"),
        &[("x-session-id", m.as_str())],
    );
    assert_eq!(status, 404);
    let denied: Vec<_> = s
        .audit()
        .into_iter()
        .filter(|r| {
            r["operation"] == "AccessDenied"
                && r["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains(&format!("group {group}")))
        })
        .collect();
    assert_eq!(denied.len(), 2, "both refusals are audited");
    assert_eq!(denied[0]["user_id"], mallory);
    assert_eq!(denied[0]["folder_id"], finance);

    // Holding only some of the bits is not enough either.
    ok(
        &s,
        &admin,
        "SetFolderPermissionList",
        json!({"folderID": finance, "permissionList": [
            {"Permission": 255, "UserGroupID": group},
            {"Permission": 3, "UserID": mallory}]}),
    );
    assert_error(&add(mallory), 403, 105);
    // Holding all of them, he may (he could grant them himself anyway).
    ok(
        &s,
        &admin,
        "SetFolderPermissionList",
        json!({"folderID": finance, "permissionList": [
            {"Permission": 255, "UserGroupID": group},
            {"Permission": 255, "UserID": mallory}]}),
    );
    let (status, body) = add(mallory);
    assert_eq!(status, 204, "{body}");
}

const SITE: &str = "files.example.com";
const SSO_PASSWORD: &str = "test-shared-password-0123456789";

fn sso_server(backend: Backend, extra: &str) -> Server {
    Server::start_with(
        backend,
        &format!("[sso]\nsite_name = \"{SITE}\"\npassword = \"{SSO_PASSWORD}\"\n{extra}"),
    )
}

fn ticket(s: &Server, user: &str) -> String {
    s.ferry_ok(&["ticket", "issue", "--user", user], None)
        .trim()
        .to_string()
}

fn create_domain_user(s: &Server, admin: &str, domain_username: &str, role: i64) {
    let (status, body) = s.call(
        "CreateDomainUser",
        json!({"sessionID": admin, "domainUsername": domain_username, "userSyncID": "",
               "firstName": "F", "lastName": "L", "email": "", "createHomeFolder": false,
               "role": role, "active": true}),
    );
    assert_eq!(status, 200, "{body}");
}

/// A portal that knows the shared password names its users; it must not thereby open the
/// accounts of Ferry's administrators, or of people who sign in with a password.
fn tickets_do_not_open_administrators_or_password_accounts(backend: Backend) {
    let s = sso_server(backend, "");
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    create_domain_user(&s, &admin, "CORP\\boss", 5);
    create_domain_user(&s, &admin, "CORP\\ann", 3);
    s.add_user("root2", "administrator", "root2-password");
    s.add_user("pat", "member", "pat-password");
    let by_name = |user: &str| {
        s.call(
            "OpenWithTicket",
            json!({"ticket": ticket(&s, user), "applicationID": APP}),
        )
    };
    let by_email = |email: &str| {
        s.call(
            "OpenWithTicketEx",
            json!({"ticket": ticket(&s, "CORP\\portal"), "EmailAddress": email,
                   "FirstName": "X", "LastName": "Y", "applicationID": APP}),
        )
    };
    assert_eq!(by_name("CORP\\ann").0, 200, "an ordinary ticket user");
    assert_error(&by_name("CORP\\boss"), 401, 130);
    assert_error(&by_email("root2@example.com"), 401, 130);
    assert_error(&by_email("pat@example.com"), 401, 130);
    let refused: Vec<String> = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "SignInFailed")
        .filter_map(|r| r["detail"].as_str().map(str::to_string))
        .collect();
    for expected in [
        "OpenWithTicket: ticket of \"CORP\\\\boss\": tickets do not open Administrator or System accounts",
        "OpenWithTicketEx: ticket of \"CORP\\\\portal\" for e-mail \"root2@example.com\": tickets do not open Administrator or System accounts",
        "OpenWithTicketEx: ticket of \"CORP\\\\portal\" for e-mail \"pat@example.com\": tickets do not open accounts that have a local password",
    ] {
        assert!(
            refused.iter().any(|d| d == expected),
            "{expected} in {refused:#?}"
        );
    }
    // A success names the ticket user too.
    let (status, body) = by_email("new.person@example.com");
    assert_eq!(status, 200, "{body}");
    let signin = s
        .audit()
        .into_iter()
        .rfind(|r| r["operation"] == "SignIn")
        .unwrap();
    assert_eq!(
        signin["detail"],
        "ticket of \"CORP\\\\portal\" for e-mail \"new.person@example.com\""
    );

    // Both are the administrator's choice.
    drop(s);
    let s = sso_server(
        backend,
        "tickets_open_privileged_accounts = true\ntickets_open_password_accounts = true\n",
    );
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    create_domain_user(&s, &admin, "CORP\\boss", 5);
    s.add_user("pat", "member", "pat-password");
    let (status, body) = s.call(
        "OpenWithTicket",
        json!({"ticket": ticket(&s, "CORP\\boss"), "applicationID": APP}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = s.call(
        "OpenWithTicketEx",
        json!({"ticket": ticket(&s, "CORP\\portal"), "EmailAddress": "pat@example.com",
               "FirstName": "X", "LastName": "Y", "applicationID": APP}),
    );
    assert_eq!(status, 200, "{body}");
}

fn impersonate(s: &Server, service: &str, user: i64) -> (u16, Value) {
    s.call(
        "OpenImmutableImpersonate",
        json!({"serviceSessionId": service, "userID": user, "applicationID": APP, "ipAddress": "10.9.9.9"}),
    )
}

/// An administrator impersonates another administrator, whose session would impersonate a
/// member: the member's records would name the middle account only.
fn an_impersonated_session_cannot_impersonate(backend: Backend) {
    let s = Server::start(backend);
    let carol = s.add_user("carol", "administrator", "carol-password");
    let dan = s.add_user("dan", "member", "dan-password");
    let (admin, admin_id) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let (status, middle) = impersonate(&s, &admin, carol);
    assert_eq!(status, 200, "{middle}");
    let middle = middle["SessionID"].as_str().unwrap();
    assert_error(&impersonate(&s, middle, dan), 403, 105);
    assert_error(
        &s.call(
            "OpenImmutableUserString",
            json!({"serviceSessionId": middle, "userID": dan, "applicationID": APP,
                   "ipAddress": "10.9.9.9", "userString": "x"}),
        ),
        403,
        105,
    );
    let refusal = s
        .audit()
        .into_iter()
        .rfind(|r| r["operation"] == "ImpersonationRefused")
        .unwrap();
    assert_eq!(refusal["user_id"], carol);
    assert_eq!(
        refusal["impersonator_id"], admin_id,
        "the human behind it is named"
    );
    assert_eq!(refusal["target_user_id"], dan);
    assert!(
        refusal["detail"]
            .as_str()
            .unwrap()
            .contains("itself impersonated"),
        "{refusal}"
    );
    // And no session of dan's was opened by anyone.
    assert!(
        !s.audit()
            .iter()
            .any(|r| r["operation"] == "SignIn" && r["user_id"] == dan)
    );
}

/// System is above Administrator: an administrator cannot become a System user by
/// impersonating one (nor make one); a System user may impersonate an administrator.
fn nobody_impersonates_a_higher_role(backend: Backend) {
    let s = Server::start(backend);
    let svc = s.add_user("svc", "system", "svc-password");
    let other_admin = s.add_user("ops", "administrator", "ops-password");
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    assert_error(&impersonate(&s, &admin, svc), 403, 105);
    assert_eq!(impersonate(&s, &admin, other_admin).0, 200, "same role");
    let (system, _) = s.open("svc", "svc-password", APP);
    assert_eq!(impersonate(&s, &system, other_admin).0, 200);
    // Nor may an administrator's session create a System user through CreateDomainUser.
    assert_error(
        &s.call(
            "CreateDomainUser",
            json!({"sessionID": admin, "domainUsername": "CORP\\robot", "userSyncID": "",
                   "firstName": "R", "lastName": "B", "email": "", "createHomeFolder": false,
                   "role": 6, "active": true}),
        ),
        403,
        105,
    );
    let refusal = s
        .audit()
        .into_iter()
        .find(|r| r["operation"] == "ImpersonationRefused")
        .unwrap();
    assert_eq!(refusal["target_user_id"], svc);
    assert!(
        refusal["detail"]
            .as_str()
            .unwrap()
            .contains("(system) is above the service user's (administrator)"),
        "{refusal}"
    );
}

/// A stolen session used from another address, and clients behind a reverse proxy: every
/// record names the address of its own request, and the lock-out counts the real clients.
fn the_audit_names_the_address_of_each_request(backend: Backend) {
    let s = Server::start_with(backend, "trusted_proxies = [\"127.0.0.1\"]\n");
    s.add_user("bob", "member", "bob-password");
    let (status, opened) = s.call_from(
        "198.51.100.1",
        "Open",
        json!({"userName": "bob", "password": "bob-password", "applicationID": APP}),
    );
    assert_eq!(status, 200, "{opened}");
    let session = opened["SessionID"].as_str().unwrap().to_string();
    let (status, home) = s.call_from(
        "203.0.113.66",
        "GetHomeFolder",
        json!({"sessionID": session}),
    );
    assert_eq!(status, 200);
    let home = home["FolderID"].as_i64().unwrap();
    let (status, _) = s.call_from(
        "203.0.113.66",
        "CreateFolder",
        json!({"sessionID": session, "parentFolderID": home, "name": "loot"}),
    );
    assert_eq!(status, 200);
    let (status, _) = s.put_file_with(
        &session,
        home,
        "planted.txt",
        "",
        b"x",
        &[("x-forwarded-for", "203.0.113.9")],
    );
    assert_eq!(status, 200);
    let audit = s.audit();
    let ip_of = |op: &str| {
        audit
            .iter()
            .rfind(|r| r["operation"] == op)
            .map(|r| r["client_ip"].clone())
            .unwrap()
    };
    assert_eq!(ip_of("SignIn"), "198.51.100.1");
    assert_eq!(ip_of("FolderCreated"), "203.0.113.66");
    assert_eq!(ip_of("FileUploaded"), "203.0.113.9");

    // 20 failed sign-ins from one client behind the proxy lock that client only.
    for i in 0..20 {
        s.call_from(
            "203.0.113.50",
            "Open",
            json!({"userName": format!("guess{i}"), "password": "x", "applicationID": APP}),
        );
    }
    assert_error(
        &s.call_from(
            "203.0.113.50",
            "Open",
            json!({"userName": "bob", "password": "bob-password", "applicationID": APP}),
        ),
        429,
        103,
    );
    let (status, body) = s.call_from(
        "198.51.100.1",
        "Open",
        json!({"userName": "bob", "password": "bob-password", "applicationID": APP}),
    );
    assert_eq!(status, 200, "another client is not locked out: {body}");
}

/// A forger sending tickets that do not open counts toward the address lock-out like a
/// password guesser; a portal's own refused users (good tickets) do not.
fn forged_tickets_lock_the_address_out(backend: Backend) {
    let s = Server::start_with(
        backend,
        &format!(
            "trusted_proxies = [\"127.0.0.1\"]\n[sso]\nsite_name = \"{SITE}\"\npassword = \"{SSO_PASSWORD}\"\n"
        ),
    );
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    create_domain_user(&s, &admin, "CORP\\ann", 3);
    let good = ticket(&s, "CORP\\ann");
    let from = |ip: &str, t: &str| {
        s.call_from(
            ip,
            "OpenWithTicket",
            json!({"ticket": t, "applicationID": APP}),
        )
    };
    // Valid tickets naming users Ferry refuses are the portal's business: not counted.
    let unknown = ticket(&s, "CORP\\nobody");
    for _ in 0..25 {
        assert_error(&from("198.51.100.20", &unknown), 401, 130);
    }
    assert_eq!(from("198.51.100.20", &good).0, 200);
    // Forgeries are.
    for i in 0..20 {
        let forged = format!("AAAA{}", "B".repeat(40 + i));
        assert_error(&from("203.0.113.7", &forged), 401, 130);
    }
    assert_error(&from("203.0.113.7", &good), 401, 130);
    assert_eq!(from("198.51.100.21", &good).0, 200, "other addresses go on");
    let locked: Vec<_> = s
        .audit()
        .into_iter()
        .filter(|r| r["detail"] == "OpenWithTicket: address locked out")
        .collect();
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0]["client_ip"], "203.0.113.7");
}
