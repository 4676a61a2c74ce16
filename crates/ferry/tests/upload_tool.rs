//! The browser tools (docs/upload-tool.md) against a live server: tokens made by the document's
//! own Python and `openssl enc` examples (extracted from the document and run, so it cannot
//! drift), the uniform refusal, the lock-out, the grant, the tus protocol with an independent
//! client (`tuspy`), the download tool, and a real Chromium driven by Playwright.

mod common;

use std::path::Path;
use std::process::Command;

use common::{ADMIN, ADMIN_PASSWORD, Server, assert_error, sha256_hex, utc_stamp};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

const KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
const IV: &str = "ABEiM0RVZneImaq7zN3u/w==";
const EMAIL: &str = "partner@example.net";

on_both_backends!(single_use_tokens_open_once_and_version_1_can_be_turned_off);

/// A server with the tools on, a Member `ann` signed in, and her home folder.
struct Fixture {
    s: Server,
    session: String,
    folder: i64,
    agent: ureq::Agent,
}

fn fixture(backend: Backend, top: &str, tools: &str) -> Fixture {
    let s = Server::start_with(
        backend,
        &format!(
            "{top}\n[tools]\nkey = \"{KEY}\"\niv = \"{IV}\"\n\
             redirect_hosts = [\"portal.example.com\"]\n{tools}\n"
        ),
    );
    s.add_app(1000);
    s.add_user("ann", "member", "ann-password-123");
    let (session, _) = s.open_with("OpenImmutable", "ann", "ann-password-123", 1000);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let folder = home["FolderID"].as_i64().unwrap();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    Fixture {
        s,
        session,
        folder,
        agent,
    }
}

fn claims(folder: i64, ip: &str, session: &str, version: u8) -> Value {
    json!({"Version": version.to_string(), "FolderID": folder.to_string(), "Email": EMAIL,
           "AllowedIP": ip, "TimeStamp": utc_stamp(0), "Session": session})
}

/// A block of docs/upload-tool.md (the first of its language).
fn doc_block(lang: &str) -> String {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/upload-tool.md"),
    )
    .unwrap();
    let open = format!("```{lang}\n");
    let start = doc.find(&open).expect("a code block") + open.len();
    let end = start + doc[start..].find("\n```").unwrap();
    doc[start..=end].to_string()
}

/// The document's Python, written out as `upload_token.py`.
fn doc_python() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("upload_token.py"), doc_block("python")).unwrap();
    dir
}

/// Encrypts `plaintext` with the document's Python: version 1 (CBC) or 2 (GCM), under `key`.
fn seal(py: &Path, version: u8, plaintext: &[u8], key: &str, iv: &str) -> String {
    let script = "import sys, upload_token as t\n\
                  data = sys.stdin.buffer.read()\n\
                  print(t.seal_v2(sys.argv[2], data) if sys.argv[1] == '2' \
                  else t.encrypt_v1(sys.argv[2], sys.argv[3], data))\n";
    let out = common::run_ok(
        Command::new("python3")
            .args(["-c", script, &version.to_string(), key, iv])
            .current_dir(py)
            .stdin_bytes(plaintext),
    );
    out.trim().to_string()
}

/// `Command` with bytes on standard input.
trait StdinBytes {
    fn stdin_bytes(&mut self, data: &[u8]) -> &mut Self;
}

