//! `POST /upload.aspx`, SARG 2.6.2's basic upload (issue 19), with clients nobody on the team
//! wrote: curl's `-F` forms and Python's requests. Files arrive whole, with the right bytes; a
//! form that is cut half-way, lacks its file, counts its files wrong, names the session after
//! the file or is no form at all stores nothing; a 200 MB file streams through in bounded
//! memory.

mod common;

use std::io::{Read, Write};
use std::process::Command;

use common::{APP, Server, run_ok};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(curl_and_requests_upload_through_the_form);

/// curl with `args` against `/upload.aspx{query}`: status, `X-FTH-Error` and body.
fn post(s: &Server, query: &str, args: &[&str]) -> (u16, Option<String>, String) {
    let out = Command::new("curl")
        .args(["-s", "-D", "-", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .arg(format!("{}/upload.aspx{query}", s.base))
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (rest, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    let (head, body) = rest.split_once("\r\n\r\n").unwrap_or((rest, ""));
    let fth = head
        .lines()
        .find_map(|l| l.strip_prefix("x-fth-error:").map(|v| v.trim().to_string()));
    (status.trim().parse().unwrap_or(0), fth, body.to_string())
}

fn files(s: &Server, session: &str, folder: i64) -> Vec<(String, i64, String)> {
    let (_, list) = s.call(
        "GetFiles",
        json!({"sessionID": session, "folderID": folder}),
    );
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["Name"].as_str().unwrap().to_string(),
                f["Size"].as_i64().unwrap(),
                f["SHA256"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn home(s: &Server, session: &str) -> i64 {
    let (_, h) = s.call("GetHomeFolder", json!({"sessionID": session}));
    h["FolderID"].as_i64().unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn curl_and_requests_upload_through_the_form(backend: Backend) {
    let s = Server::start(backend);
    s.add_user("uma", "member", "uma-password-1");
    let (session, _) = s.open("uma", "uma-password-1", APP);
    let folder = home(&s, &session);
    let dir = tempfile::tempdir().unwrap();
    let a: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let b: Vec<u8> = (0..5_000u32).map(|i| (i % 13) as u8).collect();
    std::fs::write(dir.path().join("a.bin"), &a).unwrap();
    std::fs::write(dir.path().join("b.bin"), &b).unwrap();
    let at = |n: &str| format!("file=@{}", dir.path().join(n).display());

    // The session in the query string, SARG's fields in the form (names with their spaces).
    let (status, fth, body) = post(
        &s,
        &format!("?SessionID={session}&folderID={folder}"),
        &[
            "-F",
            "filename0=Report 2026.bin",
            "-F",
            &at("a.bin"),
            "-F",
            " EntityCount =1",
            "-F",
            " NoRedirect =x",
        ],
    );
    assert_eq!((status, fth.as_deref()), (200, Some("")), "{body}");
    let stored: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stored[0]["Name"], "Report 2026.bin", "{body}");
    // Every field in the form, ahead of two files.
    let (status, fth, body) = post(
        &s,
        "",
        &[
            "-F",
            &format!(" SessionID={session}"),
            "-F",
            &format!(" folderID ={folder}"),
            "-F",
            "filename0=first.bin",
            "-F",
            "Description0=d",
            "-F",
            "filename1=second.bin",
            "-F",
            "EntityCount=2",
            "-F",
            &at("a.bin"),
            "-F",
            &at("b.bin"),
        ],
    );
    assert_eq!((status, fth.as_deref()), (200, Some("")), "{body}");
    // overwrite=0 on a name that exists is refused.
    let (status, fth, _) = post(
        &s,
        &format!("?SessionID={session}&folderID={folder}&overwrite=0"),
        &["-F", "filename0=first.bin", "-F", &at("b.bin")],
    );
    assert_eq!(status, 409);
    assert!(fth.unwrap().starts_with("204 / "));

    // Python's requests puts its data fields ahead of its files.
    let script = "import sys, requests\n\
        base, session, folder = sys.argv[1:4]\n\
        r = requests.post(base + '/upload.aspx', data={'SessionID': session, 'folderID': folder,\n\
            'filename0': 'from-requests.bin', 'overwrite': '1'},\n\
            files={'file': ('ignored.bin', bytes(range(256)) * 100)})\n\
        assert r.status_code == 200 and r.headers['X-FTH-Error'] == '', (r.status_code, r.text)\n\
        print(r.json()[0]['Name'], r.json()[0]['Size'])\n";
    let out = run_ok(Command::new("python3").args([
        "-c",
        script,
        &s.base,
        &session,
        &folder.to_string(),
    ]));
    assert_eq!(out.trim(), "from-requests.bin 25600");

    let mut got = files(&s, &session, folder);
    got.sort();
    let want_names = [
        "Report 2026.bin",
        "first.bin",
        "from-requests.bin",
        "second.bin",
    ];
    assert_eq!(
        got.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        want_names
    );
    assert_eq!(
        (got[0].1, got[0].2.as_str()),
        (300_000, sha256_hex(&a).as_str())
    );
    assert_eq!(
        (got[3].1, got[3].2.as_str()),
        (5_000, sha256_hex(&b).as_str())
    );
    let uploads = s
        .audit()
        .iter()
        .filter(|r| r["operation"] == "FileUploaded")
        .count();
    assert_eq!(uploads, 4, "each stored file is audited once");
}

/// Sends `head` and `body` on a raw connection, shuts down the sending side (a request whose
/// `Content-Length` says more ends there), and reads the answer.
fn raw(s: &Server, head: &str, body: &[u8]) -> String {
    let addr = s.base.trim_start_matches("http://");
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.write_all(head.as_bytes()).unwrap();
    c.write_all(body).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    let _ = c.read_to_string(&mut answer);
    answer
}

#[test]
fn bad_forms_store_nothing() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("vic", "member", "vic-password-1");
    s.add_user("wes", "member", "wes-password-1");
    let (session, _) = s.open("vic", "vic-password-1", APP);
    let (other, _) = s.open("wes", "wes-password-1", APP);
    let folder = home(&s, &session);
    let wes_home = home(&s, &other);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.bin"), vec![7u8; 100_000]).unwrap();
    let file = format!("file=@{}", dir.path().join("f.bin").display());
    let q = format!("?SessionID={session}&folderID={folder}");
    let sid = format!("SessionID={session}");
    let fid = format!("folderID={folder}");
    let cases: Vec<(&str, String, Vec<&str>, u16, &str)> = vec![
        (
            "SARG's sample order (the file first)",
            String::new(),
            vec!["-F", &file, "-F", &sid, "-F", &fid],
            400,
            "110",
        ),
        (
            "no file part",
            q.clone(),
            vec!["-F", "filename0=x"],
            400,
            "110",
        ),
        (
            "EntityCount wrong (after two files streamed)",
            q.clone(),
            vec!["-F", &file, "-F", &file, "-F", "EntityCount=3"],
            400,
            "110",
        ),
        (
            "a name given after its file",
            q.clone(),
            vec!["-F", &file, "-F", "filename0=late.bin"],
            400,
            "110",
        ),
        (
            "a field twice",
            q.clone(),
            vec!["-F", "filename0=a", "-F", "FILENAME0=b", "-F", &file],
            400,
            "110",
        ),
        (
            "a name that climbs",
            q.clone(),
            vec!["-F", "filename0=..", "-F", &file],
            400,
            "110",
        ),
        (
            "a name with a slash",
            q.clone(),
            vec!["-F", "filename0=a/b", "-F", &file],
            400,
            "110",
        ),
        (
            "not a form",
            q.clone(),
            vec![
                "-H",
                "Content-Type: application/octet-stream",
                "--data-binary",
                "abc",
            ],
            400,
            "110",
        ),
        (
            "a session that is not one",
            format!("?SessionID=00000000-0000-0000-0000-000000000000&folderID={folder}"),
            vec!["-F", &file],
            401,
            "101",
        ),
        (
            "another user's folder",
            format!("?SessionID={session}&folderID={wes_home}"),
            vec!["-F", &file],
            404,
            "201",
        ),
        (
            "a folder that is no number",
            format!("?SessionID={session}&folderID=1%20OR%201=1"),
            vec!["-F", &file],
            400,
            "110",
        ),
    ];
    for (what, query, args, status, code) in cases {
        let (got, fth, body) = post(&s, &query, &args);
        assert_eq!(got, status, "{what}: {body}");
        let fth = fth.unwrap_or_default();
        assert!(
            fth.starts_with(&format!("{code} / ")),
            "{what}: X-FTH-Error {fth:?}"
        );
        assert!(
            body.contains(&format!("\"ErrorCode\":{code}")),
            "{what}: {body}"
        );
    }

    // A form cut half-way: the connection ends inside the file's bytes.
    let boundary = "----ferrycut";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"filename0\"\r\n\r\ncut.bin\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend(vec![1u8; 200_000]);
    let head = format!(
        "POST /upload.aspx{q} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len() + 500_000
    );
    let answer = raw(&s, &head, &body);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("x-fth-error: 110 / "),
        "{answer}"
    );
    // The same bytes, complete but for the closing boundary; the client shuts down its side
    // once they are sent, and still reads the answer.
    let head = format!(
        "POST /upload.aspx{q} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let answer = raw(&s, &head, &body);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    assert!(
        files(&s, &session, folder).is_empty(),
        "a refused form stored a file"
    );
    assert!(files(&s, &other, wes_home).is_empty());
    let audit = s.audit();
    assert!(
        !audit.iter().any(|r| r["operation"] == "FileUploaded"),
        "nothing was stored"
    );
    assert!(
        audit.iter().any(|r| r["operation"] == "UploadFailed"),
        "failures are audited"
    );
}

/// A 200 MB file streams through the form: the server's memory does not grow with it.
#[test]
fn a_large_file_streams_in_bounded_memory() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("xia", "member", "xia-password-1");
    let (session, _) = s.open("xia", "xia-password-1", APP);
    let folder = home(&s, &session);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    {
        let mut f = std::fs::File::create(&path).unwrap();
        let block: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        for _ in 0..200 {
            f.write_all(&block).unwrap();
        }
    }
    let before = s.rss_kib();
    let pid = s.pid();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                if let Some(kib) = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                {
                    peak = peak.max(kib);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            peak
        })
    };
    let (status, _, body) = post(
        &s,
        &format!("?SessionID={session}&folderID={folder}"),
        &["-F", &format!("file=@{}", path.display())],
    );
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = watcher.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(files(&s, &session, folder)[0].1, 200 * 1024 * 1024);
    eprintln!("RSS: {before} KiB before, {peak} KiB at most during a 200 MB upload");
    assert!(
        peak < before + 64 * 1024,
        "a 200 MB upload grew the server from {before} to {peak} KiB"
    );
}

