//! Three `ferry serve` nodes on one throwaway PostgreSQL database and one s3s-fs bucket, behind
//! Debian's HAProxy (round robin, no stickiness, PROXY protocol v2 to the nodes), as
//! docs/cluster.md describes: a session opened on one node works on the others and `Close` on
//! one ends it everywhere; the lock-out counts failures across nodes; a client behind the
//! balancer uploads over HTTP and reads the file back over HTTP, SFTP and FTPS (each node with
//! its own passive port range behind the balancer), and the audit names that client, not the
//! balancer.

mod common;
#[path = "cluster/nodes.rs"]
mod nodes;

use std::process::Command;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server};
use ferry_testkit::free_port;
use nodes::{PASSIVE, haproxy, start_nodes, wait_for};
use serde_json::{Value, json};

#[test]
fn three_nodes_behind_haproxy_share_everything() {
    let (_bucket, nodes, passive) = start_nodes("");

    // The balancer: HTTP, SFTP and FTPS control round robin; each node's passive range to it.
    let (lb_http, lb_sftp, lb_ftps) = (free_port(), free_port(), free_port());
    let servers = |name: &str, port: &dyn Fn(&Server) -> u16| {
        nodes
            .iter()
            .enumerate()
            .map(|(i, n)| format!("  server {name}{i} 127.0.0.1:{} send-proxy-v2\n", port(n)))
            .collect::<String>()
    };
    let http_port = |n: &Server| n.base.rsplit(':').next().unwrap().parse().unwrap();
    let mut config = format!(
        "global\n  maxconn 500\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n\
         frontend http\n  bind 127.0.0.2:{lb_http}\n  default_backend http\n\
         backend http\n  balance roundrobin\n{}\
         frontend sftp\n  bind 127.0.0.2:{lb_sftp}\n  default_backend sftp\n\
         backend sftp\n  balance roundrobin\n{}\
         frontend ftps\n  bind 127.0.0.2:{lb_ftps}\n  default_backend ftps\n\
         backend ftps\n  balance roundrobin\n{}",
        servers("h", &http_port),
        servers("s", &|n: &Server| n.sftp_port()),
        servers("f", &|n: &Server| n.ftps_port()),
    );
    for (i, base) in passive.iter().enumerate() {
        // No port on the server line: the connection keeps the port the client chose.
        config.push_str(&format!(
            "frontend passive{i}\n  bind 127.0.0.2:{base}-{}\n  default_backend passive{i}\n\
             backend passive{i}\n  server p{i} 127.0.0.1 send-proxy-v2\n",
            base + PASSIVE - 1
        ));
    }
    let work = tempfile::tempdir().unwrap();
    let _lb = haproxy(&config, work.path());
    for port in [lb_http, lb_sftp, lb_ftps] {
        wait_for(port);
    }

    // A session opened on one node is used on the others; a folder made on a third.
    let (session, _) = nodes[0].open(ADMIN, ADMIN_PASSWORD, APP);
    for n in &nodes {
        let (status, me) = n.call("GetCurrentUser", json!({"sessionID": session}));
        assert_eq!(status, 200, "{me}");
    }
    let (status, folder) = nodes[2].call(
        "CreateFolder",
        json!({"sessionID": session, "parentFolderID": 3, "name": "Cluster"}),
    );
    assert_eq!(status, 200, "{folder}");
    let folder = folder["FolderID"].as_i64().unwrap();

    // A client behind the balancer, over every protocol.
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/cluster/client.py"
        ))
        .args([lb_http, lb_sftp, lb_ftps].map(|p| p.to_string()))
        .args([session.as_str(), &folder.to_string(), ADMIN, ADMIN_PASSWORD])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    let result: Value = serde_json::from_str(printed.trim())
        .unwrap_or_else(|_| panic!("{printed}{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(result["statuses"], json!([200, 200, 200, 200, 200, 200]));
    let shas = &result["shas"];
    for via in ["http", "sftp", "ftps"] {
        assert_eq!(shas[via], shas["sent"], "read back over {via}");
    }
    // Every node can read the file, and the audit names the client, never the balancer.
    for n in &nodes {
        let (status, listed) = n.call(
            "GetFiles",
            json!({"sessionID": session, "folderID": folder}),
        );
        assert_eq!(status, 200);
        assert_eq!(listed[0]["Name"], "spread.bin", "{listed}");
    }
    let audit = nodes[1].audit();
    let via_balancer: Vec<&Value> = audit
        .iter()
        .filter(|e| {
            ["FileUploaded", "FileDownloaded"].contains(&e["operation"].as_str().unwrap_or(""))
        })
        .collect();
    assert!(via_balancer.len() >= 4, "{via_balancer:?}");
    assert!(
        via_balancer.iter().all(|e| e["client_ip"] == "127.0.0.3"),
        "{via_balancer:?}"
    );

    // The lock-out counts failures on every node together.
    for i in 0..5 {
        let (status, _) = nodes[i % 3].call(
            "Open",
            json!({"userName": ADMIN, "password": "wrong", "applicationID": APP}),
        );
        assert_eq!(status, 401);
    }
    let (status, locked) = nodes[2].call(
        "Open",
        json!({"userName": ADMIN, "password": ADMIN_PASSWORD, "applicationID": APP}),
    );
    assert_ne!(
        status, 200,
        "the sixth try, on another node, was not locked out: {locked}"
    );

    // Close on one node ends the session on all.
    let (status, _) = nodes[1].call("Close", json!({"sessionID": session}));
    assert_eq!(status, 204);
    for n in &nodes {
        assert!(n.ends(&session));
    }
}

#[test]
fn work_that_must_run_once_runs_on_one_node() {
    // Every node sweeps every second and purges deleted files at once, if it holds the lease.
    let (_bucket, nodes, _) =
        start_nodes("[sessions]\nsweep_interval_seconds = 1\n[files]\npurge_after_days = 0\n");
    let (session, _) = nodes[0].open(ADMIN, ADMIN_PASSWORD, APP);
    let (_, folder) = nodes[0].call(
        "CreateFolder",
        json!({"sessionID": session, "parentFolderID": 3, "name": "Purged"}),
    );
    let folder = folder["FolderID"].as_i64().unwrap();
    let mut ids = Vec::new();
    for i in 0..9 {
        let (status, file) =
            nodes[i % 3].put_file(&session, folder, &format!("f{i}.txt"), "", b"x");
        assert_eq!(status, 200, "{file}");
        ids.push(file["FileID"].clone());
    }
    // Spread over a few seconds, so that every node's sweep would find some of them.
    for (i, id) in ids.iter().enumerate() {
        let (status, _) =
            nodes[i % 3].call("DeleteFile", json!({"sessionID": session, "fileID": id}));
        assert_eq!(status, 204);
        std::thread::sleep(std::time::Duration::from_millis(350));
    }
    let purged = || {
        nodes[0]
            .audit()
            .into_iter()
            .filter(|e| e["operation"] == "FilePurged")
            .map(|e| e["file_id"].clone())
            .collect::<Vec<_>>()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while purged().len() < ids.len() {
        assert!(
            std::time::Instant::now() < deadline,
            "not purged: {:?}",
            purged()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // A few more sweeps on every node: still one purge per file.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let mut once = purged();
    once.sort_by_key(|v| v.as_i64());
    let mut want = ids.clone();
    want.sort_by_key(|v| v.as_i64());
    assert_eq!(once, want, "each file purged, and audited, exactly once");
    // And by one node: the lease holder (the others never ran the sweep).
    let sweepers = nodes
        .iter()
        .filter(|n| n.log().contains("content of deleted files purged"))
        .count();
    assert_eq!(sweepers, 1, "the purge ran on {sweepers} nodes");
}
