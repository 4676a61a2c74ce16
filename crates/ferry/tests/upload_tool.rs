//! The browser tools' tokens (docs/upload-tool.md) against a live server: tokens made by the
//! document's own Python and `openssl enc` examples (extracted from the document and run, so it
//! cannot drift), the uniform refusal, the lock-out, trusted proxies, single-use tokens and key
//! material. The tus protocol is in `upload_tool_tus.rs`, the pages in `upload_tool_pages.rs`.

mod common;
#[path = "upload_tool/fixture.rs"]
mod fixture;

use std::process::Command;

use common::{ADMIN, ADMIN_PASSWORD, assert_error, utc_stamp};
use ferry_testkit::{Backend, on_both_backends};
use fixture::*;
use serde_json::{Value, json};

on_both_backends!(single_use_tokens_open_once_and_version_1_can_be_turned_off);

#[test]
fn the_documented_encoders_open_the_page() {
    let f = fixture(Backend::Sqlite, "", "");
    let py = doc_python();
    // The shell example with openssl enc (version 1).
    let link = openssl_link(&f);
    let path = link.trim().strip_prefix(&f.s.base).unwrap().to_string();
    let (status, html) = f.open_path(&path, &[]);
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Uploading as partner@example.net"), "{html}");
    // The Python example, both versions, through its own link builder.
    for version in [1, 2] {
        let script = format!(
            "import upload_token as t\n\
             pt = t.token_json({version}, {}, '{EMAIL}', '127.0.0.1', '{}')\n\
             tok = t.seal_v2('{KEY}', pt) if {version} == 2 else t.encrypt_v1('{KEY}', '{IV}', pt)\n\
             print(t.upload_link('{}', tok))\n",
            f.folder, f.session, f.s.base
        );
        let link = common::run_ok(
            Command::new("python3")
                .args(["-c", &script])
                .current_dir(py.path()),
        );
        let path = link.trim().strip_prefix(&f.s.base).unwrap().to_string();
        let (status, html) = f.open_path(&path, &[]);
        assert_eq!(status, 200, "version {version}: {html}");
    }
    // Every URL form of one token, the spec's other time format, and the Thru link.
    let mut c = claims(f.folder, "127.0.0.1", &f.session, 1);
    let t = time::OffsetDateTime::now_utc();
    let (h12, pm) = match t.hour() {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    c["TimeStamp"] = json!(format!(
        "{}/{}/{} {}:{:02} {pm}",
        u8::from(t.month()),
        t.day(),
        t.year(),
        h12,
        t.minute()
    ));
    let token = seal(py.path(), 1, c.to_string().as_bytes(), KEY, IV);
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&token)
        .unwrap();
    let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw);
    for path in [
        format!("/tools/upload?token={}", pct(&token)),
        format!("/tools/upload?token={token}"),
        format!("/tools/upload?token={url_safe}"),
        format!(
            "/ExternalJavaUpload.aspx?ThruFolderID={}&ThruApplicationID=1000",
            pct(&token)
        ),
        format!("/ExternalJavaUpload.aspx?thrufolderid={}", pct(&token)),
    ] {
        let (status, html) = f.open_path(&path, &[]);
        assert_eq!(status, 200, "{path}: {html}");
    }
    // IPv4-mapped IPv6 in AllowedIP is the same address.
    let mapped = claims(f.folder, "::ffff:127.0.0.1", &f.session, 2);
    let token = seal(py.path(), 2, mapped.to_string().as_bytes(), KEY, IV);
    assert_eq!(f.open_page(&token).0, 200);
    // ferry token issue, both versions.
    for version in ["1", "2"] {
        let out = f.s.ferry_ok(
            &[
                "token",
                "issue",
                "--folder",
                &f.folder.to_string(),
                "--email",
                EMAIL,
                "--allowed-ip",
                "127.0.0.1",
                "--session",
                &f.session,
                "--version",
                version,
                "--link",
                &f.s.base,
            ],
            None,
        );
        let path = out.trim().strip_prefix(&f.s.base).unwrap().to_string();
        assert_eq!(
            f.open_path(&path, &[]).0,
            200,
            "ferry token issue --version {version}"
        );
    }
}

