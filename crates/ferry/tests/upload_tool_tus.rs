//! The upload tool's tus protocol against a live server (docs/upload-tool.md): creation, offsets,
//! checksums, termination, the grant and the page's limits, and an independent client (`tuspy`).

mod common;
#[path = "upload_tool/fixture.rs"]
mod fixture;

use std::process::Command;

use common::sha256_hex;
use ferry_testkit::Backend;
use fixture::*;
use serde_json::{Value, json};

#[test]
fn tus_uploads_obey_the_protocol_the_grant_and_the_page_limits() {
    let f = fixture(Backend::Sqlite, "", "");
    let py = doc_python();
    let grant = f.grant(
        py.path(),
        "&ThruMaxFileNumber=3&ThruFileFilterExceptions=Programs%3A%20exe%2C%20bat",
    );
    let meta = format!("filename {}", b64("report.csv"));
    // Capabilities, and the version check.
    let (status, h, _) = f.tus("OPTIONS", "/tools/tus", &[], b"");
    assert_eq!(status, 204);
    assert_eq!(h["tus-extension"], "creation,termination,checksum");
    let (status, _, _) = f.tus(
        "POST",
        "/tools/tus",
        &[("Ferry-Grant", &grant), ("Upload-Length", "10")],
        b"",
    );
    assert_eq!(status, 412);
    // No grant, a made-up grant, a cross-site request: refused.
    for headers in [
        vec![("Tus-Resumable", "1.0.0"), ("Upload-Length", "10")],
        tus_headers(
            "made-up",
            &[("Upload-Length", "10"), ("Upload-Metadata", &meta)],
        ),
        tus_headers(
            &grant,
            &[
                ("Upload-Length", "10"),
                ("Upload-Metadata", &meta),
                ("Origin", "https://evil.example.net"),
            ],
        ),
        tus_headers(
            &grant,
            &[
                ("Upload-Length", "10"),
                ("Upload-Metadata", &meta),
                ("Sec-Fetch-Site", "cross-site"),
            ],
        ),
    ] {
        let (status, _, body) = f.tus("POST", "/tools/tus", &headers, b"");
        assert_eq!(status, 403, "{headers:?}");
        assert!(body.contains("141"), "{body}");
    }
    // A filtered type.
    let (status, _, body) = f.tus(
        "POST",
        "/tools/tus",
        &tus_headers(
            &grant,
            &[
                ("Upload-Length", "3"),
                ("Upload-Metadata", &format!("filename {}", b64("setup.EXE"))),
            ],
        ),
        b"",
    );
    assert_eq!(status, 403);
    assert!(
        body.contains("142") && body.contains("not accepted"),
        "{body}"
    );
    // Creation.
    let content = b"id,amount\n1,10\n2,20\n";
    let length = content.len().to_string();
    let (status, h, body) = f.tus(
        "POST",
        "/tools/tus",
        &tus_headers(
            &grant,
            &[("Upload-Length", &length), ("Upload-Metadata", &meta)],
        ),
        b"",
    );
    assert_eq!(status, 201, "{body}");
    let location = h["location"].clone();
    assert!(location.starts_with("/tools/tus/"));
    let octets = ("Content-Type", "application/offset+octet-stream");
    // Wrong content type, wrong offset.
    let (status, _, _) = f.tus(
        "PATCH",
        &location,
        &tus_headers(&grant, &[("Upload-Offset", "0")]),
        &content[..5],
    );
    assert_eq!(status, 415);
    let (status, h, _) = f.tus(
        "PATCH",
        &location,
        &tus_headers(&grant, &[("Upload-Offset", "4"), octets]),
        &content[..5],
    );
    assert_eq!(status, 409);
    assert_eq!(h["upload-offset"], "0");
    // A good chunk with its checksum, then one with a wrong checksum (taken back).
    use base64::Engine;
    let sha1 = |d: &[u8]| {
        let out = Command::new("python3")
            .args(["-c", "import hashlib,sys,base64; print(base64.b64encode(hashlib.sha1(sys.stdin.buffer.read()).digest()).decode())"])
            .stdin_bytes(d)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let first = format!("sha1 {}", sha1(&content[..8]));
    let (status, h, body) = f.tus(
        "PATCH",
        &location,
        &tus_headers(
            &grant,
            &[("Upload-Offset", "0"), octets, ("Upload-Checksum", &first)],
        ),
        &content[..8],
    );
    assert_eq!(status, 204, "{body}");
    assert_eq!(h["upload-offset"], "8");
    let wrong = format!(
        "sha256 {}",
        base64::engine::general_purpose::STANDARD.encode([0u8; 32])
    );
    let (status, _, _) = f.tus(
        "PATCH",
        &location,
        &tus_headers(
            &grant,
            &[("Upload-Offset", "8"), octets, ("Upload-Checksum", &wrong)],
        ),
        &content[8..12],
    );
    assert_eq!(status, 460);
    let (status, _, _) = f.tus(
        "PATCH",
        &location,
        &tus_headers(
            &grant,
            &[
                ("Upload-Offset", "8"),
                octets,
                ("Upload-Checksum", "md5 AAAA"),
            ],
        ),
        &content[8..12],
    );
    assert_eq!(status, 400);
    let (_, h, _) = f.tus("HEAD", &location, &tus_headers(&grant, &[]), b"");
    assert_eq!(
        (h["upload-offset"].as_str(), h["upload-length"].as_str()),
        ("8", length.as_str())
    );
    // Past the declared length: refused whole.
    let mut too_long = content[8..].to_vec();
    too_long.extend_from_slice(b"extra");
    let (status, _, _) = f.tus(
        "PATCH",
        &location,
        &tus_headers(&grant, &[("Upload-Offset", "8"), octets]),
        &too_long,
    );
    assert_eq!(status, 413);
    let (_, h, _) = f.tus("HEAD", &location, &tus_headers(&grant, &[]), b"");
    assert_eq!(h["upload-offset"], "8");
    // Nothing is visible until the last byte.
    assert!(f.files().is_empty());
    // Another page of another token cannot see this upload.
    let other = f.grant_for(py.path(), "someone-else@example.net");
    let (status, _, _) = f.tus("HEAD", &location, &tus_headers(&other, &[]), b"");
    assert_eq!(status, 404);
    let (status, h, _) = f.tus(
        "PATCH",
        &location,
        &tus_headers(&grant, &[("Upload-Offset", "8"), octets]),
        &content[8..],
    );
    assert_eq!(status, 204);
    let sha = sha256_hex(content);
    assert_eq!(h["ferry-file-sha256"], sha);
    let files = f.files();
    assert_eq!(files.len(), 1);
    assert_eq!(
        (files[0]["Name"].as_str(), files[0]["SHA256"].as_str()),
        (Some("report.csv"), Some(sha.as_str()))
    );
    let audit = f.s.audit();
    let uploaded = audit
        .iter()
        .rev()
        .find(|e| e["operation"] == "FileUploaded")
        .unwrap();
    assert_eq!(uploaded["external_user"], EMAIL);
    assert_eq!(uploaded["client_ip"], "127.0.0.1");
    assert!(
        audit
            .iter()
            .any(|e| e["operation"] == "ToolOpened" && e["external_user"] == EMAIL)
    );
    // A cancelled upload leaves nothing and gives its place back; the file limit holds.
    let start = |name: &str| {
        let meta = format!("filename {}", b64(name));
        f.tus(
            "POST",
            "/tools/tus",
            &tus_headers(
                &grant,
                &[("Upload-Length", "4"), ("Upload-Metadata", &meta)],
            ),
            b"",
        )
    };
    let (status, h, _) = start("cancelled.txt");
    assert_eq!(status, 201);
    let cancelled = h["location"].clone();
    f.tus(
        "PATCH",
        &cancelled,
        &tus_headers(&grant, &[("Upload-Offset", "0"), octets]),
        b"ab",
    );
    let (status, _, _) = f.tus("DELETE", &cancelled, &tus_headers(&grant, &[]), b"");
    assert_eq!(status, 204);
    // Audited as an upload that stored nothing, as a cut-short upload is on every path.
    let audit = f.s.audit();
    let failed: Vec<_> = audit
        .iter()
        .filter(|r| r["operation"] == "UploadFailed" && r["path"] == "cancelled.txt")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(
        failed[0]["detail"],
        "the client cancelled the resumable upload after 2 of 4 bytes; nothing was stored"
    );
    let (status, _, _) = f.tus("HEAD", &cancelled, &tus_headers(&grant, &[]), b"");
    assert_eq!(status, 404);
    assert_eq!(start("two.txt").0, 201);
    assert_eq!(start("three.txt").0, 201);
    let (status, _, body) = start("four.txt");
    assert_eq!(status, 403);
    assert!(body.contains("at most 3 files"), "{body}");
    // The limit is the token's, not the page's: a reload does not reset it.
    let token_grant_after_reload = {
        let (_, html) = f.open_path(
            &format!(
                "/tools/upload?token={}&ThruMaxFileNumber=3",
                pct(&f.token(py.path()))
            ),
            &[],
        );
        grant_of(&html)
    };
    assert_ne!(token_grant_after_reload, grant);
    assert_eq!(f.files().len(), 1);
    // A name with HTML in it is stored as a name, and shown escaped on a page.
    let meta = format!("filename {}", b64("<img src=x onerror=alert(1)>.txt"));
    let other_grant = f.grant_for(py.path(), "third@example.net");
    let (status, h, _) = f.tus(
        "POST",
        "/tools/tus",
        &tus_headers(
            &other_grant,
            &[("Upload-Length", "0"), ("Upload-Metadata", &meta)],
        ),
        b"",
    );
    assert_eq!(status, 201, "an empty file is complete when created");
    assert!(h.contains_key("ferry-file-id"));
    // Closing the session ends every grant made from it.
    f.s.call("Close", json!({"sessionID": f.session}));
    let (status, _, body) = f.tus("HEAD", &location, &tus_headers(&grant, &[]), b"");
    assert_eq!(status, 403, "{body}");
}

#[test]
fn tuspy_uploads_files_and_folders_with_checksums() {
    let f = fixture(Backend::Sqlite, "", "");
    let py = doc_python();
    let grant = f.grant(py.path(), "");
    let work = tempfile::tempdir().unwrap();
    let script = r#"
import hashlib, json, os, sys
from tusclient import client
base, grant, work = sys.argv[1], sys.argv[2], sys.argv[3]
c = client.TusClient(base + "/tools/tus", headers={"Ferry-Grant": grant})
out = {}
big = os.path.join(work, "big.bin")
with open(big, "wb") as f:
    f.write(os.urandom(20 * 1024 * 1024 + 17))
up = c.uploader(big, chunk_size=1024 * 1024, metadata={"filename": "big.bin"}, upload_checksum=True)
up.upload()
out["big.bin"] = hashlib.sha256(open(big, "rb").read()).hexdigest()
for i in range(100):
    p = os.path.join(work, f"f{i}.txt")
    with open(p, "w") as f:
        f.write(f"file {i}\n" * (i + 1))
    c.uploader(p, metadata={"filename": f"f{i}.txt", "relativePath": f"batch/part{i % 3}/f{i}.txt"}).upload()
print(json.dumps(out))
"#;
    let out = common::run_ok(Command::new("python3").args([
        "-c",
        script,
        &f.s.base,
        &grant,
        work.path().to_str().unwrap(),
    ]));
    let expected: Value = serde_json::from_str(out.trim()).unwrap();
    let files = f.files();
    let big = files.iter().find(|x| x["Name"] == "big.bin").unwrap();
    assert_eq!(big["SHA256"], expected["big.bin"]);
    // The folder structure of the hundred files was made under the token's folder.
    let (_, batch) = f.s.call(
        "GetFolders",
        json!({"sessionID": f.session, "folderID": f.folder}),
    );
    let batch = batch
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["Name"] == "batch")
        .unwrap()["FolderID"]
        .clone();
    let (_, parts) = f.s.call(
        "GetFolders",
        json!({"sessionID": f.session, "folderID": batch}),
    );
    let parts = parts.as_array().unwrap();
    assert_eq!(parts.len(), 3);
    let mut total = 0;
    for part in parts {
        let (_, files) = f.s.call(
            "GetFiles",
            json!({"sessionID": f.session, "folderID": part["FolderID"], "skip": 0, "take": 1000}),
        );
        for file in files.as_array().unwrap() {
            let i: usize = file["Name"].as_str().unwrap()[1..]
                .trim_end_matches(".txt")
                .parse()
                .unwrap();
            assert_eq!(
                file["SHA256"],
                sha256_hex(format!("file {i}\n").repeat(i + 1).as_bytes())
            );
            total += 1;
        }
    }
    assert_eq!(total, 100);
}
