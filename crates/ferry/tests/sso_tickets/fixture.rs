//! What the ticket sign-in tests share: a server with tickets on, an administrator's
//! session, a domain user, and tickets from `ferry ticket issue`.

#![allow(dead_code)]

use serde_json::{Value, json};

use crate::common::{ADMIN, ADMIN_PASSWORD, Server};
use ferry_testkit::Backend;

/// The site name tickets carry.
pub const SITE: &str = "files.example.com";
/// The shared password tickets are sealed under.
pub const PASSWORD: &str = "test-shared-password-0123456789";

/// A server with ticket sign-in on and application 1000 registered.
pub fn start(backend: Backend) -> Server {
    start_with(backend, "")
}

/// [`start`] with more `[sso]` settings (`extra`, lines of the section).
pub fn start_with(backend: Backend, extra: &str) -> Server {
    let s = Server::start_with(
        backend,
        &format!("[sso]\nsite_name = \"{SITE}\"\npassword = \"{PASSWORD}\"\n{extra}"),
    );
    s.add_app(1000);
    s
}

/// An administrator's session on application 1000.
pub fn admin_session(s: &Server) -> String {
    s.open(ADMIN, ADMIN_PASSWORD, 1000).0
}

/// `CreateDomainUser` of a member, with a home folder.
pub fn create_domain_user(s: &Server, admin: &str, domain_username: &str, email: &str) -> Value {
    let answer = s.call(
        "CreateDomainUser",
        json!({"sessionID": admin, "domainUsername": domain_username, "userSyncID": "",
               "firstName": "F", "lastName": "L", "email": email, "createHomeFolder": true,
               "role": 3, "active": true}),
    );
    assert_eq!(answer.0, 200, "{}", answer.1);
    answer.1
}

/// A ticket from `ferry ticket issue` for `user`, dated `timestamp` (now by default).
pub fn issue(s: &Server, user: &str, timestamp: Option<&str>) -> String {
    let mut args = vec!["ticket", "issue", "--user", user];
    if let Some(t) = timestamp {
        args.extend(["--timestamp", t]);
    }
    s.ferry_ok(&args, None).trim().to_string()
}

/// Calls a ticket sign-in `method` with `ticket` on application 1000.
pub fn with_ticket(s: &Server, method: &str, ticket: &str) -> (u16, Value) {
    s.call(
        method,
        json!({"ticket": ticket, "applicationID": 1000, "clientVersion": "portal/1"}),
    )
}