#[test]
fn every_bad_token_gets_the_same_bytes() {
    let f = fixture(Backend::Sqlite, "[lockout]\naddress_threshold = 1000\n", "");
    let py = doc_python();
    let py = py.path();
    let good = claims(f.folder, "127.0.0.1", &f.session, 1);
    let v1 = |c: &Value| seal(py, 1, c.to_string().as_bytes(), KEY, IV);
    let v2 = |c: &Value| seal(py, 2, c.to_string().as_bytes(), KEY, IV);
    let with = |field: &str, value: Value| {
        let mut c = good.clone();
        c[field] = value;
        c
    };
    // A folder ann may only see.
    let admin = f.s.open(ADMIN, ADMIN_PASSWORD, 1000).0;
    let (_, shown) = f.s.call(
        "CreateFolder",
        json!({"sessionID": admin, "parentFolderID": 3, "name": "Show only"}),
    );
    let shown = shown["FolderID"].as_i64().unwrap();
    let (_, ann) = f.s.call("GetCurrentUser", json!({"sessionID": f.session}));
    let (status, body) = f.s.call(
        "SetFolderPermissionList",
        json!({"sessionID": admin, "folderID": shown,
               "permissionList": [{"Permission": 3, "UserID": ann["UserID"]}]}),
    );
    assert_eq!(status, 200, "{body}");
    let (closed, _) = f.s.open("ann", "ann-password-123", 1000);
    f.s.call("Close", json!({"sessionID": closed}));
    let other_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let other_iv = "AAAAAAAAAAAAAAAAAAAAAA==";
    let good_v1 = v1(&good);
    let mut flipped = good_v1.clone().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let bad: Vec<(&str, String)> = vec![
        ("not base64", "!!!!".into()),
        ("empty", String::new()),
        ("truncated", good_v1[..good_v1.len() - 8].to_string()),
        ("bit flipped", String::from_utf8(flipped).unwrap()),
        (
            "wrong key",
            seal(py, 1, good.to_string().as_bytes(), other_key, IV),
        ),
        (
            "wrong IV",
            seal(py, 1, good.to_string().as_bytes(), KEY, other_iv),
        ),
        (
            "v2 wrong key",
            seal(py, 2, good.to_string().as_bytes(), other_key, IV),
        ),
        ("not JSON", seal(py, 1, b"<token/>", KEY, IV)),
        ("JSON array", seal(py, 1, b"[1,2]", KEY, IV)),
        ("version 3", v1(&with("Version", json!("3")))),
        ("says 2, sealed as 1", v1(&with("Version", json!("2")))),
        ("says 1, sealed as 2", v2(&with("Version", json!("1")))),
        ("expired", v1(&with("TimeStamp", json!(utc_stamp(-3600))))),
        ("future", v1(&with("TimeStamp", json!(utc_stamp(3600))))),
        ("bad time", v1(&with("TimeStamp", json!("yesterday")))),
        ("other IP", v1(&with("AllowedIP", json!("10.1.2.3")))),
        ("IPv6", v1(&with("AllowedIP", json!("2001:db8::1")))),
        ("dead session", v1(&with("Session", json!(closed)))),
        (
            "unknown session",
            v1(&with("Session", json!(uuid::Uuid::new_v4().to_string()))),
        ),
        ("unknown folder", v1(&with("FolderID", json!("999999")))),
        (
            "show-only folder",
            v1(&with("FolderID", json!(shown.to_string()))),
        ),
        ("file token on upload page", {
            let mut c = good.clone();
            c.as_object_mut().unwrap().remove("FolderID");
            c["FilePublicID"] = json!("1");
            v1(&c)
        }),
        ("missing AllowedIP", {
            let mut c = good.clone();
            c.as_object_mut().unwrap().remove("AllowedIP");
            v1(&c)
        }),
        ("huge", "A".repeat(20_000)),
    ];
    let (status, reference) = f.open_page("x");
    assert_eq!(status, 403);
    assert!(reference.contains("This link is not valid"));
    for (what, token) in &bad {
        let (status, body) = f.open_page(token);
        assert_eq!((status, &body), (403, &reference), "{what}");
    }
    // A forged X-Forwarded-For does not make 10.1.2.3's token usable from here.
    let (status, body) = f.open_path(
        &format!("/tools/upload?token={}", pct(&bad[15].1)),
        &[("X-Forwarded-For", "10.1.2.3")],
    );
    assert_eq!((status, &body), (403, &reference));
    // The reasons are in the audit, one per refusal, never in the answers.
    let refused: Vec<Value> =
        f.s.audit()
            .into_iter()
            .filter(|e| e["operation"] == "ToolTokenRefused")
            .collect();
    assert!(refused.len() > bad.len(), "{refused:?}");
    let reasons: Vec<&str> = refused
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    for needle in [
        "decrypt",
        "expired",
        "future",
        "browser is at 127.0.0.1",
        "not alive",
        "may not create",
        "other tool",
        "sealed as version",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(needle)),
            "{needle}: {reasons:?}"
        );
    }
    assert!(refused.iter().all(|e| e["client_ip"] == "127.0.0.1"));
    // A link's page options are checked on their own, before the token.
    let good_token = pct(&v2(&claims(f.folder, "127.0.0.1", &f.session, 2)));
    for (query, message) in [
        ("&ThruMaxFileNumber=0", "ThruMaxFileNumber"),
        ("&ThruMaxFileNumber=lots", "ThruMaxFileNumber"),
        (
            "&ThruSuccessUrl=https%3A%2F%2Fevil.example.net%2F",
            "ThruSuccessUrl",
        ),
        (
            "&ThruSuccessUrl=http%3A%2F%2Fportal.example.com%2F",
            "https",
        ),
        (
            "&ThruErrorReportingUrl=javascript%3Aalert(1)",
            "ThruErrorReportingUrl",
        ),
    ] {
        let (status, html) = f.open_path(&format!("/tools/upload?token={good_token}{query}"), &[]);
        assert_eq!(status, 400, "{query}");
        assert!(html.contains(message), "{query}: {html}");
    }
    // With an allowed error URL, every refusal is the same redirect.
    let (status, headers, _) = f.tus(
        "GET",
        "/ExternalJavaUpload.aspx?ThruFolderID=AAAA&ThruErrorReportingUrl=https%3A%2F%2Fportal.example.com%2Ferr%3Fa%3D1",
        &[],
        b"",
    );
    assert_eq!(status, 303);
    assert_eq!(
        headers["location"],
        "https://portal.example.com/err?a=1&ThruErrorCode=140"
    );
    // The server is fine and nothing was uploaded.
    assert!(f.files().is_empty());
    assert_eq!(
        f.open_page(&v2(&claims(f.folder, "127.0.0.1", &f.session, 2)))
            .0,
        200
    );
}

