//! What the browser-tool tests share: a server with the tools on and a signed-in member, the
//! token encoders of docs/upload-tool.md (run as documented), and small request helpers.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use ferry_testkit::Backend;
use serde_json::{Value, json};

use crate::common::{self, Server, utc_stamp};

pub use crate::common::TEST_KEY as KEY;
pub const IV: &str = "ABEiM0RVZneImaq7zN3u/w==";
pub const EMAIL: &str = "partner@example.net";

/// A server with the tools on, a Member `ann` signed in, and her home folder.
pub struct Fixture {
    pub s: Server,
    pub session: String,
    pub folder: i64,
    pub agent: ureq::Agent,
}

pub fn fixture(backend: Backend, top: &str, tools: &str) -> Fixture {
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

pub fn claims(folder: i64, ip: &str, session: &str, version: u8) -> Value {
    json!({"Version": version.to_string(), "FolderID": folder.to_string(), "Email": EMAIL,
           "AllowedIP": ip, "TimeStamp": utc_stamp(0), "Session": session})
}

/// A block of docs/upload-tool.md (the first of its language).
pub fn doc_block(lang: &str) -> String {
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
pub fn doc_python() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("upload_token.py"), doc_block("python")).unwrap();
    dir
}

/// Encrypts `plaintext` with the document's Python: version 1 (CBC) or 2 (GCM), under `key`.
pub fn seal(py: &Path, version: u8, plaintext: &[u8], key: &str, iv: &str) -> String {
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
pub trait StdinBytes {
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

pub fn pct(token: &str) -> String {
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
    pub fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        self.s.get_bytes(path, headers)
    }

    /// Opens the upload page; the status and the HTML.
    pub fn open_page(&self, token: &str) -> (u16, String) {
        self.open_path(&format!("/tools/upload?token={}", pct(token)), &[])
    }

    pub fn open_path(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let (status, _, body) = self.get(path, headers);
        (status, String::from_utf8(body).unwrap())
    }

    /// A valid version-2 token for ann's home folder from 127.0.0.1.
    pub fn token(&self, py: &Path) -> String {
        let c = claims(self.folder, "127.0.0.1", &self.session, 2);
        seal(py, 2, c.to_string().as_bytes(), KEY, IV)
    }

    /// Opens a page and returns its grant.
    pub fn grant(&self, py: &Path, query: &str) -> String {
        let token = self.token(py);
        let (status, html) =
            self.open_path(&format!("/tools/upload?token={}{query}", pct(&token)), &[]);
        assert_eq!(status, 200, "{html}");
        grant_of(&html)
    }

    /// Opens a page of a token with another `Email` (so another token) and returns its grant.
    pub fn grant_for(&self, py: &Path, email: &str) -> String {
        let mut c = claims(self.folder, "127.0.0.1", &self.session, 2);
        c["Email"] = json!(email);
        let (status, html) = self.open_page(&seal(py, 2, c.to_string().as_bytes(), KEY, IV));
        assert_eq!(status, 200, "{html}");
        grant_of(&html)
    }

    /// One tus request; the status, the response headers, the body.
    pub fn tus(
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

    pub fn files(&self) -> Vec<Value> {
        self.s.home_files(&self.session)
    }
}

/// An upload link for ann's home folder made by the document's `openssl enc` example.
pub fn openssl_link(f: &Fixture) -> String {
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

pub fn grant_of(html: &str) -> String {
    let start = html.find("data-grant=\"").expect("a grant in the page") + 12;
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_string()
}

/// The grant of a download page: its first file link's.
pub fn grant_of_download(html: &str) -> String {
    let start = html.find("?grant=").expect("a download link") + 7;
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_string()
}

pub fn tus_headers<'a>(grant: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut h = vec![("Tus-Resumable", "1.0.0"), ("Ferry-Grant", grant)];
    h.extend_from_slice(extra);
    h
}

pub fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
