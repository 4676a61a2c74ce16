//! A browser-tool upload (tus) on three nodes behind HAProxy (mode http, round robin, no
//! stickiness, PROXY protocol v2 to the nodes), with content in one s3s-fs bucket: the page's
//! grant, opened on one node, works on every node; the node that took the first PATCH is killed
//! with SIGKILL and the next request, on another node, finds the acknowledged offset; a PATCH
//! cut off by the death of its node mid-body leaves that offset standing, and the resumed
//! upload completes with the right SHA-256 once the dead node's hold runs out.

mod common;
#[path = "cluster/nodes.rs"]
mod nodes;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, sha256_hex};
use ferry_testkit::free_port;
use nodes::{haproxy, start_nodes, wait_for};
use serde_json::{Value, json};

const MIB: i64 = 1024 * 1024;

fn http_port(n: &Server) -> u16 {
    n.base.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn a_tus_upload_outlives_the_nodes_that_served_it() {
    let (_bucket, mut nodes, _) = start_nodes(common::TOOLS);
    let lb = free_port();
    let servers: String = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!(
                "  server n{i} 127.0.0.1:{} send-proxy-v2 check inter 300 fall 1\n",
                http_port(n)
            )
        })
        .collect();
    let config = format!(
        "global\n  maxconn 200\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n  retries 3\n  option redispatch\n\
         frontend http\n  bind 127.0.0.2:{lb}\n  default_backend nodes\n\
         backend nodes\n  balance roundrobin\n  http-response set-header X-Ferry-Node %s\n{servers}"
    );
    let work = tempfile::tempdir().unwrap();
    let _lb = haproxy(&config, work.path());
    wait_for(lb);

    let (session, _) = nodes[0].open(ADMIN, ADMIN_PASSWORD, APP);
    let (status, folder) = nodes[0].call(
        "CreateFolder",
        json!({"sessionID": session, "parentFolderID": 3, "name": "Drop"}),
    );
    assert_eq!(status, 200, "{folder}");
    let folder = folder["FolderID"].as_i64().unwrap();
    let link = nodes[0].ferry_ok(
        &[
            "token",
            "issue",
            "--folder",
            &folder.to_string(),
            "--allowed-ip",
            "127.0.0.3",
            "--session",
            &session,
            "--link",
            &nodes[0].base,
        ],
        None,
    );
    let link = link.trim().trim_start_matches(&nodes[0].base).to_string();

    let mut client = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/cluster/tus_kill.py"
        ))
        .arg(lb.to_string())
        .arg(&link)
        .args(nodes.iter().map(|n| http_port(n).to_string()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_client = client.stdin.take().unwrap();
    let mut from_client = BufReader::new(client.stdout.take().unwrap());
    let mut next = || -> Value {
        let mut line = String::new();
        from_client.read_line(&mut line).unwrap();
        serde_json::from_str(line.trim()).unwrap_or_else(|_| panic!("client said {line:?}"))
    };

    // The first PATCH's node dies between two PATCHes.
    let said = next();
    let served: usize = said["served_by"].as_str().unwrap()[1..].parse().unwrap();
    nodes[served].kill();
    // The next PATCH goes straight at another node, which dies half-way through it.
    let cut = (served + 1) % 3;
    writeln!(to_client, "{}", http_port(&nodes[cut])).unwrap();
    assert_eq!(next()["cut"], true);
    nodes[cut].kill();
    writeln!(to_client).unwrap();
    let report = next();
    assert!(client.wait().unwrap().success(), "{report}");
    println!("{report}");

    assert_eq!(report["first_offset"], 8 * MIB);
    assert_eq!(
        report["after_kill"],
        8 * MIB,
        "the acknowledged offset, from another node"
    );
    assert_eq!(
        report["after_cut"],
        8 * MIB,
        "bytes of a PATCH whose node died were never acknowledged: {report}"
    );
    let survivor = 3 - served - cut;
    assert_eq!(report["served"][1], format!("n{survivor}"));
    assert_eq!(report["recorded_sha256"], report["sent_sha256"]);
    // The file reads back whole from the node that lived, through the same Service.
    let (status, _, body) = nodes[survivor].get_bytes(
        &format!("/api/v1/files/{}/content", report["file_id"]),
        &[("X-Session-ID", &session)],
    );
    assert_eq!(status, 200);
    assert_eq!(body.len() as i64, report["length"].as_i64().unwrap());
    assert_eq!(sha256_hex(&body), report["sent_sha256"]);
    // Uploaded once, with the link's address, whatever the nodes went through.
    let uploads: Vec<Value> = nodes[survivor]
        .audit()
        .into_iter()
        .filter(|e| e["operation"] == "FileUploaded")
        .collect();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0]["client_ip"], "127.0.0.3");
}
