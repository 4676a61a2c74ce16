//! Faults of a cluster (docs/cluster.md): three nodes on one PostgreSQL database and one s3s-fs
//! bucket. Several nodes committing versions of one name at once number them 1..n and lose
//! none; a node killed with SIGKILL during 20 concurrent uploads spread over the three loses
//! nothing it acknowledged (every acknowledged file reads back with its SHA-256 from the other
//! nodes) and leaves nothing half-visible (every listed file reads back whole). A user's
//! connections count toward `max_connections_per_user` on every node together, and a dead
//! node's stop counting once its renewals run out. Nodes whose clocks are 30 s apart
//! (libfaketime) share sessions, the lock-out and a purge run once per file.

mod common;
#[path = "cluster/nodes.rs"]
mod nodes;

use std::sync::Mutex;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, sha256_hex};
use nodes::start_nodes;
use serde_json::{Value, json};

const MIB: usize = 1024 * 1024;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A folder under Shared made through `node`.
fn folder(node: &Server, session: &str, name: &str) -> i64 {
    let (status, f) = node.call(
        "CreateFolder",
        json!({"sessionID": session, "parentFolderID": 3, "name": name}),
    );
    assert_eq!(status, 200, "{f}");
    f["FolderID"].as_i64().unwrap()
}

/// An upload that may fail (its node may be killed under it): the answer when it was
/// acknowledged.
fn try_put(node_base: &str, session: &str, folder: i64, name: &str, body: &[u8]) -> Option<Value> {
    let url = format!("{node_base}/api/v1/folders/{folder}/files/{name}");
    let mut answer = ureq::put(&url)
        .header("x-session-id", session)
        .send(body)
        .ok()?;
    serde_json::from_str(&answer.body_mut().read_to_string().ok()?).ok()
}

fn content(node: &Server, session: &str, file: &Value) -> Vec<u8> {
    let (status, _, body) = node.get_bytes(
        &format!("/api/v1/files/{}/content", file["FileID"]),
        &[("x-session-id", session)],
    );
    assert_eq!(status, 200, "{file}");
    body
}

#[test]
fn nodes_committing_versions_of_one_name_at_once_lose_none() {
    let (_bucket, nodes, _) = start_nodes("");
    let (session, _) = nodes[0].open(ADMIN, ADMIN_PASSWORD, APP);
    let folder = folder(&nodes[0], &session, "Versions");
    let bodies: Vec<Vec<u8>> = (0..15).map(|i| pattern(100_000 + i, i as u8)).collect();
    std::thread::scope(|scope| {
        for (i, body) in bodies.iter().enumerate() {
            let (node, session) = (&nodes[i % 3], &session);
            scope.spawn(move || {
                let (status, answer) = node.put_file(session, folder, "same.bin", "", body);
                assert_eq!(status, 200, "{answer}");
            });
        }
    });
    let (_, file) = nodes[1].call(
        "GetFileByName",
        json!({"sessionID": session, "folderID": folder, "name": "same.bin"}),
    );
    let (_, versions) = nodes[2].call(
        "GetFileVersions",
        json!({"sessionID": session, "fileID": file["FileID"]}),
    );
    let versions = versions.as_array().unwrap();
    let numbers: Vec<i64> = versions
        .iter()
        .map(|v| v["Version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=15).collect::<Vec<_>>());
    let mut stored: Vec<&str> = versions
        .iter()
        .map(|v| v["SHA256"].as_str().unwrap())
        .collect();
    let mut sent: Vec<String> = bodies.iter().map(|b| sha256_hex(b)).collect();
    stored.sort();
    sent.sort();
    assert_eq!(stored, sent, "no version was lost");
}

#[test]
fn a_node_killed_during_uploads_loses_nothing_it_acknowledged() {
    let (_bucket, mut nodes, _) = start_nodes("");
    let (session, _) = nodes[0].open(ADMIN, ADMIN_PASSWORD, APP);
    let folder = folder(&nodes[0], &session, "Crash");
    let acknowledged: Mutex<Vec<(Value, String)>> = Mutex::new(Vec::new());
    let victim = nodes[1].pid();
    std::thread::scope(|scope| {
        for i in 0..20usize {
            let (base, session, acknowledged) =
                (nodes[i % 3].base.clone(), &session, &acknowledged);
            scope.spawn(move || {
                // Two 5 MiB parts each (the nodes' part size): multipart uploads in flight when
                // the node dies.
                let body = pattern(6 * MIB + i, i as u8);
                if let Some(file) = try_put(&base, session, folder, &format!("f{i}.bin"), &body) {
                    assert_eq!(
                        file["SHA256"],
                        sha256_hex(&body),
                        "acknowledged with another digest"
                    );
                    acknowledged.lock().unwrap().push((file, sha256_hex(&body)));
                }
            });
        }
        scope.spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            // SAFETY: a plain kill(2) of the node's own process id.
            unsafe { libc::kill(victim as i32, libc::SIGKILL) };
        });
    });
    nodes[1].kill();
    let acknowledged = acknowledged.into_inner().unwrap();
    // The uploads to the two nodes that lived must all have been acknowledged.
    assert!(
        acknowledged.len() >= 13,
        "only {} acknowledged",
        acknowledged.len()
    );
    for (file, sha) in &acknowledged {
        for n in [&nodes[0], &nodes[2]] {
            assert_eq!(sha256_hex(&content(n, &session, file)), *sha, "{file}");
        }
    }
    // Nothing half-visible: every file listed reads back whole, with its recorded digest.
    let (_, listed) = nodes[2].call(
        "GetFiles",
        json!({"sessionID": session, "folderID": folder, "take": 100}),
    );
    let listed = listed.as_array().unwrap();
    assert!(listed.len() >= acknowledged.len());
    for file in listed {
        let body = content(&nodes[0], &session, file);
        assert_eq!(sha256_hex(&body), file["SHA256"], "{file}");
        assert_eq!(body.len() as i64, file["Size"].as_i64().unwrap());
    }
}

