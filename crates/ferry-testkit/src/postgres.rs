//! Throwaway PostgreSQL clusters for tests.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// A PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 only.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bindir: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

impl PgCluster {
    /// Creates and starts a new cluster. Panics with the tool's output if anything fails.
    pub fn start() -> PgCluster {
        let bindir = find_bindir();
        let as_postgres_user = unsafe { libc::geteuid() } == 0;
        let dir = tempfile::Builder::new()
            .prefix("ferry-pg-")
            .tempdir()
            .expect("cannot make a temporary directory");
        if as_postgres_user {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path()));
        }
        let cluster = PgCluster {
            port: crate::free_port(),
            dir,
            bindir,
            as_postgres_user,
        };
        let data = cluster.data_dir();
        run(&mut cluster.tool(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        ));
        cluster.start_server();
        cluster
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn tool(&self, name: &str, args: &[&str]) -> Command {
        let program = self.bindir.join(name);
        let mut cmd = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        cmd.args(args).current_dir(self.dir.path());
        cmd
    }

    /// Starts (or restarts) the server process.
    pub fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        run(&mut self.tool(
            "pg_ctl",
            &[
                "-D",
                self.data_dir().to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        ));
    }

    /// Stops the server process (fast shutdown), keeping the data.
    pub fn stop_server(&self) {
        run(&mut self.tool(
            "pg_ctl",
            &[
                "-D",
                self.data_dir().to_str().unwrap(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        ));
    }

    /// The URL of database `db` as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a new empty database and returns its URL.
    pub fn create_database(&self) -> String {
        create_database_at(&self.url("postgres"))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .tool(
                "pg_ctl",
                &[
                    "-D",
                    self.data_dir().to_str().unwrap(),
                    "-m",
                    "immediate",
                    "stop",
                ],
            )
            .output();
    }
}

fn find_bindir() -> PathBuf {
    if let Ok(dir) = std::env::var("FERRY_PG_BINDIR") {
        return PathBuf::from(dir);
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    candidates.sort();
    candidates
        .into_iter()
        .rev()
        .find(|p| p.join("initdb").exists())
        .expect("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (install postgresql, or set FERRY_PG_BINDIR or FERRY_TEST_DATABASE_URL)")
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Creates a uniquely named database on the server at `admin_url` with `psql`.
fn create_database_at(admin_url: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "ferry_test_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    run(Command::new("psql")
        .arg(admin_url)
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c"])
        .arg(format!("CREATE DATABASE {name}")));
    match admin_url.rsplit_once('/') {
        Some((server, _db)) => format!("{server}/{name}"),
        None => panic!("FERRY_TEST_DATABASE_URL must end with /DATABASE"),
    }
}

/// The process-wide cluster, started on first use and stopped at process exit.
static SHARED: OnceLock<Mutex<Option<PgCluster>>> = OnceLock::new();

extern "C" fn stop_shared_cluster() {
    if let Some(m) = SHARED.get()
        && let Ok(mut guard) = m.lock()
    {
        drop(guard.take());
    }
}

/// A fresh database on `FERRY_TEST_DATABASE_URL`'s server, or on this process's cluster.
pub(crate) fn fresh_database_url() -> String {
    if let Ok(url) = std::env::var("FERRY_TEST_DATABASE_URL") {
        return create_database_at(&url);
    }
    let shared = SHARED.get_or_init(|| {
        let cluster = PgCluster::start();
        unsafe { libc::atexit(stop_shared_cluster) };
        Mutex::new(Some(cluster))
    });
    let guard = shared.lock().unwrap_or_else(|p| p.into_inner());
    guard
        .as_ref()
        .expect("the shared PostgreSQL cluster was already stopped")
        .create_database()
}
