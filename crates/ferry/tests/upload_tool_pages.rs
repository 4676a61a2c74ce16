//! The browser tools' pages against a live server: the download tool (its files, its ZIP), and
//! the upload page in real browsers (Chromium through Playwright, Firefox through Marionette).

mod common;
#[path = "upload_tool/fixture.rs"]
mod fixture;

use std::path::Path;
use std::process::Command;

use common::paused_get::paused_get;
use common::{sha256_hex, utc_stamp};
use ferry_testkit::{Backend, free_port};
use fixture::*;
use serde_json::{Value, json};

#[test]
fn the_download_tool_lists_and_serves_the_tokens_files() {
    let f = fixture(Backend::Sqlite, "", "");
    let py = doc_python();
    let (status, a) = f.s.put_file(
        &f.session,
        f.folder,
        "<b>a<b>.html",
        "",
        b"<script>alert(1)</script>",
    );
    assert_eq!(status, 200);
    let (_, b) = f.s.put_file(&f.session, f.folder, "b.txt", "", b"bravo");
    let (_, c) = f.s.put_file(&f.session, f.folder, "c.txt", "", b"charlie");
    let (a, b, c) = (
        a["FileID"].as_i64().unwrap(),
        b["FileID"].as_i64().unwrap(),
        c["FileID"].as_i64().unwrap(),
    );
    let token = |ids: &str| {
        let plain = json!({"Version": "2", "FilePublicID": ids, "Email": EMAIL, "AllowedIP": "127.0.0.1",
                           "TimeStamp": utc_stamp(0), "Session": f.session});
        seal(py.path(), 2, plain.to_string().as_bytes(), KEY, IV)
    };
    // A file token does not open the upload tool, nor a folder token the download tool.
    assert_eq!(f.open_page(&token(&a.to_string())).0, 403);
    assert_eq!(
        f.open_path(
            &format!("/tools/download?token={}", pct(&f.token(py.path()))),
            &[]
        )
        .0,
        403
    );
    let (status, html) = f.open_path(
        &format!("/tools/download?token={}", pct(&token(&format!("{a},{b}")))),
        &[],
    );
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("&lt;b&gt;a&lt;b&gt;.html") && !html.contains("<b>a<b>"),
        "{html}"
    );
    assert!(html.contains("b.txt") && !html.contains("c.txt"));
    let grant = grant_of_download(&html);
    let (status, headers, body) = f.get(&format!("/tools/files/{a}?grant={grant}"), &[]);
    assert_eq!(status, 200);
    assert_eq!(body, b"<script>alert(1)</script>");
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert!(header("content-disposition").starts_with("attachment;"));
    assert_eq!(header("content-type"), "application/octet-stream");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-security-policy").contains("sandbox"));
    let (status, _, body) = f.get(
        &format!("/tools/files/{b}?grant={grant}"),
        &[("Range", "bytes=1-3")],
    );
    assert_eq!((status, body.as_slice()), (206, &b"rav"[..]));
    // Files the token does not name, a made-up grant, another site: refused.
    assert_eq!(
        f.get(&format!("/tools/files/{c}?grant={grant}"), &[]).0,
        404
    );
    assert_eq!(f.get(&format!("/tools/files/{a}?grant=nope"), &[]).0, 403);
    assert_eq!(
        f.get(
            &format!("/tools/files/{a}?grant={grant}"),
            &[("Sec-Fetch-Site", "cross-site")]
        )
        .0,
        403
    );
    let downloaded: Vec<Value> =
        f.s.audit()
            .into_iter()
            .filter(|e| e["operation"] == "FileDownloaded")
            .collect();
    assert_eq!(downloaded.len(), 2);
    assert!(downloaded.iter().all(|e| e["external_user"] == EMAIL));
    // One row per file: the name, its size and its button, then the labelled checksum; and
    // "Download all" as one ZIP of the token's files (read back with Python's zipfile).
    assert!(
        html.contains("Download all (2 files, ZIP)") && html.contains("class=\"label\">SHA-256"),
        "{html}"
    );
    let (status, headers, zip) = f.get(&format!("/tools/zip?grant={grant}"), &[]);
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/zip"),
        "{headers:?}"
    );
    let archive = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(archive.path(), &zip).unwrap();
    let listed = common::run_ok(Command::new("python3").arg("-c").arg(format!(
        "import zipfile; z = zipfile.ZipFile({:?}); \
         print(sorted((i.filename, z.read(i).decode()) for i in z.infolist()))",
        archive.path().display().to_string()
    )));
    // (`<` and `>` cannot be in a Windows name: escaped as in every Ferry archive.)
    assert_eq!(
        listed.trim(),
        "[('_b_a_b_.html', '<script>alert(1)</script>'), ('b.txt', 'bravo')]"
    );
    assert_eq!(f.get("/tools/zip?grant=nope", &[]).0, 403);
    let downloaded =
        f.s.audit()
            .into_iter()
            .filter(|e| e["operation"] == "FileDownloaded" && e["external_user"] == EMAIL)
            .count();
    assert_eq!(downloaded, 4, "each file in the ZIP audited as a download");
}

