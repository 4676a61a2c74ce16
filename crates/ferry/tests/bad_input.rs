//! Bad input to the JSON API: each gets a clear, documented error and changes nothing (no new
//! session, no new user, the audit chain intact).

mod common;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    malformed_requests_are_refused_with_110,
    wrong_verbs_unknown_methods_and_oversized_bodies,
    sql_metacharacters_and_nul_bytes_in_every_string_parameter,
    session_ids_that_are_not_guids,
    streaming_routes_refuse_malformed_paths_and_queries_as_the_api_does,
);

/// Sessions alive, users, and audit length: what "changes nothing" is checked against.
fn state(s: &Server) -> (String, usize) {
    (s.ferry_ok(&["user", "list"], None), s.audit().len())
}

fn malformed_requests_are_refused_with_110(backend: Backend) {
    let s = Server::start(backend);
    let before = state(&s);
    let bodies: &[&[u8]] = &[
        b"{",
        b"not json",
        b"[]",
        b"\"Open\"",
        b"null",
        b"{\"userName\": \"admin\", \"password\": \"x\"}",
        b"{\"userName\": 1, \"password\": \"x\", \"applicationID\": 1}",
        b"{\"userName\": \"admin\", \"password\": \"x\", \"applicationID\": \"1\"}",
        b"{\"userName\": \"admin\", \"password\": \"x\", \"applicationID\": 1.5}",
        b"{\"userName\": \"admin\", \"password\": \"x\", \"applicationID\": 99999999999999999999}",
        b"{\"userName\": \"admin\", \"password\": [], \"applicationID\": 1}",
        b"{\"userName\": \"admin\", \"password\": \"x\", \"applicationID\": 1, \"extra\": true}",
        b"{\"userName\": \"admin\", \"USERNAME\": \"admin\", \"password\": \"x\", \"applicationID\": 1}",
        b"{\"userName\": \"admin\", \"userName\": \"root\", \"password\": \"x\", \"applicationID\": 1}",
        b"\xff\xfe{}",
        b"{\"userName\": \"\", \"password\": \"x\", \"applicationID\": 1}",
        b"{\"userName\": \"admin\", \"password\": \"x\", \"applicationID\": 1, \"clientVersion\": \"a\\nb\"}",
    ];
    for body in bodies {
        let (status, text) = s.post_raw("/api/v1/Open", body);
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_error(&(status, value), 400, 110);
    }
    let long_version = json!({"userName": ADMIN, "password": ADMIN_PASSWORD, "applicationID": APP, "clientVersion": "v".repeat(256)});
    assert_error(&s.call("Open", long_version), 400, 110);
    assert_eq!(state(&s), before, "bad input changed nothing");
}

fn wrong_verbs_unknown_methods_and_oversized_bodies(backend: Backend) {
    let s = Server::start(backend);
    let (status, body) = s.get("/api/v1/Open");
    assert_eq!(status, 405);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["ErrorCode"],
        113
    );
    assert_error(&s.call("DropTables", json!({})), 404, 112);
    let huge = format!(
        "{{\"userName\": \"admin\", \"password\": \"{}\", \"applicationID\": 1}}",
        "x".repeat(70 * 1024)
    );
    let (status, text) = s.post_raw("/api/v1/Open", huge.as_bytes());
    assert_error(&(status, serde_json::from_str(&text).unwrap()), 413, 111);
    // A password within the body limit but beyond the password limit.
    let long_pw = json!({"userName": ADMIN, "password": "x".repeat(2000), "applicationID": APP});
    assert_error(&s.call("Open", long_pw), 400, 110);
}