#[test]
fn failed_tokens_lock_the_address_out() {
    let f = fixture(Backend::Sqlite, "[lockout]\naddress_threshold = 3\n", "");
    let py = doc_python();
    let good = f.token(py.path());
    let (_, reference) = f.open_page("nope");
    for _ in 0..3 {
        assert_eq!(f.open_page("nope"), (403, reference.clone()));
    }
    // Locked out: even a good token gets the same page now, and sign-ins from here too.
    assert_eq!(f.open_page(&good), (403, reference));
    assert!(
        f.s.audit()
            .iter()
            .any(|e| e["operation"] == "ToolTokenRefused" && e["detail"] == "address locked out")
    );
    let (status, body) = f.s.call(
        "Open",
        json!({"userName": "ann", "password": "ann-password-123", "applicationID": 1000, "clientVersion": "x"}),
    );
    assert_error(&(status, body), 429, 103);
}

#[test]
fn trusted_proxies_decide_whose_forwarded_for_counts() {
    let f = fixture(Backend::Sqlite, "trusted_proxies = [\"127.0.0.0/8\"]\n", "");
    let py = doc_python();
    let far = claims(f.folder, "203.0.113.5", &f.session, 2);
    let token = seal(py.path(), 2, far.to_string().as_bytes(), KEY, IV);
    let path = format!("/tools/upload?token={}", pct(&token));
    assert_eq!(
        f.open_path(&path, &[]).0,
        403,
        "the proxy's own address is not the client's"
    );
    let (status, html) = f.open_path(&path, &[("X-Forwarded-For", "198.51.100.1, 203.0.113.5")]);
    assert_eq!(status, 200, "{html}");
    let grant = grant_of(&html);
    // The grant works only from that client address too.
    let meta = format!("filename {}", b64("x.txt"));
    let create = |xff: &str| {
        f.tus(
            "POST",
            "/tools/tus",
            &tus_headers(
                &grant,
                &[
                    ("Upload-Length", "1"),
                    ("Upload-Metadata", &meta),
                    ("X-Forwarded-For", xff),
                ],
            ),
            b"",
        )
        .0
    };
    assert_eq!(
        create("198.51.100.99"),
        403,
        "a grant replayed from another address"
    );
    assert_eq!(create("203.0.113.5"), 201);
}

