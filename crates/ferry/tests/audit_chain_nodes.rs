//! PostgreSQL: a record appended alone (a download's) is one statement when nothing else is
//! under way on the node, conditional on the chain's head being the one the node last
//! committed (`ferry-store-sql/src/audit_alone.rs`). These tests give it what could break it:
//! two nodes on one database downloading in turns (so each node's guess of the head is stale
//! every time) and at once beside uploads that share batches, and check that every download
//! and upload has its record and the chain is whole. An upload alone is the same kind of
//! statement (`upload_alone.rs`): two nodes uploading versions of one name in turns and at
//! once must number them 1..n with none lost. The same load on SQLite checks the batches'
//! later members, which take the head from the member before them (`tx.rs`).

mod common;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, sha256_hex};
use ferry_testkit::Backend;
use serde_json::Value;

/// A second node over the same database.
fn second_node(a: &Server) -> Server {
    let dir = tempfile::Builder::new()
        .prefix("ferry-test-")
        .tempdir()
        .unwrap();
    Server::start_in(dir, a.database_url.clone(), "")
}

fn home_folder(s: &Server, session: &str) -> i64 {
    let (_, home) = s.call("GetHomeFolder", serde_json::json!({"sessionID": session}));
    home["FolderID"].as_i64().unwrap()
}

/// A small file (kept in the database, so both nodes serve it) in the admin's home on `s`.
fn small_file(s: &Server, session: &str) -> i64 {
    let folder = home_folder(s, session);
    let (status, file) = s.put_file(session, folder, "statement.txt", "", b"one statement");
    assert_eq!(status, 200, "{file}");
    file["FileID"].as_i64().unwrap()
}

fn download(s: &Server, session: &str, file: i64) {
    let path = format!("/api/v1/files/{file}/content");
    let (status, _, body) = s.get_bytes(&path, &[("x-session-id", session)]);
    assert_eq!(status, 200);
    assert_eq!(body, b"one statement");
}

/// A `path` series ("guess": in one statement on the node's guess of the head; "change": in
/// a grouped change, the guess failing) of one of the node's counters of work done alone,
/// `ferry_audit_appended_alone_total` (records) or `ferry_uploads_recorded_alone_total`
/// (uploads), from `/metrics`.
fn done_alone(s: &Server, counter: &str, path: &str) -> u64 {
    let (_, metrics) = s.get("/metrics");
    let series = format!("{counter}{{path=\"{path}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(0, |n| n.trim().parse().unwrap())
}

fn appended_alone(s: &Server, path: &str) -> u64 {
    done_alone(s, "ferry_audit_appended_alone_total", path)
}

fn uploaded_alone(s: &Server, path: &str) -> u64 {
    done_alone(s, "ferry_uploads_recorded_alone_total", path)
}

/// The version numbers of the live file `name` in `folder`, and their digests, as `s` lists
/// them.
fn versions(s: &Server, session: &str, folder: i64, name: &str) -> (Vec<i64>, Vec<String>) {
    let (_, file) = s.call(
        "GetFileByName",
        serde_json::json!({"sessionID": session, "folderID": folder, "name": name}),
    );
    let (_, versions) = s.call(
        "GetFileVersions",
        serde_json::json!({"sessionID": session, "fileID": file["FileID"]}),
    );
    let versions = versions.as_array().unwrap();
    let numbers = versions.iter().map(|v| v["Version"].as_i64().unwrap());
    let digests = versions
        .iter()
        .map(|v| v["SHA256"].as_str().unwrap().to_string());
    (numbers.collect(), digests.collect())
}

/// The audit's download records of `file`.
fn downloads_audited(s: &Server, file: i64) -> usize {
    s.audit()
        .iter()
        .filter(|r: &&Value| r["operation"] == "FileDownloaded" && r["file_id"] == file)
        .count()
}

#[test]
fn lone_records_keep_one_chain_across_nodes() {
    let a = Server::start(Backend::Postgres);
    let b = second_node(&a);
    let on_a = a.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP).0;
    let on_b = b.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP).0;
    let file = small_file(&a, &on_a);

    // One node alone: after its first record, its guess of the head holds.
    let before = appended_alone(&a, "guess");
    for _ in 0..10 {
        download(&a, &on_a, file);
    }
    assert!(
        appended_alone(&a, "guess") >= before + 9,
        "a node alone appends its records in one statement each: {}",
        a.get("/metrics").1
    );

    // In turns: each node's guess is stale every time (the other moved the head), and the
    // record goes the locking way instead.
    let (a_changes, b_changes) = (appended_alone(&a, "change"), appended_alone(&b, "change"));
    for _ in 0..10 {
        download(&a, &on_a, file);
        download(&b, &on_b, file);
    }
    assert!(appended_alone(&a, "change") >= a_changes + 9);
    assert!(appended_alone(&b, "change") >= b_changes + 9);

    // At once: on each node, four clients downloading and four uploading (uploads share
    // batches, whose later members take the head from the member before them).
    let home = home_folder(&a, &on_a);
    std::thread::scope(|scope| {
        for (n, (node, session)) in [(&a, &on_a), (&b, &on_b)].into_iter().enumerate() {
            for c in 0..4 {
                scope.spawn(move || {
                    for _ in 0..25 {
                        download(node, session, file);
                    }
                });
                scope.spawn(move || {
                    for i in 0..25 {
                        let name = format!("n{n}-c{c}-{i}.txt");
                        let (status, body) = node.put_file(session, home, &name, "", b"x");
                        assert_eq!(status, 200, "{body}");
                    }
                });
            }
        }
    });

    assert_eq!(downloads_audited(&a, file), 10 + 20 + 200);
    let uploads = a
        .audit()
        .iter()
        .filter(|r| r["operation"] == "FileUploaded")
        .count();
    assert_eq!(uploads, 1 + 200);
    assert!(
        a.ferry_ok(&["audit", "verify"], None).contains("intact"),
        "the chain is whole"
    );
}

