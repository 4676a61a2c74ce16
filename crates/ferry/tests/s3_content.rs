//! Content in an S3-compatible bucket, end to end: `ferry serve` with `[storage] url` naming a
//! bucket on moto or s3s-fs (both started on loopback), used over HTTP (whole and `Range`
//! downloads), SFTP (OpenSSH-style writes out of order, random reads) and FTPS (upload,
//! append, download). The data directory holds no content; the bucket does; a deleted file's
//! objects are purged from it; `/readyz` follows the bucket; a bucket that cannot be used
//! stops the start-up; virtual-hosted addressing names the bucket in the host.

mod common;
#[path = "cluster/nodes.rs"]
mod nodes;

use std::process::Command;

use common::{ADMIN, ADMIN_PASSWORD, Server, failed_start, sha256_hex};
use ferry_testkit::s3::{ACCESS_KEY, BUCKET, SECRET_KEY};
use ferry_testkit::{Backend, S3Kind, S3Server, free_port};
use serde_json::json;

const MIB: usize = 1024 * 1024;

/// Writes 12 MiB over SFTP, going back to rewrite the start after two parts were sent, then
/// reads it back whole and at an offset; prints the digests and whether the slice matched.
const PARAMIKO_RANDOM: &str = "import sys, hashlib, paramiko\n\
    t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))\n\
    t.connect(username=sys.argv[2], password=sys.argv[3])\n\
    s = paramiko.SFTPClient.from_transport(t)\n\
    data = bytearray((i * 7 + 3) % 251 for i in range(12 * 1048576))\n\
    with s.open(sys.argv[4], 'w') as f:\n\
    \x20   f.write(bytes(data))\n\
    \x20   f.seek(100)\n\
    \x20   f.write(b'rewritten after the parts went out')\n\
    data[100:134] = b'rewritten after the parts went out'\n\
    with s.open(sys.argv[4], 'r') as f:\n\
    \x20   whole = f.read()\n\
    \x20   f.seek(5 * 1048576 + 3)\n\
    \x20   piece = f.read(70000)\n\
    print(hashlib.sha256(data).hexdigest(), hashlib.sha256(whole).hexdigest(), piece == bytes(data[5 * 1048576 + 3:5 * 1048576 + 70003]))\n";

/// Every file's content in the bucket (`inline_max_kib = 0`: small files here test the bucket,
/// not the database).
fn storage_config(server: &S3Server, prefix: &str) -> String {
    format!(
        "[storage]\nurl = \"{}&part_size_mib=5\"\naccess_key_id = \"{ACCESS_KEY}\"\nsecret_access_key = \"{SECRET_KEY}\"\n\
         [files]\npurge_after_days = 0\ninline_max_kib = 0\n[sessions]\nsweep_interval_seconds = 1\n\
         [sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"40000-49999\"\n",
        server.storage_url(prefix)
    )
}

/// Files under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(files_under(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

