//! A soak (issue 15): mixed clients (JSON API, tus through the upload tool, SFTP, FTPS) against
//! one server for a while, every file read back and checked by SHA-256, the server's memory and
//! descriptors sampled. CI runs a short one (40 clients, 30 s); `bench/soak.sh` a long one
//! (`FERRY_SOAK_CLIENTS`, `FERRY_SOAK_SECONDS`).

mod common;

use std::path::Path;
use std::process::Command;

use common::{APP, Server, run_ok};
use ferry_testkit::Backend;
use serde_json::{Value, json};

use common::TEST_KEY as KEY;
const USERS: usize = 8;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn mixed_clients_for_a_while_lose_nothing_and_leak_nothing() {
    let seconds = env_or("FERRY_SOAK_SECONDS", 30);
    let clients = env_or("FERRY_SOAK_CLIENTS", 40);
    common::allow_open_files(8192);
    let s = Server::start_with(
        Backend::Sqlite,
        &format!(
            "[tools]\nkey = \"{KEY}\"\nversion_1 = false\n\
             [sftp]\nlisten = \"127.0.0.1:0\"\nmax_connections_per_ip = 1000\n\
             [ftps]\nlisten = \"127.0.0.1:0\"\nmax_connections_per_ip = 1000\n\
             passive_ports = \"30000-39999\"\nmax_passive_ports_per_user = 1000\n"
        ),
    );
    let mut users = Vec::new();
    let mut links = serde_json::Map::new();
    for u in 0..USERS {
        let (name, password) = (format!("soak{u}"), format!("soak{u}-password"));
        s.add_user(&name, "member", &password);
        let (session, _) = s.open_with("OpenImmutable", &name, &password, APP);
        let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
        let link = common::upload_link(&s, &session, home["FolderID"].as_i64().unwrap());
        links.insert(name.clone(), json!(format!("{}{link}", s.base)));
        users.push(json!([name, password]));
    }
    let dir = tempfile::tempdir().unwrap();
    let setup = dir.path().join("setup.json");
    std::fs::write(
        &setup,
        json!({"base": s.base, "app": APP, "sftp_port": s.sftp_port(), "ftps_port": s.ftps_port(),
               "pid": s.pid(), "users": users, "links": links})
        .to_string(),
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/soak/soak.py");
    let soak = |seconds: u64| -> Value {
        let out = run_ok(Command::new("python3").arg(&script).args([
            setup.to_str().unwrap(),
            &seconds.to_string(),
            &clients.to_string(),
        ]));
        serde_json::from_str(out.trim()).unwrap()
    };
    // A short warm-up first: the database pools open their connections on demand, and the
    // allocator settles; what the long run leaves must match what the warm-up left.
    let warm = soak(5);
    assert_eq!(warm["errors"], 0, "{warm:#}");
    let report = soak(seconds);
    println!("soak report: {report}");
    if report["errors"] != 0 {
        let log = s.log();
        if let Ok(keep) = std::env::var("FERRY_SOAK_KEEP_LOG") {
            std::fs::write(keep, &log).unwrap();
        }
        let worrying: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            // A write that waited over a second for the lock is expected under this load.
            .filter(|l| !l.contains("slow statement"))
            .take(40)
            .collect();
        // The server's warnings first: a long report may be cut short where it is shown.
        panic!(
            "server warnings:\n{}\n{}",
            worrying.join("\n"),
            serde_json::to_string(&report["first_errors"]).unwrap_or_default()
        );
    }
    let files = report["files"].as_u64().unwrap();
    assert!(files > clients, "too little was done: {report:#}");
    assert_eq!(report["verified"], files, "every file read back by SHA-256");
    for kind in ["api", "tus", "sftp", "ftps"] {
        assert!(
            report["operations"][kind].as_u64().unwrap_or(0) > 0,
            "no {kind} operation: {report:#}"
        );
    }
    // Flat: once every client is gone, the descriptors are those the warm-up left; the heap
    // (RssAnon) stops growing once the run is under way: what the second half adds is within
    // what the design bounds (the database pools' page caches filling as the database grows,
    // the last hour's completed tus uploads, the allocator's kept arenas). The mapped database
    // (RssFile) is not counted: it is page cache the kernel can take back.
    let samples = |r: &Value| r["samples"].as_array().unwrap().clone();
    let at = |r: &Value, i: usize, key: &str| samples(r)[i][key].as_i64().unwrap();
    let last = |r: &Value, key: &str| at(r, samples(r).len() - 1, key);
    // The database's own descriptors (the file and its log) are two per pooled connection,
    // opened on demand: a long run may reach a bound the warm-up did not, so they are held to
    // the pools' bounds (sqlx's 16, the readers' 8 idle, the audit appender, the quiet
    // changes' writer and the session cache one each), and the rest to what the warm-up left.
    const DATABASE_DESCRIPTORS_BOUND: i64 = 2 * (16 + 8 + 1 + 1 + 1);
    let others = |r: &Value| last(r, "fds") - last(r, "db_fds");
    assert!(
        others(&report) <= others(&warm) + 4,
        "descriptors leaked: {} after the warm-up, {} after the run (database files aside): {}",
        others(&warm),
        others(&report),
        report["descriptors_at_end"]
    );
    assert!(
        last(&report, "db_fds") <= DATABASE_DESCRIPTORS_BOUND,
        "database connections past the pools' bounds: {}",
        report["descriptors_at_end"]
    );
    let half = samples(&report).len() / 2;
    assert!(
        last(&report, "anon_kib") <= at(&report, half, "anon_kib") + 16 * 1024,
        "the heap kept growing: {} KiB at half-time, {} KiB after the run",
        at(&report, half, "anon_kib"),
        last(&report, "anon_kib")
    );
}
