//! Running the server: health and readiness, metrics, the OpenAPI document and Swagger UI
//! (offline), logs without secrets, graceful shutdown, and a database that goes away and comes
//! back.

mod common;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, assert_error};
use ferry_testkit::{Backend, PgCluster, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    health_readiness_and_metrics,
    logs_never_contain_passwords_or_session_ids,
    sigterm_shuts_down_gracefully,
);

fn health_readiness_and_metrics(backend: Backend) {
    let s = Server::start(backend);
    assert_eq!(s.get("/healthz"), (200, "ok\n".to_string()));
    assert_eq!(s.get("/readyz").0, 200);
    let (session, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP);
    let _ = s.call(
        "Open",
        json!({"userName": ADMIN, "password": "wrong", "applicationID": APP}),
    );
    s.call("GetCurrentUser", json!({"sessionID": session}));
    let (status, metrics) = s.get("/metrics");
    assert_eq!(status, 200);
    for expected in [
        "ferry_sessions_active 2",
        "ferry_signins_total{result=\"success\"} 2",
        "ferry_signins_total{result=\"failure\"} 1",
        "ferry_api_calls_total{method=\"GetCurrentUser\",code=\"0\"} 1",
        "ferry_http_requests_total{route=\"/api/v1/{method}\",status=\"401\"} 1",
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected:?} in\n{metrics}"
        );
    }
}

#[test]
fn openapi_document_and_swagger_ui_are_served_offline() {
    let s = Server::start(Backend::Sqlite);
    let (status, text) = s.get("/api/v1/openapi.json");
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for method in [
        "Open",
        "OpenImmutable",
        "OpenImmutableImpersonate",
        "OpenImmutableUserString",
        "Close",
        "GetCurrentUser",
    ] {
        let op = &doc["paths"][format!("/api/v1/{method}")]["post"];
        assert_eq!(op["operationId"], method);
    }
    let open = &doc["paths"]["/api/v1/Open"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert_eq!(
        open["required"],
        json!(["userName", "password", "applicationID"])
    );
    let (status, page) = s.get("/api/v1/docs/");
    assert_eq!(status, 200);
    assert!(page.contains("swagger-ui"), "{page}");
    // Every asset the page loads comes from Ferry itself, not a CDN.
    assert!(
        !page.contains("https://"),
        "the page must not load assets from elsewhere"
    );
    let (status, _) = s.get("/api/v1/docs/swagger-ui-bundle.js");
    assert_eq!(status, 200);
    // The same page headers as every page Ferry serves: only its own script, no framing.
    let (_, headers, _) = s.get_bytes("/api/v1/docs/", &[]);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let csp = header("content-security-policy");
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("referrer-policy"), "no-referrer");
}

/// Swagger UI draws the error table with space between its columns (issue 16: the headings
/// read "HTTPMeaning"), measured in Chromium.
#[test]
fn the_error_table_in_swagger_ui_has_its_columns_apart() {
    let s = Server::start(Backend::Sqlite);
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/swagger_table.py");
    let out = common::run_ok(
        std::process::Command::new("python3")
            .arg(script)
            .arg(&s.base),
    );
    let report: Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert_eq!(
        report["headings"],
        json!(["ErrorCode", "HTTP", "Meaning"]),
        "{report}"
    );
    for gap in report["gaps_px"].as_array().unwrap() {
        assert!(gap.as_f64().unwrap() >= 8.0, "headings too close: {report}");
    }
}

/// Without a token, metrics answer this machine only: a client a trusted proxy reports from
/// elsewhere is refused (before, anyone who reached the port read sign-ins by outcome and
/// sessions alive).
#[test]
fn metrics_without_a_token_answer_this_machine_only() {
    let s = Server::start_with(Backend::Sqlite, "trusted_proxies = [\"127.0.0.1\"]\n");
    assert_eq!(s.get("/metrics").0, 200);
    for far in ["203.0.113.9", "10.1.2.3", "::ffff:192.0.2.1"] {
        let (status, _, body) = s.get_bytes("/metrics", &[("x-forwarded-for", far)]);
        assert_eq!(status, 403, "{far}");
        assert!(String::from_utf8_lossy(&body).contains("bearer_token"));
    }
    assert_eq!(
        s.get_bytes("/metrics", &[("x-forwarded-for", "::1")]).0,
        200,
        "a loopback client behind the proxy"
    );
    assert_eq!(
        s.get_bytes("/healthz", &[("x-forwarded-for", "203.0.113.9")])
            .0,
        200
    );
}

