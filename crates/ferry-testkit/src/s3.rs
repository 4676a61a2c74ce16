//! Throwaway S3-compatible servers on loopback, one per test: `moto` in server mode (PyPI
//! `moto[server]`, in memory) and `s3s-fs` (crates.io, a directory served as S3, installed by
//! scripts/test under `target/test-peers/bin`). Each has its bucket made before the test gets
//! it and is killed on drop. A missing server is a test failure, never a skip.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// The bucket every test server has.
pub const BUCKET: &str = "ferry-test";
/// The access key the servers take (moto takes any; s3s-fs is started with these).
pub const ACCESS_KEY: &str = "ferrytestkey";
/// Its secret.
pub const SECRET_KEY: &str = "ferry-test-secret-key";

/// Which S3-compatible server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Kind {
    /// moto's server mode.
    Moto,
    /// s3s-fs.
    S3sFs,
}

/// A running S3-compatible server with [`BUCKET`] made.
pub struct S3Server {
    child: Child,
    /// Which server it is.
    pub kind: S3Kind,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// s3s-fs's root directory (the bucket is a directory in it).
    dir: tempfile::TempDir,
}

impl S3Server {
    /// Starts a server of `kind`.
    pub fn start(kind: S3Kind) -> S3Server {
        let dir = tempfile::Builder::new()
            .prefix("ferry-s3-")
            .tempdir()
            .unwrap();
        if kind == S3Kind::S3sFs {
            std::fs::create_dir(dir.path().join(BUCKET)).unwrap();
        }
        // free_port's port is free only until something else takes it (another process may),
        // and then the server exits at once: it is started again on another port, a few
        // times, before that exit is taken to mean it is missing.
        let mut attempt = 1;
        let (child, port) = loop {
            let port = free_port();
            let mut child = spawn(kind, port, dir.path());
            let started = wait_until_listening(&mut child, kind, port)
                .and_then(|()| ready(&mut child, kind, port));
            match started {
                Ok(()) => break (child, port),
                Err(_) if attempt < 5 => {
                    let _ = child.kill();
                    let _ = child.wait();
                    attempt += 1;
                }
                Err(status) => {
                    let hint = match kind {
                        S3Kind::Moto => "python3 -m pip install 'moto[server]'",
                        S3Kind::S3sFs => "cargo install s3s-fs --features binary",
                    };
                    panic!("{kind:?} exited at start ({status}); is it installed? ({hint})")
                }
            }
        };
        S3Server {
            child,
            kind,
            endpoint: format!("http://127.0.0.1:{port}"),
            dir,
        }
    }

    /// A storage URL for Ferry naming the bucket under `prefix`.
    pub fn storage_url(&self, prefix: &str) -> String {
        format!(
            "s3://{BUCKET}/{prefix}?endpoint={}&region=us-east-1",
            self.endpoint
        )
    }

    /// A storage URL with virtual-hosted addressing (s3s-fs only): the bucket named in the
    /// host, `http://ferry-test.s3.test:PORT`. No resolver knows that name, so a client reaches
    /// it through an HTTP proxy that forwards to [`S3Server::endpoint`].
    pub fn virtual_hosted_url(&self, prefix: &str) -> String {
        assert_eq!(self.kind, S3Kind::S3sFs, "s3s-fs is told its domain");
        let port: u16 = self.endpoint.rsplit(':').next().unwrap().parse().unwrap();
        format!(
            "s3://{BUCKET}/{prefix}?endpoint=http://{BUCKET}.{}&addressing=virtual&region=us-east-1",
            virtual_domain(port)
        )
    }

    /// Stops the server (an endpoint that goes away); [`S3Server::restart`] brings it back on
    /// the same port with the same contents (s3s-fs only: moto's are in memory).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a stopped s3s-fs again, on the same port and directory.
    pub fn restart(&mut self) {
        assert_eq!(self.kind, S3Kind::S3sFs, "only s3s-fs keeps its objects");
        let port: u16 = self.endpoint.rsplit(':').next().unwrap().parse().unwrap();
        self.child = spawn(self.kind, port, self.dir.path());
        if let Err(status) = wait_until_listening(&mut self.child, self.kind, port) {
            panic!("s3s-fs exited at restart on port {port} ({status})");
        }
    }

    /// s3s-fs's directory for [`BUCKET`] (objects are files under it, named by their keys).
    pub fn bucket_dir(&self) -> PathBuf {
        assert_eq!(
            self.kind,
            S3Kind::S3sFs,
            "only s3s-fs keeps objects as files"
        );
        self.dir.path().join(BUCKET)
    }

    /// The environment a client of this server needs (credentials and region).
    pub fn env(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a server of `kind` on `port` (s3s-fs serving `dir`).
fn spawn(kind: S3Kind, port: u16, dir: &Path) -> Child {
    match kind {
        S3Kind::Moto => Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 is required by the test suite"),
        S3Kind::S3sFs => {
            let bin = s3s_fs_binary();
            Command::new(&bin)
                .args(["--host", "127.0.0.1", "--port"])
                .arg(port.to_string())
                .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
                .arg("--domain")
                .arg(virtual_domain(port))
                .arg(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "s3s-fs is required by the test suite ({}: {e}); \
                         run scripts/test, which installs it",
                        bin.display()
                    )
                })
        }
    }
}

/// Waits up to 30 s until `port` accepts; the exit status if the server exits first.
fn wait_until_listening(child: &mut Child, kind: S3Kind, port: u16) -> Result<(), ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(status);
        }
        assert!(Instant::now() < deadline, "{kind:?} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Whether what listens on `port` is the server just started, and ready: something else may
/// have taken the port first (the server then exits at once, and a connection still succeeds,
/// to the other process). For moto, also makes the bucket: moto checks no signatures by
/// default, so a bare PUT does it. A CI run once met a moto that answered nothing.
fn ready(child: &mut Child, kind: S3Kind, port: u16) -> Result<(), ExitStatus> {
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        if let Ok(Some(status)) = child.try_wait() {
            return Err(status);
        }
        if kind == S3Kind::S3sFs {
            return Ok(());
        }
        if raw_request(port, "PUT", &format!("/{BUCKET}")).starts_with("HTTP/1.1 200") {
            return Ok(());
        }
    }
    let _ = child.kill();
    Err(child.wait().expect("the server's exit"))
}

/// `FERRY_S3S_FS`, or where scripts/test installs s3s-fs.
fn s3s_fs_binary() -> PathBuf {
    std::env::var_os("FERRY_S3S_FS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-peers/bin/s3s-fs")
        })
}

/// One unsigned HTTP/1.1 request; returns the status line.
fn raw_request(port: u16, method: &str, path: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_string()
}

/// The domain s3s-fs takes virtual-hosted requests for (`<bucket>.s3.test:PORT`).
fn virtual_domain(port: u16) -> String {
    format!("s3.test:{port}")
}
