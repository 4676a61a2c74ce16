//! FTPS against clients nobody on the team wrote: Python's ftplib (FTP_TLS), curl, lftp and
//! rclone, each checking content by SHA-256, plus the same files seen through the JSON API.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Server, allow_open_files, audit_records, make_tree, rclone, run_ok, sha256_hex};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

const FTPS: &str = "[ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"40000-49999\"\n";

on_both_backends!(ftplib_session_with_the_api_on_the_same_files);

fn start(backend: Backend, extra: &str) -> (Server, String, u16) {
    let s = Server::start_with(backend, &format!("{FTPS}{extra}"));
    s.add_app(1000);
    s.add_user("alice", "member", "alice-password");
    let addr = s.ftps.clone().expect("FTPS is on");
    let port = s.ftps_port();
    (s, addr, port)
}

fn ftplib_session_with_the_api_on_the_same_files(backend: Backend) {
    let (s, _, port) = start(backend, "");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ftps/ftplib_session.py");
    let out = run_ok(Command::new("python3").arg(&script).args([
        "127.0.0.1",
        &port.to_string(),
        "alice",
        "alice-password",
        "/Home/alice",
    ]));
    assert!(out.contains("done"), "{out}");
    for line in [
        "refused plaintext login",
        "refused wrong password: 530",
        "refused a path outside the tree: 550",
        "refused a write into the root: 550",
        "starts in the home folder",
        "refused STOR into Shared without Create: 550",
        "refused RNTO into Shared without Create: 550",
        "refused PORT to another address",
        "refused EPRT to another address",
        "aborted upload left nothing",
        "refused a data connection without TLS session reuse: 522",
        "STOR ended with both close_notify alerts",
        "HASH and XSHA256 give the recorded SHA-256",
        "active mode to the client's own address ok",
        "resumed upload and APPE ok",
        "refused REST before STOR that is not the stored size: 554",
        "refused REST before STOR of a missing file: 550",
        "refused MLSD of a missing folder: 550",
        "refused CR injection: 500, nothing deleted",
        "refused commands injected before the TLS handshake",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }

    // The JSON API sees what FTPS wrote: two versions of report.bin, the last "version two".
    let (session, _) = s.open("alice", "alice-password", 1000);
    let files = s.home_files(&session);
    let report = files.iter().find(|f| f["Name"] == "report.bin").unwrap();
    assert_eq!(report["Version"], 2, "{report}");
    assert_eq!(report["SHA256"], sha256_hex(b"version two"), "{report}");
    assert!(
        files
            .iter()
            .all(|f| f["Name"] != "cut.bin" && f["Name"] != "careless.bin")
    );

    // And FTPS reads what the API wrote, byte for byte (curl, TLS required, resumed too).
    let data: Vec<u8> = (0..2_500_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let (status, _) = s.put_file(
        &session,
        home["FolderID"].as_i64().unwrap(),
        "from-api.bin",
        "",
        &data,
    );
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("from-api.bin");
    std::fs::write(&target, &data[..1_000_000]).unwrap();
    run_ok(
        Command::new("curl")
            .args(["-sS", "--ssl-reqd", "-k", "-C", "-", "-o"])
            .arg(&target)
            .arg(format!(
                "ftp://alice:alice-password@127.0.0.1:{port}/%2FHome/alice/from-api.bin"
            )),
    );
    assert_eq!(
        sha256_hex(&std::fs::read(&target).unwrap()),
        sha256_hex(&data)
    );

    let audit = s.audit();
    let ftps = |op: &str| {
        audit
            .iter()
            .filter(|r| r["operation"] == op && r["application_id"] == 3)
            .count()
    };
    assert!(
        ftps("SignIn") >= 3,
        "FTPS sign-ins are audited for application 3"
    );
    assert!(ftps("FileUploaded") >= 3);
    assert!(ftps("FileDownloaded") >= 3);
    assert!(ftps("FileMoved") >= 1 && ftps("FileRenamed") >= 1 && ftps("FileDeleted") >= 1);
    assert!(ftps("UploadFailed") >= 1, "the cut upload is audited");
    assert!(
        audit
            .iter()
            .any(|r| r["operation"] == "SignInFailed" && r["path"] == "alice")
    );
}

#[test]
fn lftp_mirrors_a_tree_up_and_down_and_curl_uploads() {
    let (s, _, port) = start(Backend::Sqlite, "");
    let dir = tempfile::tempdir().unwrap();
    let up = dir.path().join("up");
    let tree = make_tree(&up);
    let settings = "set ssl:verify-certificate no; set ftp:ssl-force true; \
                    set ftp:ssl-protect-data true; set ftp:ssl-protect-list true; \
                    set net:max-retries 1; set net:timeout 20";
    let url = format!("ftp://alice:alice-password@127.0.0.1:{port}");
    run_ok(Command::new("lftp").args([
        "-c",
        &format!(
            "{settings}; open {url}; mirror -R --no-perms --verbose {} /Home/alice/tree",
            up.display()
        ),
    ]));
    let down = dir.path().join("down");
    run_ok(Command::new("lftp").args([
        "-c",
        &format!(
            "{settings}; open {url}; mirror --verbose /Home/alice/tree {}",
            down.display()
        ),
    ]));
    for (rel, digest) in &tree {
        let got = std::fs::read(down.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(&sha256_hex(&got), digest, "{rel}");
    }

    // curl: TLS required, upload, and the listing shows it.
    let file = dir.path().join("curl.bin");
    std::fs::write(&file, vec![42u8; 1_234_567]).unwrap();
    run_ok(
        Command::new("curl")
            .args(["-sS", "--ssl-reqd", "-k", "-T"])
            .arg(&file)
            .arg(format!("{url}/")),
    );
    let listing = run_ok(
        Command::new("curl")
            .args(["-sS", "--ssl-reqd", "-k", "--list-only"])
            .arg(format!("{url}/")),
    );
    assert!(
        listing.contains("curl.bin") && listing.contains("tree"),
        "{listing}"
    );
    // Without TLS, curl cannot even sign in.
    let plain = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .arg(format!("{url}/"))
        .output()
        .unwrap();
    assert!(!plain.status.success());

    // Resumed uploads: each client first stores a part, then resumes with the whole file
    // (curl -C - sends SIZE and APPE; lftp put -c sends SIZE, REST and STOR).
    let whole: Vec<u8> = (0..2_000_000u32).map(|i| (i * 31 % 257) as u8).collect();
    std::fs::write(dir.path().join("whole.bin"), &whole).unwrap();
    std::fs::write(dir.path().join("part.bin"), &whole[..700_000]).unwrap();
    for target in ["curl-resumed.bin", "lftp-resumed.bin"] {
        run_ok(
            Command::new("curl")
                .args(["-sS", "--ssl-reqd", "-k", "-T"])
                .arg(dir.path().join("part.bin"))
                .arg(format!("{url}/{target}")),
        );
    }
    run_ok(
        Command::new("curl")
            .args(["-sS", "--ssl-reqd", "-k", "-C", "-", "-T"])
            .arg(dir.path().join("whole.bin"))
            .arg(format!("{url}/curl-resumed.bin")),
    );
    run_ok(Command::new("lftp").args([
        "-c",
        &format!(
            "{settings}; open {url}; put -c {} -o /Home/alice/lftp-resumed.bin",
            dir.path().join("whole.bin").display()
        ),
    ]));

    let (session, _) = s.open("alice", "alice-password", 1000);
    let files = s.home_files(&session);
    let curl = files.iter().find(|f| f["Name"] == "curl.bin").unwrap();
    assert_eq!(curl["SHA256"], sha256_hex(&vec![42u8; 1_234_567]));
    for name in ["curl-resumed.bin", "lftp-resumed.bin"] {
        let f = files.iter().find(|f| f["Name"] == name).unwrap();
        assert_eq!(f["SHA256"], sha256_hex(&whole), "{name}");
        assert_eq!(
            f["Version"], 2,
            "{name}: the resumed upload is a new version"
        );
    }
}

#[test]
fn rclone_copies_a_tree_both_ways_and_checks_it() {
    // Debian 12's rclone 1.60 shares one TLS session cache across its control connections,
    // so a data connection may resume another connection's session (rclone issue #7234, fixed
    // in 1.64 with a cache per connection); Ferry rightly refuses that by default, so this
    // server is told not to require resumption.
    let (_s, _, port) = start(Backend::Sqlite, "require_tls_session_reuse = false\n");
    let dir = tempfile::tempdir().unwrap();
    let up = dir.path().join("up");
    make_tree(&up);
    let obscured = run_ok(Command::new("rclone").args(["obscure", "alice-password"]));
    let remote = format!(
        ":ftp,host=127.0.0.1,port={port},user=alice,pass={},explicit_tls=true,no_check_certificate=true:",
        obscured.trim()
    );
    let rclone = |args: &[&str]| rclone(dir.path(), args);
    let target = format!("{remote}/Home/alice/rtree");
    // rclone creates the nested directories itself (it learns they are missing from MLSD's 550).
    rclone(&["copy", up.to_str().unwrap(), &target]);
    rclone(&["check", up.to_str().unwrap(), &target, "--size-only"]);
    let down = dir.path().join("down");
    rclone(&["copy", &target, down.to_str().unwrap()]);
    // Byte-for-byte: every file back down has the SHA-256 of the original.
    rclone(&[
        "check",
        up.to_str().unwrap(),
        down.to_str().unwrap(),
        "--checksum",
    ]);
}

#[test]
fn connection_limits_and_the_shared_lock_out() {
    let (s, addr, port) = start(
        Backend::Sqlite,
        "max_connections_per_ip = 20\nidle_timeout_seconds = 30\n",
    );
    // Twenty idle control connections are held; the next is told why it is refused.
    let held: Vec<std::net::TcpStream> = (0..20)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    let mut extra = std::net::TcpStream::connect(&addr).unwrap();
    extra
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut greeting = String::new();
    std::io::Read::read_to_string(&mut extra, &mut greeting).ok();
    assert!(greeting.starts_with("421"), "{greeting:?}");
    drop(held);
    std::thread::sleep(std::time::Duration::from_millis(300));

    // Wrong passwords over FTPS count in the lock-out every protocol shares.
    let script = "import ssl, sys\nfrom ftplib import FTP_TLS, error_perm\n\
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE\n\
        port = int(sys.argv[1])\n\
        for i in range(8):\n\
        \x20   f = FTP_TLS(context=ctx, timeout=20); f.connect('127.0.0.1', port); f.auth()\n\
        \x20   try:\n\
        \x20       f.login('alice', 'wrong-%d' % i)\n\
        \x20   except error_perm:\n\
        \x20       pass\n\
        \x20   f.close()\n\
        f = FTP_TLS(context=ctx, timeout=20); f.connect('127.0.0.1', port); f.auth()\n\
        try:\n\
        \x20   f.login('alice', 'alice-password'); print('signed in')\n\
        except error_perm as e:\n\
        \x20   print('refused', e)\n";
    let out = run_ok(Command::new("python3").args(["-c", script, &port.to_string()]));
    assert!(
        out.starts_with("refused 530 Too many failed sign-ins for this account from this address")
            && out.contains("(error 103)"),
        "the right password is refused while locked, and the reply says why: {out}"
    );
    // The API refuses it too, with the lock-out code.
    let answer = s.call(
        "Open",
        json!({"userName": "alice", "password": "alice-password", "applicationID": 1000}),
    );
    assert_eq!(answer.1["ErrorCode"], 103, "{}", answer.1);
    let audit = s.audit();
    common::assert_lockout_audited(&audit, 3);
    assert!(
        audit
            .iter()
            .any(|r| r["operation"] == "SignInFailed" && r["detail"] == "locked out")
    );
}

#[test]
fn one_user_may_hold_only_so_many_connections() {
    let (s, _, port) = start(Backend::Sqlite, "max_connections_per_user = 2\n");
    let script = "import ftplib, ssl, sys, time\n\
        port = int(sys.argv[1])\n\
        def login(password='alice-password'):\n\
        \x20   c = ftplib.FTP_TLS(context=ssl._create_unverified_context())\n\
        \x20   c.connect('127.0.0.1', port)\n\
        \x20   c.auth()\n\
        \x20   c.login('alice', password)\n\
        \x20   return c\n\
        def refusal(password):\n\
        \x20   try:\n\
        \x20       login(password); return 'signed in'\n\
        \x20   except ftplib.error_perm as e:\n\
        \x20       return str(e)\n\
        first, second = login(), login()\n\
        right, wrong = refusal('alice-password'), refusal('not-her-password')\n\
        print('third refused', right)\n\
        print('same as a wrong password', right == wrong)\n\
        first.quit()\n\
        for _ in range(50):\n\
        \x20   try:\n\
        \x20       login(); print('after a quit: signed in'); break\n\
        \x20   except ftplib.error_perm:\n\
        \x20       time.sleep(0.1)\n";
    let out = run_ok(Command::new("python3").args(["-c", script, &port.to_string()]));
    // The right password at the limit gets the wrong password's answer: a guesser who meets
    // the limit learns nothing. The audit says why.
    assert!(out.contains("third refused 530"), "{out}");
    assert!(out.contains("same as a wrong password True"), "{out}");
    assert!(out.contains("after a quit: signed in"), "{out}");
    let audit = s.audit();
    let refused = audit_records(&audit, "SignInFailed", 3, "too many connections");
    // One or more: a sign-in racing the first connection's close may be refused too.
    assert!(!refused.is_empty(), "{audit:?}");
    assert!(refused[0]["user_id"].is_number(), "{:?}", refused[0]);
    assert_eq!(
        audit_records(&audit, "SignIn", 3, "").len(),
        3,
        "only the admitted sign-ins are recorded as such"
    );
}

#[test]
fn five_hundred_idle_connections_leave_the_server_responsive_and_bounded() {
    allow_open_files(8192);
    let (s, _, port) = start(
        Backend::Sqlite,
        "max_connections_per_ip = 600\nmax_connections_per_user = 600\n",
    );
    let before = s.rss_kib();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ftps/idle_crowd.py");
    let mut crowd = Command::new("python3")
        .arg(&script)
        .args([
            "127.0.0.1",
            &port.to_string(),
            "alice",
            "alice-password",
            "500",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(crowd.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "held 500", "the crowd could not sign in");
    // Meanwhile curl uploads and downloads a file, and the API answers.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("busy.bin");
    let data: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let url = format!("ftp://alice:alice-password@127.0.0.1:{port}/%2FHome/alice/busy.bin");
    run_ok(
        Command::new("curl")
            .args(["-sS", "--ssl-reqd", "-k", "-T"])
            .arg(&file)
            .arg(&url),
    );
    let back = dir.path().join("back.bin");
    run_ok(
        Command::new("curl")
            .args(["-sS", "--ssl-reqd", "-k", "-o"])
            .arg(&back)
            .arg(&url),
    );
    assert_eq!(
        sha256_hex(&std::fs::read(&back).unwrap()),
        sha256_hex(&data)
    );
    assert_eq!(s.get("/healthz").0, 200);
    let during = s.rss_kib();
    eprintln!("RSS: {before} KiB before, {during} KiB with 500 idle signed-in FTPS connections");
    assert!(
        during.saturating_sub(before) < 96 * 1024,
        "500 connections grew the server by {} KiB",
        during - before
    );
    use std::io::Write;
    crowd.stdin.as_mut().unwrap().write_all(b"done\n").unwrap();
    assert!(crowd.wait().unwrap().success());
}

#[test]
fn idle_and_overlong_control_connections_are_closed() {
    let (_s, addr, _) = start(Backend::Sqlite, "idle_timeout_seconds = 1\n");
    use std::io::{BufRead, BufReader, Write};
    let read_all = |c: std::net::TcpStream| {
        c.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        BufReader::new(c)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    };
    // Silent after the greeting: told why, then closed.
    let idle = std::net::TcpStream::connect(&addr).unwrap();
    let lines = read_all(idle);
    assert!(lines[0].starts_with("220"), "{lines:?}");
    assert!(lines[1].starts_with("421 Idle"), "{lines:?}");
    // A line longer than 4,096 bytes: refused, then closed.
    let mut long = std::net::TcpStream::connect(&addr).unwrap();
    long.write_all(&vec![b'A'; 5000]).unwrap();
    let lines = read_all(long);
    assert!(
        lines[1].starts_with("500 Command line too long"),
        "{lines:?}"
    );
    // Commands before sign-in other than the harmless ones are refused.
    let mut early = std::net::TcpStream::connect(&addr).unwrap();
    early
        .write_all(b"RETR /Home/alice/x\r\nNOOP\r\nQUIT\r\n")
        .unwrap();
    let lines = read_all(early);
    assert!(lines[1].starts_with("530"), "{lines:?}");
    assert!(lines[2].starts_with("200"), "{lines:?}");
    assert!(lines[3].starts_with("221"), "{lines:?}");
}

#[test]
fn files_cross_between_ftps_sftp_and_the_api_unchanged() {
    let (s, _, port) = start(Backend::Sqlite, "[sftp]\nlisten = \"127.0.0.1:0\"\n");
    let sftp_port = s.sftp_port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let a: Vec<u8> = (0..3_000_001u32).map(|i| (i * 13 % 256) as u8).collect();
    let b: Vec<u8> = (0..2_000_003u32).map(|i| (i * 29 % 255) as u8).collect();
    std::fs::write(dir.path().join("a.bin"), &a).unwrap();
    std::fs::write(dir.path().join("b.bin"), &b).unwrap();
    let ftps =
        |name: &str| format!("ftp://alice:alice-password@127.0.0.1:{port}/%2FHome/alice/{name}");
    let sftp =
        |name: &str| format!("sftp://alice:alice-password@127.0.0.1:{sftp_port}/Home/alice/{name}");
    let curl = |args: &[&str]| {
        run_ok(
            Command::new("curl")
                .args(["-sS", "--ssl-reqd", "-k"])
                .args(args),
        );
    };
    // Up over FTPS, down over SFTP; up over SFTP, down over FTPS.
    curl(&[
        "-T",
        dir.path().join("a.bin").to_str().unwrap(),
        &ftps("a.bin"),
    ]);
    curl(&[
        "-o",
        dir.path().join("a-back.bin").to_str().unwrap(),
        &sftp("a.bin"),
    ]);
    curl(&[
        "-T",
        dir.path().join("b.bin").to_str().unwrap(),
        &sftp("b.bin"),
    ]);
    curl(&[
        "-o",
        dir.path().join("b-back.bin").to_str().unwrap(),
        &ftps("b.bin"),
    ]);
    let read = |name: &str| sha256_hex(&std::fs::read(dir.path().join(name)).unwrap());
    assert_eq!(read("a-back.bin"), sha256_hex(&a));
    assert_eq!(read("b-back.bin"), sha256_hex(&b));
    // And the API records the same digests.
    let (session, _) = s.open("alice", "alice-password", 1000);
    let files = s.home_files(&session);
    for (name, data) in [("a.bin", &a), ("b.bin", &b)] {
        let f = files.iter().find(|f| f["Name"] == name).unwrap();
        assert_eq!(f["SHA256"], sha256_hex(data), "{f}");
    }
}

#[test]
fn data_connections_in_clear_only_when_allowed() {
    let script = "import ftplib, io, ssl, sys\n\
        f = ftplib.FTP_TLS(context=ssl._create_unverified_context(), timeout=20)\n\
        f.connect('127.0.0.1', int(sys.argv[1])); f.auth(); f.login('alice', 'alice-password')\n\
        try:\n\
        \x20   f.sendcmd('PROT C'); f.storbinary('STOR /Home/alice/clear.bin', io.BytesIO(b'in clear'))\n\
        \x20   print('stored', f.size('/Home/alice/clear.bin'))\n\
        except ftplib.error_perm as e:\n\
        \x20   print('refused', str(e)[:3])\n";
    let (_s, _, port) = start(Backend::Sqlite, "");
    let out = run_ok(Command::new("python3").args(["-c", script, &port.to_string()]));
    assert_eq!(out.trim(), "refused 536", "{out}");
    let (_s, _, port) = start(Backend::Sqlite, "allow_plain_data = true\n");
    let out = run_ok(Command::new("python3").args(["-c", script, &port.to_string()]));
    assert_eq!(out.trim(), "stored 8", "{out}");
}