#[test]
fn metrics_can_require_a_bearer_token() {
    let token = "scrape-token-0123456789";
    let s = Server::start_with(
        Backend::Sqlite,
        &format!("trusted_proxies = [\"127.0.0.1\"]\n[metrics]\nbearer_token = \"{token}\"\n"),
    );
    let (status, headers, _) = s.get_bytes("/metrics", &[]);
    assert_eq!(status, 401);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "www-authenticate" && v == "Bearer")
    );
    for wrong in [
        "Bearer nope",
        "Bearer scrape-token-012345678",
        "scrape-token-0123456789",
    ] {
        assert_eq!(s.get_bytes("/metrics", &[("authorization", wrong)]).0, 401);
    }
    let (status, _, body) =
        s.get_bytes("/metrics", &[("authorization", &format!("Bearer {token}"))]);
    assert_eq!(status, 200);
    assert!(String::from_utf8(body).unwrap().contains("ferry_"));
    // With the token, from anywhere.
    let (status, _, _) = s.get_bytes(
        "/metrics",
        &[
            ("authorization", &format!("Bearer {token}")),
            ("x-forwarded-for", "203.0.113.9"),
        ],
    );
    assert_eq!(status, 200);
    // Health and readiness stay open to probes.
    assert_eq!(s.get("/healthz").0, 200);
    assert!(!s.log().contains(token), "the token is never logged");
}

fn logs_never_contain_passwords_or_session_ids(backend: Backend) {
    let s = Server::start(backend);
    s.add_user("rita", "member", "rita-secret-pw");
    let (session, _) = s.open("rita", "rita-secret-pw", APP);
    let _ = s.call(
        "Open",
        json!({"userName": "rita", "password": "wrong-secret-pw", "applicationID": APP}),
    );
    s.call("GetCurrentUser", json!({"sessionID": session}));
    s.call("Close", json!({"sessionID": session}));
    s.call("Close", json!({"sessionID": session}));
    let log = s.log();
    assert!(
        log.contains("session opened"),
        "the log has content to check: {log}"
    );
    for secret in [
        session.as_str(),
        "rita-secret-pw",
        "wrong-secret-pw",
        ADMIN_PASSWORD,
    ] {
        assert!(!log.contains(secret), "the log contains a secret");
    }
    // Audit records carry a one-way tag of the session, never the session itself.
    let audit = serde_json::to_string(&s.audit()).unwrap();
    assert!(!audit.contains(&session));
}

fn sigterm_shuts_down_gracefully(backend: Backend) {
    let mut s = Server::start(backend);
    s.open(ADMIN, ADMIN_PASSWORD, APP);
    let status = s.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(s.log().contains("ferry stopped"));
}

#[test]
fn json_logs_are_one_object_per_line() {
    let s = Server::start_with(Backend::Sqlite, "log_format = \"json\"\n");
    s.open(ADMIN, ADMIN_PASSWORD, APP);
    let log = s.log();
    let lines: Vec<_> = log.lines().filter(|l| l.starts_with('{')).collect();
    assert!(!lines.is_empty(), "{log}");
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
}

#[test]
fn a_database_that_goes_away_gives_503_and_the_server_recovers() {
    let cluster = PgCluster::start();
    let url = cluster.create_database();
    let dir = tempfile::Builder::new()
        .prefix("ferry-test-")
        .tempdir()
        .unwrap();
    let s = Server::start_in(dir, url, "");
    s.add_app(APP);
    let (session, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);

    cluster.stop_server();
    assert_error(
        &s.call("GetCurrentUser", json!({"sessionID": session})),
        503,
        120,
    );
    assert_error(
        &s.call(
            "Open",
            json!({"userName": ADMIN, "password": ADMIN_PASSWORD, "applicationID": APP}),
        ),
        503,
        120,
    );
    assert_eq!(s.get("/readyz").0, 503);
    assert_eq!(s.get("/healthz").0, 200, "the process itself is alive");

    cluster.start_server();
    let mut recovered = false;
    for _ in 0..50 {
        if s.get("/readyz").0 == 200 {
            recovered = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(recovered, "the server did not recover");
    assert!(
        s.alive(&session),
        "sessions survive the outage: they live in the database"
    );
    s.open(ADMIN, ADMIN_PASSWORD, APP);
}
