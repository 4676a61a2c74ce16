//! Every answer of the API's wires says it is not to be stored (`Cache-Control: no-store`)
//! nor sniffed, success or refusal, read by curl: answers carry session IDs, users and file
//! lists, and a shared proxy or a browser's disk cache must not keep them. Downloads keep
//! their own `private, no-cache`.

mod common;

use std::process::Command;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, run_ok};
use ferry_testkit::Backend;
use serde_json::json;

/// The headers curl reads for `args`, lowercased.
fn headers(args: &[&str]) -> String {
    run_ok(
        Command::new("curl")
            .args(["-s", "-D", "-", "-o", "/dev/null"])
            .args(args),
    )
    .to_ascii_lowercase()
}

#[test]
fn api_answers_are_neither_stored_nor_sniffed() {
    let s = Server::start(Backend::Sqlite);
    let (session, _) = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let (_, file) = s.put_file(
        &session,
        home["FolderID"].as_i64().unwrap(),
        "a.txt",
        "",
        b"a",
    );
    let open =
        json!({"userName": ADMIN, "password": ADMIN_PASSWORD, "applicationID": APP}).to_string();
    let current = json!({"sessionID": session}).to_string();
    let json = "content-type: application/json";
    let answers = [
        ("Open", "/api/v1/Open", vec!["-H", json, "-d", &open]),
        (
            "GetCurrentUser",
            "/api/v1/GetCurrentUser",
            vec!["-H", json, "-d", &current],
        ),
        (
            "a refusal",
            "/api/v1/GetCurrentUser",
            vec!["-H", json, "-d", "{\"sessionID\":\"x\"}"],
        ),
        ("REST", "/REST/1.3/Server/Info", vec![]),
        ("SOAP's description", "/soap", vec![]),
    ];
    for (what, path, mut args) in answers {
        let url = format!("{}{path}", s.base);
        args.push(&url);
        let h = headers(&args);
        assert!(h.contains("cache-control: no-store"), "{what}: {h}");
        assert!(h.contains("x-content-type-options: nosniff"), "{what}: {h}");
    }
    let content = format!("{}/api/v1/files/{}/content", s.base, file["FileID"]);
    let h = headers(&["-H", &format!("X-Session-ID: {session}"), &content]);
    assert!(h.contains("cache-control: private, no-cache"), "{h}");
}