fn every_protocol_works_with_content_in_a_bucket(kind: S3Kind) {
    let mut bucket = S3Server::start(kind);
    let s = Server::start_with(Backend::Sqlite, &storage_config(&bucket, "site"));
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, common::APP);
    let (_, team) = s.call(
        "CreateFolder",
        json!({"sessionID": admin, "parentFolderID": 3, "name": "Team"}),
    );
    let team = team["FolderID"].as_i64().unwrap();

    // HTTP: a small file (one PUT to the bucket) and a large one (a multipart upload).
    let small = b"three".to_vec();
    let large: Vec<u8> = (0..11 * MIB + 5).map(|i| (i % 253) as u8).collect();
    for (name, body) in [("small.txt", &small), ("large.bin", &large)] {
        let (status, file) = s.put_file(&admin, team, name, "", body);
        assert_eq!(status, 200, "{file}");
        assert_eq!(file["SHA256"], sha256_hex(body));
        let id = file["FileID"].as_i64().unwrap();
        let path = format!("/api/v1/files/{id}/content");
        let (status, _, got) = s.get_bytes(&path, &[("x-session-id", &admin)]);
        assert_eq!(status, 200);
        assert!(got == *body, "{name} read back differs");
        let (status, _, tail) =
            s.get_bytes(&path, &[("x-session-id", &admin), ("range", "bytes=2-")]);
        assert_eq!(status, 206);
        assert!(tail == body[2..], "{name}: a range read differs");
    }

    // SFTP: writes out of order after parts were sent, and random reads.
    let out = Command::new("python3")
        .args(["-c", PARAMIKO_RANDOM, &s.sftp_port().to_string()])
        .args([ADMIN, ADMIN_PASSWORD, "/Shared/Team/random.bin"])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = printed.split_whitespace().collect();
    assert_eq!(
        fields.len(),
        3,
        "{printed} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fields[0], fields[1], "SFTP read back differs");
    assert_eq!(fields[2], "True", "an SFTP random read differs");
    let (_, files) = s.call("GetFiles", json!({"sessionID": admin, "folderID": team}));
    let random = files
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["Name"] == "random.bin")
        .unwrap();
    assert_eq!(random["SHA256"], fields[0]);

    // FTPS: upload, append (the new version copies the stored object, then the tail), download.
    let local = tempfile::tempdir().unwrap();
    std::fs::write(local.path().join("head"), b"head;").unwrap();
    std::fs::write(local.path().join("tail"), b"tail").unwrap();
    let ftp = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-sS", "--ssl-reqd", "-k"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let url = format!(
        "ftp://{ADMIN}:{ADMIN_PASSWORD}@127.0.0.1:{}/%2FShared/Team/ftp.txt",
        s.ftps_port()
    );
    ftp(&["-T", local.path().join("head").to_str().unwrap(), &url]);
    ftp(&[
        "--append",
        "-T",
        local.path().join("tail").to_str().unwrap(),
        &url,
    ]);
    assert_eq!(ftp(&[&url]), b"head;tail");

    // The content is in the bucket, not in the data directory.
    assert!(
        files_under(&s.dir.path().join("content")).is_empty(),
        "content was written to the data directory"
    );
    let (status, ready) = s.get("/readyz");
    assert_eq!((status, ready.as_str()), (200, "ready\n"));

    if kind == S3Kind::S3sFs {
        // s3s-fs keeps objects as files: the bucket holds each version, and a deleted file's
        // objects go once the purge has run (retention 0 here).
        let objects = |b: &S3Server| files_under(&b.bucket_dir().join("site/objects")).len();
        let before = objects(&bucket);
        assert_eq!(before, 5, "small, large, random, ftp.txt v1 and v2");
        let (status, _) = s.call(
            "DeleteFile",
            json!({"sessionID": admin, "fileID": random["FileID"]}),
        );
        assert_eq!(status, 204);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        // The object goes first and the record second (a crash between repeats the delete).
        while objects(&bucket) != before - 1
            || !s.audit().iter().any(|e| e["operation"] == "FilePurged")
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the purge left the object"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }

        // The bucket goes away: not ready, uploads fail cleanly; it comes back: all is well.
        bucket.stop();
        let (status, _) = s.get("/readyz");
        assert_eq!(status, 503);
        let (status, body) = s.put_file(&admin, team, "while-down.txt", "", b"lost?");
        assert_eq!((status, &body["ErrorCode"]), (503, &json!(120)), "{body}");
        bucket.restart();
        let (status, _) = s.get("/readyz");
        assert_eq!(status, 200);
        let (status, body) = s.put_file(&admin, team, "while-down.txt", "", b"retried");
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["Version"], 1, "the failed upload left a version");
    }
}

#[test]
fn every_protocol_works_with_content_on_moto() {
    every_protocol_works_with_content_in_a_bucket(S3Kind::Moto);
}

#[test]
fn every_protocol_works_with_content_on_s3s_fs() {
    every_protocol_works_with_content_in_a_bucket(S3Kind::S3sFs);
}

