//! Starts the real `ferry` binary on a free loopback port with a fresh data directory and a
//! fresh database, and talks to it over HTTP and through its command line.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use ferry_testkit::Backend;
use serde_json::{Value, json};

mod checks;
mod command_line;
pub mod file_clients;
pub mod held_upload;
pub mod paused_get;
pub mod pebble;
mod peers;
pub mod test_ca;
pub mod web;
// Every test binary takes what it needs of these.
#[allow(unused_imports)]
pub use checks::*;
#[allow(unused_imports)]
pub use peers::*;

/// The 32-byte key (base64) the tests give a server for its tools' tokens and its second
/// factor's secrets.
pub const TEST_KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
/// `[tools]` with [`TEST_KEY`] and the old token format refused: the browser tools on.
pub const TOOLS: &str =
    "[tools]\nkey = \"q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=\"\nversion_1 = false\n";

/// The bootstrap administrator every test server starts with.
pub const ADMIN: &str = "admin";
/// Its password.
pub const ADMIN_PASSWORD: &str = "admin-password-1";
/// The client application every test server has registered (IDs below 1000 are Ferry's own
/// and refused to clients).
pub const APP: i64 = 1999;

/// Cheap Argon2 parameters so that hundreds of sign-ins stay fast in debug builds; the hashes
/// are still real Argon2id (the parameters travel in each hash).
const TEST_CONFIG: &str = "[passwords]\nargon2_memory_kib = 256\nargon2_iterations = 1\n";

/// A running server.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The server's data directory (also holds the config and the log).
    pub dir: tempfile::TempDir,
    /// The metadata database.
    pub database_url: String,
    /// `127.0.0.1:PORT` of FTPS, when the configuration turned it on (`[ftps]`).
    pub ftps: Option<String>,
    /// `127.0.0.1:PORT` of SFTP, when the configuration turned it on (`[sftp]`).
    pub sftp: Option<String>,
    /// `127.0.0.1:PORT` of HTTPS, when the configuration turned it on (`[https]`).
    pub https: Option<String>,
    agent: ureq::Agent,
}