#[test]
fn grouped_uploads_keep_the_chain_on_sqlite() {
    let s = Server::start(Backend::Sqlite);
    let session = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP).0;
    let home = home_folder(&s, &session);
    let file = small_file(&s, &session);
    std::thread::scope(|scope| {
        for c in 0..8 {
            let (s, session) = (&s, &session);
            scope.spawn(move || {
                for i in 0..25 {
                    let (status, body) = s.put_file(session, home, &format!("c{c}-{i}"), "", b"x");
                    assert_eq!(status, 200, "{body}");
                    download(s, session, file);
                }
            });
        }
    });
    let audit = s.audit();
    let count = |op: &str| audit.iter().filter(|r| r["operation"] == op).count();
    assert_eq!((count("FileUploaded"), count("FileDownloaded")), (201, 200));
    assert!(s.ferry_ok(&["audit", "verify"], None).contains("intact"));
}

#[test]
fn lone_uploads_number_versions_once_across_nodes() {
    let a = Server::start(Backend::Postgres);
    let b = second_node(&a);
    let on_a = a.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP).0;
    let on_b = b.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP).0;
    let home = home_folder(&a, &on_a);
    let put = |s: &Server, session: &str, name: &str, body: &[u8]| {
        let (status, answer) = s.put_file(session, home, name, "", body);
        assert_eq!(status, 200, "{answer}");
    };

    // One node alone: after its first commit, its guess holds, and each upload is one
    // statement.
    put(&a, &on_a, "first.txt", b"0");
    let before = uploaded_alone(&a, "guess");
    for i in 0..10 {
        put(&a, &on_a, "same.txt", format!("a{i}").as_bytes());
    }
    assert!(
        uploaded_alone(&a, "guess") >= before + 10,
        "a node alone records its uploads in one statement each: {}",
        a.get("/metrics").1
    );

    // In turns, versions of one name: each node's guess is stale every time (the other moved
    // the head), and nothing is written until the upload takes the locking way.
    let (a_changes, b_changes) = (uploaded_alone(&a, "change"), uploaded_alone(&b, "change"));
    for i in 0..10 {
        put(&a, &on_a, "same.txt", format!("ta{i}").as_bytes());
        put(&b, &on_b, "same.txt", format!("tb{i}").as_bytes());
    }
    assert!(uploaded_alone(&a, "change") >= a_changes + 9);
    assert!(uploaded_alone(&b, "change") >= b_changes + 9);

    // At once: four clients on each node, versions of the same name.
    std::thread::scope(|scope| {
        for (n, (node, session)) in [(&a, &on_a), (&b, &on_b)].into_iter().enumerate() {
            for c in 0..4 {
                scope.spawn(move || {
                    for i in 0..10 {
                        put(
                            node,
                            session,
                            "same.txt",
                            format!("n{n}c{c}i{i}").as_bytes(),
                        );
                    }
                });
            }
        }
    });

    let sent = 10 + 20 + 80;
    let (numbers, digests) = versions(&b, &on_b, home, "same.txt");
    assert_eq!(
        numbers,
        (1..=sent).collect::<Vec<_>>(),
        "numbered once each"
    );
    let mut expected: Vec<String> =
        (0..10)
            .map(|i| format!("a{i}"))
            .chain((0..10).flat_map(|i| [format!("ta{i}"), format!("tb{i}")]))
            .chain((0..2).flat_map(|n| {
                (0..4).flat_map(move |c| (0..10).map(move |i| format!("n{n}c{c}i{i}")))
            }))
            .map(|body| sha256_hex(body.as_bytes()))
            .collect();
    let mut digests = digests;
    expected.sort();
    digests.sort();
    assert_eq!(digests, expected, "no version lost");
    let uploads = a
        .audit()
        .iter()
        .filter(|r| r["operation"] == "FileUploaded")
        .count();
    assert_eq!(uploads, 1 + sent as usize);
    assert!(a.ferry_ok(&["audit", "verify"], None).contains("intact"));
}