#[test]
fn a_bucket_that_cannot_be_used_stops_the_start_up() {
    let moto = S3Server::start(S3Kind::Moto);
    let missing = moto.storage_url("p").replace(BUCKET, "no-such-bucket");
    let down = format!(
        "s3://{BUCKET}/p?endpoint=http://127.0.0.1:{}&region=us-east-1",
        free_port()
    );
    for url in [missing, down] {
        let err = failed_start(&format!(
            "[storage]\nurl = \"{url}\"\naccess_key_id = \"k\"\nsecret_access_key = \"a-secret-never-logged\"\n"
        ));
        assert!(err.contains("not usable"), "{err}");
        assert!(!err.contains("a-secret-never-logged"), "{err}");
    }
    let err = failed_start("[storage]\nurl = \"s3://bucket?endpiont=http://127.0.0.1:1\"\n");
    assert!(err.contains("unknown parameter"), "{err}");
}

#[test]
fn content_no_version_references_is_swept_from_the_bucket_when_old_enough() {
    let bucket = S3Server::start(S3Kind::S3sFs);
    let s = Server::start_with(Backend::Sqlite, &storage_config(&bucket, "site"));
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, common::APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": admin}));
    let (status, kept) = s.put_file(
        &admin,
        home["FolderID"].as_i64().unwrap(),
        "kept.txt",
        "",
        b"kept",
    );
    assert_eq!(status, 200, "{kept}");
    // What a crash between the object's completion and the record leaves: objects no version
    // references, one old, one young (it could be an upload committing right now). s3s-fs
    // keeps objects as files and dates them by their modification time.
    let (old, young) = common::plant_orphans(&bucket.bucket_dir().join("site/objects/ab"));
    // The sweep runs at start-up (the restarted node takes its own lease back at once).
    let s = s.restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while old.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the old orphan was not swept"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(young.exists(), "a young object is left alone");
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, common::APP);
    let (status, _, body) = s.get_bytes(
        &format!("/api/v1/files/{}/content", kept["FileID"]),
        &[("x-session-id", &admin)],
    );
    assert_eq!((status, body.as_slice()), (200, b"kept".as_slice()));
}

/// Virtual-hosted addressing (`http://bucket.endpoint/key`, AWS's own): the bucket is named in
/// the host, `ferry-test.s3.test`, which s3s-fs is told is its domain. No resolver knows the
/// name, so Ferry reaches it through HAProxy as an HTTP proxy (`HTTP_PROXY`, which the
/// object-store client honours, as behind a corporate proxy).
#[test]
fn virtual_hosted_addressing_names_the_bucket_in_the_host() {
    let server = S3Server::start(S3Kind::S3sFs);
    let proxy = free_port();
    let work = tempfile::tempdir().unwrap();
    let _haproxy = nodes::haproxy(
        &format!(
            "global\n  maxconn 100\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n\
             frontend forward\n  bind 127.0.0.1:{proxy}\n  default_backend s3\n\
             backend s3\n  server s3 {}\n",
            server.endpoint.trim_start_matches("http://")
        ),
        work.path(),
    );
    nodes::wait_for_on("127.0.0.1", proxy);
    let dir = tempfile::tempdir().unwrap();
    let url = Backend::Sqlite.fresh_database_url(dir.path());
    let extra = format!(
        "[storage]\nurl = \"{}\"\naccess_key_id = \"{ACCESS_KEY}\"\nsecret_access_key = \"{SECRET_KEY}\"\n",
        server.virtual_hosted_url("virtual")
    );
    let proxy_url = format!("http://127.0.0.1:{proxy}");
    let s = Server::start_in_env(dir, url, &extra, &[("HTTP_PROXY", &proxy_url)]);
    s.add_app(common::APP);
    let (session, _) = s.open(ADMIN, ADMIN_PASSWORD, common::APP);
    let body: Vec<u8> = (0..3 * MIB + 5).map(|i| (i % 249) as u8).collect();
    let (status, file) = s.put_file(&session, 3, "hosted.bin", "", &body);
    assert_eq!(status, 200, "{file}");
    let (status, _, back) = s.get_bytes(
        &format!("/api/v1/files/{}/content", file["FileID"]),
        &[("X-Session-ID", &session)],
    );
    assert_eq!(status, 200);
    assert_eq!(sha256_hex(&back), sha256_hex(&body));
    let objects = files_under(&server.bucket_dir().join("virtual").join("objects"));
    assert_eq!(objects.len(), 1, "{objects:?}");
}