/// A form whose preamble never reaches a delimiter, or whose part's headers never end, is
/// refused once 16 KiB of either have passed, before any session is checked. Before, multer
/// kept all of it: 600 MiB of unended headers, sent without a session, took 600 MiB.
#[test]
fn a_preamble_or_headers_that_never_end_are_refused_unread() {
    let s = Server::start(Backend::Sqlite);
    let before = s.rss_kib();
    let addr = s.base.trim_start_matches("http://").to_string();
    let part = "--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\nX-Pad: ";
    for (what, start) in [("headers", part), ("preamble", "")] {
        let mut c = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            c,
            "POST /upload.aspx HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; \
             boundary=XX\r\nContent-Length: {}\r\n\r\n{start}",
            1u64 << 30
        )
        .unwrap();
        // 256 MiB more of it, for as long as the server reads.
        let mut w = c.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            let block = vec![b'a'; 1 << 20];
            (0..256).take_while(|_| w.write_all(&block).is_ok()).count()
        });
        c.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while !answer.ends_with(b"}") {
            let n = c
                .read(&mut buf)
                .expect("the refusal comes before the body ends");
            assert!(n > 0, "closed without an answer");
            answer.extend_from_slice(&buf[..n]);
        }
        c.shutdown(std::net::Shutdown::Both).unwrap();
        let sent_mib = writer.join().unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 400"), "{what}: {answer}");
        assert!(
            answer.contains("a preamble or a part's headers longer than 16384 bytes"),
            "{what}: {answer}"
        );
        eprintln!("{what}: the client got {sent_mib} MiB out before the refusal stopped it");
    }
    let after = s.rss_kib();
    assert!(
        after < before + 32 * 1024,
        "the server grew from {before} to {after} KiB"
    );
}
