//! What the cluster tests share: three nodes on one fresh PostgreSQL database and one s3s-fs
//! bucket, and HAProxy in front of them.

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use ferry_testkit::s3::{ACCESS_KEY, SECRET_KEY};
use ferry_testkit::{Backend, S3Kind, S3Server};

use crate::common::{APP, Server};

/// Ports in a passive range per node.
pub const PASSIVE: u16 = 10;

/// HAProxy, killed on drop.
pub struct Haproxy(Child);

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `n` consecutive ports free on both 127.0.0.1 and 127.0.0.2.
pub fn free_range(n: u16) -> u16 {
    for attempt in 0..200u32 {
        let base = 50_000 + ((std::process::id() * 7 + attempt * 131) % 9_000) as u16;
        let free = (base..base + n).all(|p| {
            TcpListener::bind(("127.0.0.1", p)).is_ok()
                && TcpListener::bind(("127.0.0.2", p)).is_ok()
        });
        if free {
            return base;
        }
    }
    panic!("no free range of {n} ports");
}

pub fn haproxy(config: &str, dir: &std::path::Path) -> Haproxy {
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, config).unwrap();
    let child = Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("haproxy is required by the test suite (Debian: apt-get install haproxy)");
    Haproxy(child)
}

/// Waits until HAProxy listens on `port` of 127.0.0.2 (the balancer's address in the tests).
pub fn wait_for(port: u16) {
    wait_for_on("127.0.0.2", port);
}

/// Waits until something listens on `host:port`.
pub fn wait_for_on(host: &str, port: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect((host, port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "haproxy did not listen on {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Three nodes on one fresh PostgreSQL database and one s3s-fs bucket; `more` is appended to
/// each node's configuration. Returns the bucket, the nodes and each node's passive range.
pub fn start_nodes(more: &str) -> (S3Server, Vec<Server>, Vec<u16>) {
    start_skewed_nodes(more, &[])
}

/// libfaketime, which moves a process's wall clock (Debian: `libfaketime`).
pub const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// [`start_nodes`], node `i`'s wall clock moved by `skews[i]` (libfaketime's `FAKETIME`, such
/// as `"+30s"`; an empty one or none leaves it). Monotonic time stays real.
pub fn start_skewed_nodes(more: &str, skews: &[&str]) -> (S3Server, Vec<Server>, Vec<u16>) {
    let bucket = S3Server::start(S3Kind::S3sFs);
    let database_url = Backend::Postgres.fresh_database_url(std::path::Path::new("/tmp"));
    let mut nodes: Vec<Server> = Vec::new();
    let mut passive = Vec::new();
    for i in 0..3 {
        let base = free_range(PASSIVE);
        passive.push(base);
        let extra = format!(
            "trusted_proxies = [\"127.0.0.1\"]\n\
             [storage]\nurl = \"{}&part_size_mib=5\"\naccess_key_id = \"{ACCESS_KEY}\"\nsecret_access_key = \"{SECRET_KEY}\"\n\
             [lockout]\naccount_threshold = 5\n\
             [sftp]\nlisten = \"127.0.0.1:0\"\n\
             [ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"{base}-{}\"\npassive_address = \"127.0.0.2\"\n{more}",
            bucket.storage_url("cluster"),
            base + PASSIVE - 1
        );
        let dir = tempfile::Builder::new()
            .prefix(&format!("ferry-node{i}-"))
            .tempdir()
            .unwrap();
        let env: Vec<(&str, &str)> = match skews.get(i) {
            Some(skew) if !skew.is_empty() => {
                assert!(
                    std::path::Path::new(FAKETIME).exists(),
                    "libfaketime is required by the test suite (Debian: apt-get install libfaketime)"
                );
                vec![
                    ("LD_PRELOAD", FAKETIME),
                    ("FAKETIME", *skew),
                    ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
                ]
            }
            _ => Vec::new(),
        };
        nodes.push(Server::start_in_env(
            dir,
            database_url.clone(),
            &extra,
            &env,
        ));
    }
    nodes[0].add_app(APP);
    (bucket, nodes, passive)
}