/// `max_connections_per_user` counts a user's connections on every node together, gives a
/// place back when a connection ends, and when a node dies holding one, gives it back once the
/// dead node's renewals run out.
#[test]
fn connections_per_user_are_counted_across_nodes() {
    use std::io::{BufRead, BufReader, Write};
    let (_bucket, mut nodes, _) = start_nodes("max_connections_per_user = 2\n");
    nodes[0].add_user("alice", "member", "alice-password");
    let mut client = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/cluster/connections.py"
        ))
        .args(nodes.iter().map(|n| n.ftps_port().to_string()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_client = client.stdin.take().unwrap();
    let mut from_client = BufReader::new(client.stdout.take().unwrap());
    let mut line = String::new();
    from_client.read_line(&mut line).unwrap();
    assert!(line.contains("holding"), "{line}");
    nodes[0].kill();
    writeln!(to_client).unwrap();
    line.clear();
    from_client.read_line(&mut line).unwrap();
    assert!(client.wait().unwrap().success(), "{line}");
    let report: Value = serde_json::from_str(line.trim()).unwrap();
    println!("{report}");
    assert_eq!(report["third_on_another_node_refused"], true, "{report}");
    assert_eq!(report["admitted_after_a_quit"], true, "{report}");
    assert_eq!(
        report["refused_while_the_dead_node_counts"], true,
        "{report}"
    );
    assert!(report["admitted_after_seconds"].is_number(), "{report}");
}

/// The time of day a node's HTTP answers carry (`Date: Tue, 01 Dec 2026 02:39:14 GMT`), in
/// seconds.
fn node_time(node: &Server) -> i64 {
    let (_, headers, _) = node.get_bytes("/healthz", &[]);
    let date = headers
        .iter()
        .find(|(k, _)| k == "date")
        .map(|(_, v)| v.clone())
        .expect("a Date header");
    let clock = date.split_whitespace().nth(4).expect("a time of day");
    clock
        .split(':')
        .map(|n| n.parse::<i64>().unwrap())
        .fold(0, |acc, n| acc * 60 + n)
}

/// Nodes whose clocks are 30 s apart (libfaketime) agree: a session opened on one is used and
/// closed on the others, failures count toward one lock-out, and the purge, which runs under a
/// lease, still runs once per file.
#[test]
fn nodes_whose_clocks_are_30_seconds_apart_agree() {
    let (_bucket, nodes, _) = nodes::start_skewed_nodes(
        "[sessions]\nsweep_interval_seconds = 1\n[files]\npurge_after_days = 0\n",
        &["-15s", "", "+15s"],
    );
    let apart = (node_time(&nodes[2]) - node_time(&nodes[0])).rem_euclid(86_400);
    assert!((27..=33).contains(&apart), "the clocks are {apart} s apart");

    let (session, _) = nodes[2].open(ADMIN, ADMIN_PASSWORD, APP);
    for n in &nodes {
        assert!(
            n.alive(&session),
            "a session from the node ahead, on another"
        );
    }
    let folder = folder(&nodes[0], &session, "Skewed");
    let mut ids = Vec::new();
    for i in 0..6 {
        let body = pattern(1000 + i, i as u8);
        let file = try_put(
            &nodes[i % 3].base,
            &session,
            folder,
            &format!("s{i}"),
            &body,
        )
        .expect("an upload");
        ids.push(file["FileID"].clone());
    }
    for (i, id) in ids.iter().enumerate() {
        let (status, _) =
            nodes[i % 3].call("DeleteFile", json!({"sessionID": session, "fileID": id}));
        assert_eq!(status, 204);
    }
    let purged = || {
        nodes[1]
            .audit()
            .into_iter()
            .filter(|e| e["operation"] == "FilePurged")
            .map(|e| e["file_id"].clone())
            .collect::<Vec<_>>()
    };
    // With `purge_after_days = 0`, a file deleted through the node 30 s ahead of the purging
    // node waits those 30 s: deletion times are the deleting node's clock.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while purged().len() < ids.len() {
        assert!(std::time::Instant::now() < deadline, "{:?}", purged());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        purged().len(),
        ids.len(),
        "each file purged once: {:?}",
        purged()
    );

    // Failures on the node behind and the node ahead count toward one lock-out.
    for i in 0..5 {
        let (status, _) = nodes[[0, 2][i % 2]].call(
            "Open",
            json!({"userName": ADMIN, "password": "wrong", "applicationID": APP}),
        );
        assert_eq!(status, 401);
    }
    let (status, _) = nodes[1].call(
        "Open",
        json!({"userName": ADMIN, "password": ADMIN_PASSWORD, "applicationID": APP}),
    );
    assert_ne!(
        status, 200,
        "the lock-out did not count across skewed clocks"
    );

    let (status, _) = nodes[0].call("Close", json!({"sessionID": session}));
    assert_eq!(status, 204);
    for n in &nodes {
        assert!(n.ends(&session));
    }
}