fn single_use_tokens_open_once_and_version_1_can_be_turned_off(backend: Backend) {
    let f = fixture(backend, "", "single_use = true\nversion_1 = false\n");
    let py = doc_python();
    let token = f.token(py.path());
    assert_eq!(f.open_page(&token).0, 200);
    let (status, body) = f.open_page(&token);
    assert_eq!(status, 403, "{body}");
    let v1 = seal(
        py.path(),
        1,
        claims(f.folder, "127.0.0.1", &f.session, 1)
            .to_string()
            .as_bytes(),
        KEY,
        IV,
    );
    assert_eq!(f.open_page(&v1).0, 403);
    let reasons: Vec<String> =
        f.s.audit()
            .iter()
            .filter(|e| e["operation"] == "ToolTokenRefused")
            .map(|e| e["detail"].as_str().unwrap().to_string())
            .collect();
    assert!(
        reasons.iter().any(|r| r.contains("used before")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("decrypt")), "{reasons:?}");
    // The CLI will not make a version-1 token either.
    let out = f.s.ferry(
        &[
            "token",
            "issue",
            "--folder",
            &f.folder.to_string(),
            "--allowed-ip",
            "127.0.0.1",
            "--session",
            &f.session,
            "--version",
            "1",
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("turned off"));
}

#[test]
fn bad_key_material_stops_start_up_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    for (config, message) in [
        (
            "[tools]\nkey = \"AAAA\"\niv = \"ABEiM0RVZneImaq7zN3u/w==\"\n",
            "32 bytes",
        ),
        (
            &format!("[tools]\nkey = \"{KEY}\"\niv = \"AAAA\"\n") as &str,
            "16 bytes",
        ),
        (&format!("[tools]\nkey = \"{KEY}\"\n"), "IV"),
        ("[tools]\nkey = \"not base64!\"\n", "not base64"),
        (
            "[tools]\niv = \"ABEiM0RVZneImaq7zN3u/w==\"\n",
            "no token key",
        ),
    ] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, config).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .env_remove("FERRY_TOKEN_KEY")
            .env_remove("FERRY_TOKEN_IV")
            .arg("--config")
            .arg(&path)
            .arg("--data-dir")
            .arg(dir.path())
            .args(["serve", "--http", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{config}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{config}: {err}");
    }
}