fn ferry_command(dir: &Path, database_url: &str) -> Command {
    // FERRY_TEST_BINARY runs the suite against another build (an A/B of two builds in one
    // run, with the soak test for instance); by default, the one cargo just built.
    let binary =
        std::env::var("FERRY_TEST_BINARY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_ferry").into());
    let mut cmd = Command::new(binary);
    for (k, _) in std::env::vars() {
        if k.starts_with("FERRY_") {
            cmd.env_remove(k);
        }
    }
    cmd.arg("--config")
        .arg(dir.join("ferry.toml"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--database-url")
        .arg(database_url)
        .env("FERRY_ADMIN_PASSWORD", ADMIN_PASSWORD);
    cmd
}

/// Starts `ferry serve` with `extra` configuration that must stop the start-up; what it
/// printed to stderr (its log and its error). Panics if it starts serving instead.
pub fn failed_start(extra: &str) -> String {
    let dir = tempfile::Builder::new()
        .prefix("ferry-test-")
        .tempdir()
        .unwrap();
    let url = Backend::Sqlite.fresh_database_url(dir.path());
    std::fs::write(
        dir.path().join("ferry.toml"),
        format!(
            "{extra}
[ftps]
listen = \"0\"
[sftp]
listen = \"0\"
{TEST_CONFIG}"
        ),
    )
    .unwrap();
    let mut child = ferry_command(dir.path(), &url)
        .args(["serve", "--http", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start ferry");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("ferry kept running with a configuration that should stop it");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && !stdout.contains("listening on"),
        "ferry started: {stdout}"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

impl Server {
    /// A server on `backend` with the test configuration.
    pub fn start(backend: Backend) -> Server {
        Server::start_with(backend, "")
    }

    /// A server on `backend` with `extra` appended to the test configuration (TOML).
    pub fn start_with(backend: Backend, extra: &str) -> Server {
        let dir = tempfile::Builder::new()
            .prefix("ferry-test-")
            .tempdir()
            .unwrap();
        let database_url = backend.fresh_database_url(dir.path());
        let s = Server::start_in(dir, database_url, extra);
        s.add_app(APP);
        s
    }

    /// A server over an existing database.
    pub fn start_in(dir: tempfile::TempDir, database_url: String, extra: &str) -> Server {
        Server::start_in_env(dir, database_url, extra, &[])
    }

    /// [`Server::start_in`] with more environment for the process (a clock moved by
    /// libfaketime, say).
    pub fn start_in_env(
        dir: tempfile::TempDir,
        database_url: String,
        extra: &str,
        env: &[(&str, &str)],
    ) -> Server {
        // FTPS and SFTP are off unless a test configures them (default ports would collide).
        let mut ftps_off = String::new();
        if !extra.contains("[ftps]") {
            ftps_off.push_str("[ftps]\nlisten = \"0\"\n");
        }
        if !extra.contains("[sftp]") {
            ftps_off.push_str("[sftp]\nlisten = \"0\"\n");
        }
        std::fs::write(
            dir.path().join("ferry.toml"),
            format!("{extra}\n{ftps_off}{TEST_CONFIG}"),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let mut child = ferry_command(dir.path(), &database_url)
            .args(["serve", "--http", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("cannot start ferry");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let (mut ftps, mut sftp, mut https) = (None, None, None);
        loop {
            line.clear();
            out.read_line(&mut line).unwrap();
            if let Some(rest) = line.trim().strip_prefix("ferry: ftps on ") {
                ftps = rest.split(' ').next().map(str::to_string);
            } else if let Some(rest) = line.trim().strip_prefix("ferry: sftp on ") {
                sftp = rest.split(' ').next().map(str::to_string);
            } else if let Some(rest) = line.trim().strip_prefix("ferry: https on ") {
                https = rest.split(' ').next().map(str::to_string);
            } else {
                break;
            }
        }
        let Some(base) = line.trim().strip_prefix("ferry: listening on ") else {
            let _ = child.wait();
            panic!(
                "ferry did not start: {line:?}\n{}",
                std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
            );
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Server {
            base: base.to_string(),
            child: Some(child),
            dir,
            database_url,
            ftps,
            sftp,
            https,
            agent,
        }
    }

    /// `POST /api/v1/{method}` with a JSON body; the status and the JSON answer (`null` if none).
    pub fn call(&self, method: &str, body: Value) -> (u16, Value) {
        let (status, text) =
            self.post_raw(&format!("/api/v1/{method}"), body.to_string().as_bytes());
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, value)
    }

    /// `POST` raw bytes to `path`; the status and the body.
    pub fn post_raw(&self, path: &str, body: &[u8]) -> (u16, String) {
        self.post_with(path, body, &[])
    }

    /// `POST` raw bytes to `path` with extra headers; the status and the body.
    pub fn post_with(&self, path: &str, body: &[u8], headers: &[(&str, &str)]) -> (u16, String) {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.send(body).expect("HTTP request failed");
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap_or_default())
    }

    /// Like [`Server::call`], as relayed by a proxy for the client at `client_ip` (the
    /// server must trust 127.0.0.1 as a proxy for the address to count).
    pub fn call_from(&self, client_ip: &str, method: &str, body: Value) -> (u16, Value) {
        let (status, text) = self.post_with(
            &format!("/api/v1/{method}"),
            body.to_string().as_bytes(),
            &[("x-forwarded-for", client_ip)],
        );
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, value)
    }

    /// `GET path`; the status and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        self.get_with(path, &[])
    }

    /// `GET path` with extra headers; the status and the body.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.call().expect("HTTP request failed");
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap_or_default())
    }

    /// `PUT` a file's bytes into a folder with the session header; the status and the JSON.
    pub fn put_file(
        &self,
        session: &str,
        folder: i64,
        name: &str,
        query: &str,
        body: &[u8],
    ) -> (u16, Value) {
        self.put_file_with(session, folder, name, query, body, &[])
    }

    /// Like [`Server::put_file`] with extra request headers.
    pub fn put_file_with(
        &self,
        session: &str,
        folder: i64,
        name: &str,
        query: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let encoded: String = name
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let path = format!("/api/v1/folders/{folder}/files/{encoded}{query}");
        self.put_to(session, &path, body, headers)
    }

    /// `PUT` raw bytes to an exact (already encoded) path with the session header.
    pub fn put_raw_path(&self, session: &str, path: &str, body: &[u8]) -> (u16, Value) {
        self.put_to(session, path, body, &[])
    }

    fn put_to(
        &self,
        session: &str,
        path: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut req = self
            .agent
            .put(format!("{}{path}", self.base))
            .header("x-session-id", session);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.send(body).expect("HTTP request failed");
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `GET path` with headers; the status, the response headers and the body bytes.
    pub fn get_bytes(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.call().expect("HTTP request failed");
        let status = resp.status().as_u16();
        let hdrs = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .unwrap_or_default();
        (status, hdrs, body)
    }

    /// Makes folder `name` in `parent` as `session`; returns its ID, panicking on a refusal.
    pub fn create_folder(&self, session: &str, parent: i64, name: &str) -> i64 {
        let (status, body) = self.call(
            "CreateFolder",
            json!({"sessionID": session, "parentFolderID": parent, "name": name}),
        );
        assert_eq!(status, 200, "{body}");
        body["FolderID"].as_i64().unwrap()
    }

    /// Replaces `folder`'s grants, as `session` (an administrator's), with `grants`: each a
    /// user ID and its permission bits.
    pub fn set_grants(&self, session: &str, folder: i64, grants: &[(i64, i64)]) {
        let list: Vec<Value> = grants
            .iter()
            .map(|(user, bits)| json!({"Permission": bits, "UserID": user, "UserGroupID": -1}))
            .collect();
        let (status, body) = self.call(
            "SetFolderPermissionList",
            json!({"sessionID": session, "folderID": folder, "permissionList": list}),
        );
        assert_eq!(status, 200, "{body}");
    }

    /// Signs in with `Open`; returns (SessionID, UserID), panicking on failure.
    pub fn open(&self, user: &str, password: &str, app: i64) -> (String, i64) {
        self.open_with("Open", user, password, app)
    }

    /// Signs in with `method` (`Open` or `OpenImmutable`).
    pub fn open_with(&self, method: &str, user: &str, password: &str, app: i64) -> (String, i64) {
        let (status, body) = self.call(
            method,
            json!({"userName": user, "password": password, "applicationID": app, "clientVersion": "ferry-tests/1"}),
        );
        assert_eq!(status, 200, "{method} failed: {body}");
        (
            body["SessionID"].as_str().unwrap().to_string(),
            body["UserID"].as_i64().unwrap(),
        )
    }

    /// Whether a session is alive (GetCurrentUser answers 200); panics on answers other than
    /// 200 and 101.
    pub fn alive(&self, session: &str) -> bool {
        let (status, body) = self.call("GetCurrentUser", json!({"sessionID": session}));
        match status {
            200 => true,
            401 if body["ErrorCode"] == 101 => false,
            _ => panic!("unexpected GetCurrentUser answer {status}: {body}"),
        }
    }

    /// Whether a session ends within three seconds: what a change made by another process
    /// (the CLI, another node, SQL) promises on PostgreSQL, where this node's session cache
    /// learns of it from the database's notice, within milliseconds and at most its lifetime
    /// of 1 s (`ferry-store-sql/src/session_cache.rs`). On SQLite the first check answers.
    pub fn ends(&self, session: &str) -> bool {
        let start = std::time::Instant::now();
        while self.alive(session) {
            if start.elapsed() > std::time::Duration::from_secs(3) {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        true
    }

    /// The audit trail as exported JSON lines.
    pub fn audit(&self) -> Vec<Value> {
        self.ferry_ok(&["audit", "export"], None)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The files of the session's home folder (first 100), as `GetFiles` answers.
    pub fn home_files(&self, session: &str) -> Vec<Value> {
        let (_, home) = self.call("GetHomeFolder", json!({"sessionID": session}));
        let (status, files) = self.call(
            "GetFiles",
            json!({"sessionID": session, "folderID": home["FolderID"], "skip": 0, "take": 100}),
        );
        assert_eq!(status, 200, "{files}");
        files.as_array().unwrap().clone()
    }

    /// The SFTP port (SFTP must be on).
    pub fn sftp_port(&self) -> u16 {
        port_of(self.sftp.as_deref().expect("SFTP is on"))
    }

    /// The FTPS control port (FTPS must be on).
    pub fn ftps_port(&self) -> u16 {
        port_of(self.ftps.as_deref().expect("FTPS is on"))
    }

    /// The server's process ID.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server runs").id()
    }

    /// The server's resident memory, in KiB (Linux `/proc`).
    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc")
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Kills the server with SIGKILL (a crash) and waits.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data directory and database (after [`Server::kill`]
    /// or [`Server::terminate`]).
    pub fn restart(self) -> Server {
        let mut old = self;
        old.kill();
        let dir = std::mem::replace(&mut old.dir, tempfile::tempdir().unwrap());
        let url = old.database_url.clone();
        let extra = std::fs::read_to_string(dir.path().join("ferry.toml")).unwrap_or_default();
        let extra = extra.replace(TEST_CONFIG, "");
        Server::start_in(dir, url, &extra)
    }

    /// Sends SIGTERM and waits; returns the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("already stopped");
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        child.wait().unwrap()
    }

    /// The data directory.
    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The port of `127.0.0.1:PORT`.
fn port_of(addr: &str) -> u16 {
    addr.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {addr:?}"))
}
