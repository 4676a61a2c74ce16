//! Issue 21's proof that group commit gave nothing up: 32 clients upload small files over HTTP,
//! SFTP and FTPS at once (`tests/crash/uploaders.py`: requests, paramiko, ftplib), the server
//! is killed with SIGKILL at a random moment, and restarted; 20 rounds. After each restart
//! every file a client saw acknowledged reads back with its SHA-256, every file there holds
//! exactly what was sent for it (nothing half-written is visible), and `ferry audit verify`
//! finds the chain intact.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::Server;
use ferry_testkit::{Backend, on_both_backends};

on_both_backends!(acknowledged_small_files_survive_sigkill_in_every_round);

const USER: &str = "uploader";
const PASSWORD: &str = "uploader-password-1";
const CLIENTS: usize = 32;

fn rounds() -> u64 {
    std::env::var("FERRY_CRASH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20)
}

fn driver() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/crash/uploaders.py")
}

fn acknowledged_small_files_survive_sigkill_in_every_round(backend: Backend) {
    let limits = "max_connections_per_ip = 200\nmax_connections_per_user = 200\n";
    let mut s = Server::start_with(
        backend,
        &format!(
            "[sftp]\nlisten = \"127.0.0.1:0\"\n{limits}\
             [ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"54000-54999\"\n{limits}"
        ),
    );
    s.add_user(USER, "member", PASSWORD);
    // A seed from the clock, printed, so that a failing run's kill times can be told.
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {seed}");
    let journal_dir = tempfile::tempdir().unwrap();
    for round in 0..rounds() {
        let journal = journal_dir.path().join(format!("round-{round}.json"));
        let mut uploaders = Command::new("python3")
            .arg(driver())
            .args(["upload", &s.base])
            .arg(s.sftp_port().to_string())
            .arg(s.ftps_port().to_string())
            .args([USER, PASSWORD, &round.to_string(), &CLIENTS.to_string()])
            .arg(&journal)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with requests and paramiko is required by the test suite");
        let mut out = BufReader::new(uploaders.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "round {round}: the clients did not start"
        );
        // Killed 0.2 to 2.2 s into the uploads (xorshift on the seed).
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(200 + seed % 2000));
        s.kill();
        let status = uploaders.wait().unwrap();
        line.clear();
        out.read_line(&mut line).unwrap();
        assert!(status.success(), "round {round}: the uploaders failed");
        println!("round {round}: {}", line.trim());

        s = s.restart();
        let verified = Command::new("python3")
            .arg(driver())
            .args(["verify", &s.base, USER, PASSWORD, &round.to_string()])
            .arg(&journal)
            .output()
            .unwrap();
        assert!(
            verified.status.success(),
            "round {round}: {}{}",
            String::from_utf8_lossy(&verified.stdout),
            String::from_utf8_lossy(&verified.stderr)
        );
        println!(
            "round {round} after the restart: {}",
            String::from_utf8_lossy(&verified.stdout).trim()
        );
        assert!(s.ferry_ok(&["audit", "verify"], None).contains("intact"));
    }
}