fn sql_metacharacters_and_nul_bytes_in_every_string_parameter(backend: Backend) {
    let s = Server::start(backend);
    let before = state(&s);
    let (admin_session, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let nasty = [
        "' OR '1'='1",
        "admin'--",
        "admin\"; DROP TABLE users; --",
        "'); DELETE FROM sessions; --",
        "\\",
        "%",
        "_",
    ];
    for text in nasty {
        // As user name and as password: a plain failed sign-in.
        assert_error(
            &s.call(
                "Open",
                json!({"userName": text, "password": text, "applicationID": APP}),
            ),
            401,
            102,
        );
        assert_error(
            &s.call(
                "Open",
                json!({"userName": ADMIN, "password": text, "applicationID": APP}),
            ),
            401,
            102,
        );
        // As clientVersion, ipAddress and userString: stored verbatim or refused, never run.
        let (status, _) = s.call(
            "Open",
            json!({"userName": ADMIN, "password": ADMIN_PASSWORD, "applicationID": APP, "clientVersion": text}),
        );
        assert_eq!(status, 200);
        assert_error(
            &s.call(
                "OpenImmutableImpersonate",
                json!({"serviceSessionId": admin_session, "userID": 1, "applicationID": APP, "ipAddress": text}),
            ),
            400,
            110,
        );
    }
    let (admin_session, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let (status, _) = s.call(
        "OpenImmutableUserString",
        json!({"serviceSessionId": admin_session, "userID": 1, "applicationID": APP, "ipAddress": "10.0.0.1", "userString": "x'); DROP TABLE audit_log; --"}),
    );
    assert_eq!(status, 200);
    let stored = s
        .audit()
        .into_iter()
        .rfind(|r| r["operation"] == "SignIn")
        .unwrap();
    assert_eq!(stored["external_user"], "x'); DROP TABLE audit_log; --");

    for params in [
        json!({"userName": "ad\u{0}min", "password": "x", "applicationID": APP}),
        json!({"userName": ADMIN, "password": "pw\u{0}", "applicationID": APP}),
        json!({"userName": ADMIN, "password": ADMIN_PASSWORD, "applicationID": APP, "clientVersion": "v\u{0}"}),
        json!({"serviceSessionId": admin_session, "userID": 1, "applicationID": APP, "ipAddress": "10.0.0.1\u{0}"}),
    ] {
        let method = if params.get("serviceSessionId").is_some() {
            "OpenImmutableImpersonate"
        } else {
            "Open"
        };
        assert_error(&s.call(method, params), 400, 110);
    }
    assert_error(
        &s.call(
            "OpenImmutableUserString",
            json!({"serviceSessionId": admin_session, "userID": 1, "applicationID": APP, "ipAddress": "10.0.0.1", "userString": "a\u{0}b"}),
        ),
        400,
        110,
    );
    assert_eq!(state(&s).0, before.0, "no user was created or changed");
    let verify = s.ferry_ok(&["audit", "verify"], None);
    assert!(verify.contains("intact"), "{verify}");
}

fn session_ids_that_are_not_guids(backend: Backend) {
    let s = Server::start(backend);
    for bad in [
        json!("not-a-guid"),
        json!(""),
        json!("' OR 1=1 --"),
        json!(12),
        json!({}),
        json!("a\u{0}"),
    ] {
        assert_error(
            &s.call("GetCurrentUser", json!({"sessionID": bad})),
            400,
            110,
        );
        assert_error(&s.call("Close", json!({"sessionID": bad})), 400, 110);
    }
    // Other spellings of a GUID are accepted and refer to the same session.
    let (session, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let braced = format!("{{{}}}", session.to_uppercase());
    let (status, _) = s.call("GetCurrentUser", json!({"sessionID": braced}));
    assert_eq!(status, 200);
}

/// The routes that carry bytes answer a malformed URL as every method does (110, in JSON, as
/// the OpenAPI document says), not with a line of text, and store nothing.
fn streaming_routes_refuse_malformed_paths_and_queries_as_the_api_does(backend: Backend) {
    let s = Server::start(backend);
    let (session, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let before = s.home_files(&session).len();
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let folder = home["FolderID"].as_i64().unwrap();
    for path in [
        format!("/api/v1/folders/{folder}/files/%FF%FE"),
        format!("/api/v1/folders/{folder}/files/x.txt?overwrite=true&overwrite=false"),
        format!("/api/v1/folders/{folder}/files/x.txt?overwrite=maybe"),
    ] {
        let answer = s.put_raw_path(&session, &path, b"bytes");
        assert_error(&answer, 400, 110);
    }
    assert_eq!(s.home_files(&session).len(), before, "nothing stored");
    for path in ["/api/v1/files/%FF/content", "/api/v1/folders/%FF/zip"] {
        let (status, headers, body) = s.get_bytes(path, &[("X-Session-ID", &session)]);
        let json_reply = headers
            .iter()
            .any(|(k, v)| k == "content-type" && v.starts_with("application/json"));
        assert!(json_reply, "{path}: {headers:?}");
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_error(&(status, value), 400, 110);
    }
}