impl StdinBytes for Command {
    fn stdin_bytes(&mut self, data: &[u8]) -> &mut Self {
        let path = std::env::temp_dir().join(format!("ferry-stdin-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, data).unwrap();
        self.stdin(std::fs::File::open(&path).unwrap());
        let _ = std::fs::remove_file(&path);
        self
    }
}

fn pct(token: &str) -> String {
    token
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Fixture {
    fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, Vec<(String, String)>, Vec<u8>) {
        self.s.get_bytes(path, headers)
    }

    /// Opens the upload page; the status and the HTML.
    fn open_page(&self, token: &str) -> (u16, String) {
        self.open_path(&format!("/tools/upload?token={}", pct(token)), &[])
    }

    fn open_path(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let (status, _, body) = self.get(path, headers);
        (status, String::from_utf8(body).unwrap())
    }

    /// A valid version-2 token for ann's home folder from 127.0.0.1.
    fn token(&self, py: &Path) -> String {
        let c = claims(self.folder, "127.0.0.1", &self.session, 2);
        seal(py, 2, c.to_string().as_bytes(), KEY, IV)
    }

    /// Opens a page and returns its grant.
    fn grant(&self, py: &Path, query: &str) -> String {
        let token = self.token(py);
        let (status, html) =
            self.open_path(&format!("/tools/upload?token={}{query}", pct(&token)), &[]);
        assert_eq!(status, 200, "{html}");
        grant_of(&html)
    }

    /// Opens a page of a token with another `Email` (so another token) and returns its grant.
    fn grant_for(&self, py: &Path, email: &str) -> String {
        let mut c = claims(self.folder, "127.0.0.1", &self.session, 2);
        c["Email"] = json!(email);
        let (status, html) = self.open_page(&seal(py, 2, c.to_string().as_bytes(), KEY, IV));
        assert_eq!(status, 200, "{html}");
        grant_of(&html)
    }

    /// One tus request; the status, the response headers, the body.
    fn tus(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, std::collections::HashMap<String, String>, String) {
        let url = format!("{}{path}", self.s.base);
        let mut req = axum::http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(body.to_vec()).unwrap();
        let mut resp = self.agent.run(req).expect("HTTP request failed");
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (resp.status().as_u16(), headers, text)
    }

    fn files(&self) -> Vec<Value> {
        self.s.home_files(&self.session)
    }
}

/// An upload link for ann's home folder made by the document's `openssl enc` example.
fn openssl_link(f: &Fixture) -> String {
    common::run_ok(
        Command::new("bash")
            .args(["-c", &doc_block("sh")])
            .env("BASE_URL", &f.s.base)
            .env("FOLDER_ID", f.folder.to_string())
            .env("EMAIL", EMAIL)
            .env("ALLOWED_IP", "127.0.0.1")
            .env("SESSION_ID", &f.session)
            .env("FERRY_TOKEN_KEY", KEY)
            .env("FERRY_TOKEN_IV", IV),
    )
}

fn grant_of(html: &str) -> String {
    let start = html.find("data-grant=\"").expect("a grant in the page") + 12;
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_string()
}

fn tus_headers<'a>(grant: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut h = vec![("Tus-Resumable", "1.0.0"), ("Ferry-Grant", grant)];
    h.extend_from_slice(extra);
    h
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

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
fn tus_uploads_obey_the_protocol_the_grant_and_the_page_limits() {
    let f = fixture(Backend::Sqlite, "", "");
    let py = doc_python();
    let grant = f.grant(
        py.path(),
        "&ThruMaxFileNumber=3&ThruFileFilterExceptions=Programs%3A%20exe%2C%20bat",
    );
    let meta = format!("filename {}", b64("report.csv"));
    // Capabilities, and the version check.
    let (status, h, _) = f.tus("OPTIONS", "/tools/tus", &[], b"");
    assert_eq!(status, 204);
    assert_eq!(h["tus-extension"], "creation,termination,checksum");
    let (status, _, _) = f.tus(
        "POST",
        "/tools/tus",
        &[("Ferry-Grant", &grant), ("Upload-Length", "10")],
        b"",
    );
    assert_eq!(status, 412);
    // No grant, a made-up grant, a cross-site request: refused.
    for headers in [
        vec![("Tus-Resumable", "1.0.0"), ("Upload-Length", "10")],
        tus_headers(
            "made-up",
            &[("Upload-Length", "10"), ("Upload-Metadata", &meta)],
        ),
        tus_headers(
            &grant,
            &[
                ("Upload-Length", "10"),
                ("Upload-Metadata", &meta),
                ("Origin", "https://evil.example.net"),
            ],
        ),
        tus_headers(
            &grant,
            &[
                ("Upload-Length", "10"),
                ("Upload-Metadata", &meta),
                ("Sec-Fetch-Site", "cross-site"),
            ],
        ),
    ] {
        let (status, _, body) = f.tus("POST", "/tools/tus", &headers, b"");
        assert_eq!(status, 403, "{headers:?}");
        assert!(body.contains("141"), "{body}");
    }
    // A filtered type.
    let (status, _, body) = f.tus(
        "POST",
        "/tools/tus",
        &tus_headers(
            &grant,
            &[
                ("Upload-Length", "3"),
                ("Upload-Metadata", &format!("filename {}", b64("setup.EXE"))),
            ],
        ),
        b"",
    );
    assert_eq!(status, 403);
    assert!(
        body.contains("142") && body.contains("not accepted"),
        "{body}"
    );
    // Creation.
    let content = b"id,amount\n1,10\n2,20\n";
    let length = content.len().to_string();
    let (status, h, body) = f.tus(
        "POST",
        "/tools/tus",
        &tus_headers(
            &grant,
            &[("Upload-Length", &length), ("Upload-Metadata", &meta)],
        ),
        b"",
    );
    assert_eq!(status, 201, "{body}");
    let location = h["location"].clone();
    assert!(location.starts_with("/tools/tus/"));
    let octets = ("Content-Type", "application/offset+octet-stream");
    // Wrong content type, wrong offset.
    let (status, _, _) = f.tus(
        "PATCH",
        &location,
        &tus_headers(&grant, &[("Upload-Offset", "0")]),
        &content[..5],
    );
    assert_eq!(status, 415);
    let (status, h, _) = f.tus(
        "PATCH",
        &location,
        &tus_headers(&grant, &[("Upload-Offset", "4"), octets]),
        &content[..5],
    );
    assert_eq!(status, 409);
    assert_eq!(h["upload-offset"], "0");
    // A good chunk with its checksum, then one with a wrong checksum (taken back).
    use base64::Engine;
    let sha1 = |d: &[u8]| {
        let out = Command::new("python3")
            .args(["-c", "import hashlib,sys,base64; print(base64.b64encode(hashlib.sha1(sys.stdin.buffer.read()).digest()).decode())"])
            .stdin_bytes(d)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let first = format!("sha1 {}", sha1(&content[..8]));
    let (status, h, body) = f.tus(
        "PATCH",
        &location,
        &tus_headers(
            &grant,
            &[("Upload-Offset", "0"), octets, ("Upload-Checksum", &first)],
        ),
        &content[..8],
    );
    assert_eq!(status, 204, "{body}");
    assert_eq!(h["upload-offset"], "8");
    let wrong = format!(
        "sha256 {}",
        base64::engine::general_purpose::STANDARD.encode([0u8; 32])
    );
    let (status, _, _) = f.tus(
        "PATCH",
        &location,
        &tus_headers(
            &grant,
            &[("Upload-Offset", "8"), octets, ("Upload-Checksum", &wrong)],
        ),
        &content[8..12],
    );
    assert_eq!(status, 460);
    let (status, _, _) = f.tus(
        "PATCH",
        &location,
        &tus_headers(
            &grant,
            &[
                ("Upload-Offset", "8"),
                octets,
                ("Upload-Checksum", "md5 AAAA"),
            ],
        ),
        &content[8..12],
    );
    assert_eq!(status, 400);
    let (_, h, _) = f.tus("HEAD", &location, &tus_headers(&grant, &[]), b"");
    assert_eq!(
        (h["upload-offset"].as_str(), h["upload-length"].as_str()),
        ("8", length.as_str())
    );
    // Past the declared length: refused whole.
    let mut too_long = content[8..].to_vec();
    too_long.extend_from_slice(b"extra");
    let (status, _, _) = f.tus(
        "PATCH",
        &location,
        &tus_headers(&grant, &[("Upload-Offset", "8"), octets]),
        &too_long,
    );
    assert_eq!(status, 413);
    let (_, h, _) = f.tus("HEAD", &location, &tus_headers(&grant, &[]), b"");
    assert_eq!(h["upload-offset"], "8");
    // Nothing is visible until the last byte.
    assert!(f.files().is_empty());
    // Another page of another token cannot see this upload.
    let other = f.grant_for(py.path(), "someone-else@example.net");
    let (status, _, _) = f.tus("HEAD", &location, &tus_headers(&other, &[]), b"");
    assert_eq!(status, 404);
    let (status, h, _) = f.tus(
        "PATCH",
        &location,
        &tus_headers(&grant, &[("Upload-Offset", "8"), octets]),
        &content[8..],
    );
    assert_eq!(status, 204);
    let sha = sha256_hex(content);
    assert_eq!(h["ferry-file-sha256"], sha);
    let files = f.files();
    assert_eq!(files.len(), 1);
    assert_eq!(
        (files[0]["Name"].as_str(), files[0]["SHA256"].as_str()),
        (Some("report.csv"), Some(sha.as_str()))
    );
    let audit = f.s.audit();
    let uploaded = audit
        .iter()
        .rev()
        .find(|e| e["operation"] == "FileUploaded")
        .unwrap();
    assert_eq!(uploaded["external_user"], EMAIL);
    assert_eq!(uploaded["client_ip"], "127.0.0.1");
    assert!(
        audit
            .iter()
            .any(|e| e["operation"] == "ToolOpened" && e["external_user"] == EMAIL)
    );
    // A cancelled upload leaves nothing and gives its place back; the file limit holds.
    let start = |name: &str| {
        let meta = format!("filename {}", b64(name));
        f.tus(
            "POST",
            "/tools/tus",
            &tus_headers(
                &grant,
                &[("Upload-Length", "4"), ("Upload-Metadata", &meta)],
            ),
            b"",
        )
    };
    let (status, h, _) = start("cancelled.txt");
    assert_eq!(status, 201);
    let cancelled = h["location"].clone();
    f.tus(
        "PATCH",
        &cancelled,
        &tus_headers(&grant, &[("Upload-Offset", "0"), octets]),
        b"ab",
    );
    let (status, _, _) = f.tus("DELETE", &cancelled, &tus_headers(&grant, &[]), b"");
    assert_eq!(status, 204);
    let (status, _, _) = f.tus("HEAD", &cancelled, &tus_headers(&grant, &[]), b"");
    assert_eq!(status, 404);
    assert_eq!(start("two.txt").0, 201);
    assert_eq!(start("three.txt").0, 201);
    let (status, _, body) = start("four.txt");
    assert_eq!(status, 403);
    assert!(body.contains("at most 3 files"), "{body}");
    // The limit is the token's, not the page's: a reload does not reset it.
    let token_grant_after_reload = {
        let (_, html) = f.open_path(
            &format!(
                "/tools/upload?token={}&ThruMaxFileNumber=3",
                pct(&f.token(py.path()))
            ),
            &[],
        );
        grant_of(&html)
    };
    assert_ne!(token_grant_after_reload, grant);
    assert_eq!(f.files().len(), 1);
    // A name with HTML in it is stored as a name, and shown escaped on a page.
    let meta = format!("filename {}", b64("<img src=x onerror=alert(1)>.txt"));
    let other_grant = f.grant_for(py.path(), "third@example.net");
    let (status, h, _) = f.tus(
        "POST",
        "/tools/tus",
        &tus_headers(
            &other_grant,
            &[("Upload-Length", "0"), ("Upload-Metadata", &meta)],
        ),
        b"",
    );
    assert_eq!(status, 201, "an empty file is complete when created");
    assert!(h.contains_key("ferry-file-id"));
    // Closing the session ends every grant made from it.
    f.s.call("Close", json!({"sessionID": f.session}));
    let (status, _, body) = f.tus("HEAD", &location, &tus_headers(&grant, &[]), b"");
    assert_eq!(status, 403, "{body}");
}

#[test]
fn tuspy_uploads_files_and_folders_with_checksums() {
    let f = fixture(Backend::Sqlite, "", "");
    let py = doc_python();
    let grant = f.grant(py.path(), "");
    let work = tempfile::tempdir().unwrap();
    let script = r#"
import hashlib, json, os, sys
from tusclient import client
base, grant, work = sys.argv[1], sys.argv[2], sys.argv[3]
c = client.TusClient(base + "/tools/tus", headers={"Ferry-Grant": grant})
out = {}
big = os.path.join(work, "big.bin")
with open(big, "wb") as f:
    f.write(os.urandom(20 * 1024 * 1024 + 17))
up = c.uploader(big, chunk_size=1024 * 1024, metadata={"filename": "big.bin"}, upload_checksum=True)
up.upload()
out["big.bin"] = hashlib.sha256(open(big, "rb").read()).hexdigest()
for i in range(100):
    p = os.path.join(work, f"f{i}.txt")
    with open(p, "w") as f:
        f.write(f"file {i}\n" * (i + 1))
    c.uploader(p, metadata={"filename": f"f{i}.txt", "relativePath": f"batch/part{i % 3}/f{i}.txt"}).upload()
print(json.dumps(out))
"#;
    let out = common::run_ok(Command::new("python3").args([
        "-c",
        script,
        &f.s.base,
        &grant,
        work.path().to_str().unwrap(),
    ]));
    let expected: Value = serde_json::from_str(out.trim()).unwrap();
    let files = f.files();
    let big = files.iter().find(|x| x["Name"] == "big.bin").unwrap();
    assert_eq!(big["SHA256"], expected["big.bin"]);
    // The folder structure of the hundred files was made under the token's folder.
    let (_, batch) = f.s.call(
        "GetFolders",
        json!({"sessionID": f.session, "folderID": f.folder}),
    );
    let batch = batch
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["Name"] == "batch")
        .unwrap()["FolderID"]
        .clone();
    let (_, parts) = f.s.call(
        "GetFolders",
        json!({"sessionID": f.session, "folderID": batch}),
    );
    let parts = parts.as_array().unwrap();
    assert_eq!(parts.len(), 3);
    let mut total = 0;
    for part in parts {
        let (_, files) = f.s.call(
            "GetFiles",
            json!({"sessionID": f.session, "folderID": part["FolderID"], "skip": 0, "take": 1000}),
        );
        for file in files.as_array().unwrap() {
            let i: usize = file["Name"].as_str().unwrap()[1..]
                .trim_end_matches(".txt")
                .parse()
                .unwrap();
            assert_eq!(
                file["SHA256"],
                sha256_hex(format!("file {i}\n").repeat(i + 1).as_bytes())
            );
            total += 1;
        }
    }
    assert_eq!(total, 100);
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

#[test]
fn the_download_tool_lists_and_serves_the_tokens_files() {
    let f = fixture(Backend::Sqlite, "", "");
    let py = doc_python();
    let (status, a) = f.s.put_file(
        &f.session,
        f.folder,
        "<b>a<b>.html",
        "",
        b"<script>alert(1)</script>",
    );
    assert_eq!(status, 200);
    let (_, b) = f.s.put_file(&f.session, f.folder, "b.txt", "", b"bravo");
    let (_, c) = f.s.put_file(&f.session, f.folder, "c.txt", "", b"charlie");
    let (a, b, c) = (
        a["FileID"].as_i64().unwrap(),
        b["FileID"].as_i64().unwrap(),
        c["FileID"].as_i64().unwrap(),
    );
    let token = |ids: &str| {
        let plain = json!({"Version": "2", "FilePublicID": ids, "Email": EMAIL, "AllowedIP": "127.0.0.1",
                           "TimeStamp": utc_stamp(0), "Session": f.session});
        seal(py.path(), 2, plain.to_string().as_bytes(), KEY, IV)
    };
    // A file token does not open the upload tool, nor a folder token the download tool.
    assert_eq!(f.open_page(&token(&a.to_string())).0, 403);
    assert_eq!(
        f.open_path(
            &format!("/tools/download?token={}", pct(&f.token(py.path()))),
            &[]
        )
        .0,
        403
    );
    let (status, html) = f.open_path(
        &format!("/tools/download?token={}", pct(&token(&format!("{a},{b}")))),
        &[],
    );
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("&lt;b&gt;a&lt;b&gt;.html") && !html.contains("<b>a<b>"),
        "{html}"
    );
    assert!(html.contains("b.txt") && !html.contains("c.txt"));
    let grant = grant_of_download(&html);
    let (status, headers, body) = f.get(&format!("/tools/files/{a}?grant={grant}"), &[]);
    assert_eq!(status, 200);
    assert_eq!(body, b"<script>alert(1)</script>");
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert!(header("content-disposition").starts_with("attachment;"));
    assert_eq!(header("content-type"), "application/octet-stream");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-security-policy").contains("sandbox"));
    let (status, _, body) = f.get(
        &format!("/tools/files/{b}?grant={grant}"),
        &[("Range", "bytes=1-3")],
    );
    assert_eq!((status, body.as_slice()), (206, &b"rav"[..]));
    // Files the token does not name, a made-up grant, another site: refused.
    assert_eq!(
        f.get(&format!("/tools/files/{c}?grant={grant}"), &[]).0,
        404
    );
    assert_eq!(f.get(&format!("/tools/files/{a}?grant=nope"), &[]).0, 403);
    assert_eq!(
        f.get(
            &format!("/tools/files/{a}?grant={grant}"),
            &[("Sec-Fetch-Site", "cross-site")]
        )
        .0,
        403
    );
    let downloaded: Vec<Value> =
        f.s.audit()
            .into_iter()
            .filter(|e| e["operation"] == "FileDownloaded")
            .collect();
    assert_eq!(downloaded.len(), 2);
    assert!(downloaded.iter().all(|e| e["external_user"] == EMAIL));
    // One row per file: the name, its size and its button, then the labelled checksum; and
    // "Download all" as one ZIP of the token's files (read back with Python's zipfile).
    assert!(
        html.contains("Download all (2 files, ZIP)") && html.contains("class=\"label\">SHA-256"),
        "{html}"
    );
    let (status, headers, zip) = f.get(&format!("/tools/zip?grant={grant}"), &[]);
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/zip"),
        "{headers:?}"
    );
    let archive = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(archive.path(), &zip).unwrap();
    let listed = common::run_ok(Command::new("python3").arg("-c").arg(format!(
        "import zipfile; z = zipfile.ZipFile({:?}); \
         print(sorted((i.filename, z.read(i).decode()) for i in z.infolist()))",
        archive.path().display().to_string()
    )));
    // (`<` and `>` cannot be in a Windows name: escaped as in every Ferry archive.)
    assert_eq!(
        listed.trim(),
        "[('_b_a_b_.html', '<script>alert(1)</script>'), ('b.txt', 'bravo')]"
    );
    assert_eq!(f.get("/tools/zip?grant=nope", &[]).0, 403);
    let downloaded =
        f.s.audit()
            .into_iter()
            .filter(|e| e["operation"] == "FileDownloaded" && e["external_user"] == EMAIL)
            .count();
    assert_eq!(downloaded, 4, "each file in the ZIP audited as a download");
}

fn grant_of_download(html: &str) -> String {
    let start = html.find("?grant=").expect("a download link") + 7;
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_string()
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

#[test]
fn a_browser_uploads_three_files_and_resumes_after_a_cut() {
    let f = fixture(Backend::Sqlite, "", "");
    // The link is made by the document's openssl example.
    let link = openssl_link(&f);
    let work = tempfile::tempdir().unwrap();
    let screenshot = match std::env::var_os("FERRY_UPDATE_SCREENSHOT") {
        Some(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/upload-tool.png"),
        None => work.path().join("upload-tool.png"),
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/browser_upload.py");
    let out = common::run_ok(
        Command::new("python3")
            .arg(script)
            .arg(link.trim())
            .arg(work.path())
            .arg(&screenshot),
    );
    let report: Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert_eq!(report["errors"], json!([]), "{report}");
    assert_eq!(report["cuts"], 1, "{report}");
    assert_eq!(report["saw_resuming"], true, "{report}");
    eprintln!("statuses the page showed: {}", report["observed"]);
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .starts_with("3 uploaded"),
        "{report}"
    );
    assert_eq!(report["injected_elements"], 0);
    // The total bar moved through many values on its way up.
    let progress: Vec<f64> = report["total_progress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let distinct = progress.windows(2).filter(|w| w[1] > w[0]).count();
    assert!(distinct >= 5, "{progress:?}");
    // Resumed, not restarted: the relay carried the big file about once.
    let relayed = report["relayed_up"].as_u64().unwrap();
    assert!(
        relayed < 200 * 1024 * 1024 * 115 / 100,
        "{relayed} bytes relayed"
    );
    // After a reload half-way, the same file picked again resumes: less than the whole file
    // crossed the relay after the reload (a restart would send all of it, and headers).
    assert!(
        report["reload_summary"]
            .as_str()
            .unwrap()
            .starts_with("1 uploaded"),
        "{report}"
    );
    let after_reload = report["reload_relayed_up"].as_u64().unwrap();
    assert!(
        after_reload < 64 * 1024 * 1024,
        "{after_reload} bytes after the reload"
    );
    // Through the API: the four files with their SHA-256, and the token's Email in the audit.
    let files = f.files();
    assert_eq!(files.len(), 4, "{files:?}");
    for file in &files {
        let name = file["Name"].as_str().unwrap();
        let local = std::fs::read(work.path().join(name)).unwrap();
        assert_eq!(
            file["SHA256"].as_str().unwrap(),
            sha256_hex(&local),
            "{name}"
        );
    }
    let uploads: Vec<Value> =
        f.s.audit()
            .into_iter()
            .filter(|e| e["operation"] == "FileUploaded")
            .collect();
    assert_eq!(uploads.len(), 4);
    assert!(uploads.iter().all(|e| e["external_user"] == EMAIL));
}

#[test]
fn the_page_works_by_keyboard_on_a_phone_and_enforces_the_links_limits() {
    let f = fixture(Backend::Sqlite, "", "");
    let py = doc_python();
    let token = f.token(py.path());
    let link = format!(
        "{}/ExternalJavaUpload.aspx?ThruFolderID={}&ThruApplicationID=1000&ThruMaxFileNumber=2\
         &ThruFileFilter=Documents%3A%20txt%2C%20bin",
        f.s.base,
        pct(&token)
    );
    let work = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/browser_ui.py");
    let out = common::run_ok(
        Command::new("python3")
            .arg(script)
            .arg(&link)
            .arg(work.path()),
    );
    let report: Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert_eq!(report["errors"], json!([]), "{report}");
    assert!(
        report["overflow_px"].as_i64().unwrap() <= 0,
        "sideways scrolling: {report}"
    );
    assert_eq!(
        report["tab_order"].as_array().unwrap().last().unwrap(),
        "drop",
        "{report}"
    );
    assert_eq!(
        report["refused_type"],
        "Files of this type are not accepted here."
    );
    assert_eq!(report["cancelled"], "Cancelled");
    assert_eq!(report["retry_visible"], true);
    assert!(
        report["retried"].as_str().unwrap().starts_with("Uploaded"),
        "{report}"
    );
    assert_eq!(report["third"], "This link accepts at most 2 files.");
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .starts_with("2 uploaded"),
        "{report}"
    );
    // On the server: the two files, whole, and nothing of the cancelled attempt.
    let mut names: Vec<String> = f
        .files()
        .iter()
        .map(|x| x["Name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["first.txt", "slow.bin"]);
    for file in f.files() {
        let name = file["Name"].as_str().unwrap();
        let local = std::fs::read(work.path().join(name)).unwrap();
        assert_eq!(
            file["SHA256"].as_str().unwrap(),
            sha256_hex(&local),
            "{name}"
        );
    }
}

#[test]
fn firefox_uploads_through_the_page_too() {
    let f = fixture(Backend::Sqlite, "", "");
    let py = doc_python();
    let link = format!(
        "{}/tools/upload?token={}",
        f.s.base,
        pct(&f.token(py.path()))
    );
    let work = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/browser_firefox.py");
    let out = common::run_ok(
        Command::new("python3")
            .arg(script)
            .arg(&link)
            .arg(work.path()),
    );
    let report: Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert!(
        report["user_agent"].as_str().unwrap().contains("Firefox/"),
        "{report}"
    );
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .starts_with("2 uploaded"),
        "{report}"
    );
    assert_eq!(report["injected_elements"], 0);
    let files = f.files();
    assert_eq!(files.len(), 2, "{files:?}");
    for file in &files {
        let name = file["Name"].as_str().unwrap();
        let local = std::fs::read(work.path().join(name)).unwrap();
        assert_eq!(
            file["SHA256"].as_str().unwrap(),
            sha256_hex(&local),
            "{name}"
        );
    }
}