#[test]
fn a_browser_uploads_three_files_and_resumes_after_a_cut() {
    let f = fixture(Backend::Sqlite, "", "");
    // The link is made by the document's openssl example.
    let link = openssl_link(&f);
    let work = tempfile::tempdir().unwrap();
    let screenshot = match std::env::var_os("FERRY_UPDATE_SCREENSHOT") {
        Some(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/upload-tool.png"),
        None => work.path().join("upload-tool.png"),
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/browser_upload.py");
    let out = common::run_ok(
        Command::new("python3")
            .arg(script)
            .arg(link.trim())
            .arg(work.path())
            .arg(&screenshot),
    );
    let report: Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert_eq!(report["errors"], json!([]), "{report}");
    assert_eq!(report["cuts"], 1, "{report}");
    assert_eq!(report["saw_resuming"], true, "{report}");
    eprintln!("statuses the page showed: {}", report["observed"]);
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .starts_with("3 uploaded"),
        "{report}"
    );
    assert_eq!(report["injected_elements"], 0);
    // The total bar moved through many values on its way up.
    let progress: Vec<f64> = report["total_progress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let distinct = progress.windows(2).filter(|w| w[1] > w[0]).count();
    assert!(distinct >= 5, "{progress:?}");
    // Resumed, not restarted: the relay carried the big file about once.
    let relayed = report["relayed_up"].as_u64().unwrap();
    assert!(
        relayed < 200 * 1024 * 1024 * 115 / 100,
        "{relayed} bytes relayed"
    );
    // After a reload half-way, the same file picked again resumes: less than the whole file
    // crossed the relay after the reload (a restart would send all of it, and headers).
    assert!(
        report["reload_summary"]
            .as_str()
            .unwrap()
            .starts_with("1 uploaded"),
        "{report}"
    );
    let after_reload = report["reload_relayed_up"].as_u64().unwrap();
    assert!(
        after_reload < 64 * 1024 * 1024,
        "{after_reload} bytes after the reload"
    );
    // Through the API: the four files with their SHA-256, and the token's Email in the audit.
    let files = f.files();
    assert_eq!(files.len(), 4, "{files:?}");
    for file in &files {
        let name = file["Name"].as_str().unwrap();
        let local = std::fs::read(work.path().join(name)).unwrap();
        assert_eq!(
            file["SHA256"].as_str().unwrap(),
            sha256_hex(&local),
            "{name}"
        );
    }
    let uploads: Vec<Value> =
        f.s.audit()
            .into_iter()
            .filter(|e| e["operation"] == "FileUploaded")
            .collect();
    assert_eq!(uploads.len(), 4);
    assert!(uploads.iter().all(|e| e["external_user"] == EMAIL));
}

#[test]
fn the_page_works_by_keyboard_on_a_phone_and_enforces_the_links_limits() {
    let f = fixture(Backend::Sqlite, "", "");
    let py = doc_python();
    let token = f.token(py.path());
    let link = format!(
        "{}/ExternalJavaUpload.aspx?ThruFolderID={}&ThruApplicationID=1000&ThruMaxFileNumber=2\
         &ThruFileFilter=Documents%3A%20txt%2C%20bin",
        f.s.base,
        pct(&token)
    );
    let work = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/browser_ui.py");
    let out = common::run_ok(
        Command::new("python3")
            .arg(script)
            .arg(&link)
            .arg(work.path()),
    );
    let report: Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert_eq!(report["errors"], json!([]), "{report}");
    assert!(
        report["overflow_px"].as_i64().unwrap() <= 0,
        "sideways scrolling: {report}"
    );
    assert_eq!(
        report["tab_order"].as_array().unwrap().last().unwrap(),
        "drop",
        "{report}"
    );
    assert_eq!(
        report["refused_type"],
        "Files of this type are not accepted here."
    );
    assert_eq!(report["cancelled"], "Cancelled");
    assert_eq!(report["retry_visible"], true);
    assert!(
        report["retried"].as_str().unwrap().starts_with("Uploaded"),
        "{report}"
    );
    assert_eq!(report["third"], "This link accepts at most 2 files.");
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .starts_with("2 uploaded"),
        "{report}"
    );
    // On the server: the two files, whole, and nothing of the cancelled attempt.
    let mut names: Vec<String> = f
        .files()
        .iter()
        .map(|x| x["Name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["first.txt", "slow.bin"]);
    for file in f.files() {
        let name = file["Name"].as_str().unwrap();
        let local = std::fs::read(work.path().join(name)).unwrap();
        assert_eq!(
            file["SHA256"].as_str().unwrap(),
            sha256_hex(&local),
            "{name}"
        );
    }
}

#[test]
fn firefox_uploads_through_the_page_too() {
    let f = fixture(Backend::Sqlite, "", "");
    let py = doc_python();
    let link = format!(
        "{}/tools/upload?token={}",
        f.s.base,
        pct(&f.token(py.path()))
    );
    let work = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/browser_firefox.py");
    let out = common::run_ok(
        Command::new("python3")
            .arg(script)
            .arg(&link)
            .arg(work.path())
            .arg(free_port().to_string()),
    );
    let report: Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert!(
        report["user_agent"].as_str().unwrap().contains("Firefox/"),
        "{report}"
    );
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .starts_with("2 uploaded"),
        "{report}"
    );
    assert_eq!(report["injected_elements"], 0);
    let files = f.files();
    assert_eq!(files.len(), 2, "{files:?}");
    for file in &files {
        let name = file["Name"].as_str().unwrap();
        let local = std::fs::read(work.path().join(name)).unwrap();
        assert_eq!(
            file["SHA256"].as_str().unwrap(),
            sha256_hex(&local),
            "{name}"
        );
    }
}

/// A session-less download token (access IDs) acts for the user who asked for them, in a
/// stand-in session nothing stores: that user is asked again while its ZIP runs, as a session
/// is (whole when read slowly while the user stays active; cut short once they are disabled).
#[test]
fn the_download_tools_zip_stops_when_its_user_is_disabled() {
    let f = fixture(Backend::Sqlite, "", "");
    let py = doc_python();
    let count = common::paused_get::beyond_socket_buffers(24);
    let ids: Vec<String> = (0..count as u32)
        .map(|i| {
            let content: Vec<u8> = (0..256 * 1024u32).map(|j| (i + j % 241) as u8).collect();
            let (status, file) =
                f.s.put_file(&f.session, f.folder, &format!("f{i:02}.bin"), "", &content);
            assert_eq!(status, 200);
            let (status, info) = f.s.call(
                "RetrieveUploadInfo",
                json!({"sessionID": f.session, "fileID": file["FileID"]}),
            );
            assert_eq!(status, 200, "{info}");
            info["Files"][0]["AccessId"].as_str().unwrap().to_string()
        })
        .collect();
    let plain = json!({"Version": "2", "FilePublicID": ids.join(","), "Email": EMAIL,
                       "AllowedIP": "127.0.0.1", "TimeStamp": utc_stamp(0)});
    let token = seal(py.path(), 2, plain.to_string().as_bytes(), KEY, IV);
    let (status, html) = f.open_path(&format!("/tools/download?token={}", pct(&token)), &[]);
    assert_eq!(status, 200, "{html}");
    let zip = format!("/tools/zip?grant={}", grant_of_download(&html));
    let entries = |zip: &[u8]| zip.windows(4).filter(|w| *w == b"PK\x03\x04").count();

    let slow = paused_get(&f.s.base, &zip, &[], || {
        std::thread::sleep(std::time::Duration::from_millis(1500))
    });
    assert!(slow.head.starts_with("HTTP/1.1 200"), "{}", slow.head);
    assert!(slow.complete);
    assert_eq!(entries(&slow.body), count);

    let cut = paused_get(&f.s.base, &zip, &[], || {
        f.s.ferry_ok(&["user", "disable", "ann"], None);
        std::thread::sleep(std::time::Duration::from_millis(1500));
    });
    assert!(entries(&cut.body) < count, "{} entries", entries(&cut.body));
    assert!(!cut.body.windows(4).any(|w| w == b"PK\x05\x06"));
}
