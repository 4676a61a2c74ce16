//! SFTP against clients nobody on the team wrote: paramiko, OpenSSH's `sftp`, curl (libssh2)
//! and rclone, each checking content by SHA-256, plus the same files through the JSON API.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Server, allow_open_files, audit_records, make_tree, rclone, run_ok, sha256_hex};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

const SFTP: &str = "[sftp]\nlisten = \"127.0.0.1:0\"\n";

on_both_backends!(paramiko_session_with_the_api_on_the_same_files);

fn start(backend: Backend, extra: &str) -> (Server, u16) {
    let s = Server::start_with(backend, &format!("{SFTP}{extra}"));
    s.add_app(1000);
    s.add_user("alice", "member", "alice-password");
    let port = s.sftp_port();
    (s, port)
}

fn paramiko_session_with_the_api_on_the_same_files(backend: Backend) {
    let (s, port) = start(backend, "");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sftp/paramiko_session.py");
    let out = run_ok(Command::new("python3").arg(&script).args([
        &port.to_string(),
        "alice",
        "alice-password",
        "/Home/alice",
    ]));
    for line in [
        "refused wrong password",
        "seek ok",
        "pipelined reads ok",
        "refused a path outside the tree",
        "refused writing into Shared without Create",
        "refused symlink",
        "chmod accepted and ignored",
        "refused an unknown extension",
        "two writers made two versions",
        "malformed packets survived",
        "cut upload left nothing",
        "refused an exclusive append to an existing name",
        "append ok",
        "done",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }

    // The JSON API sees what SFTP wrote.
    let (session, _) = s.open("alice", "alice-password", 1000);
    let files = s.home_files(&session);
    assert!(files.iter().all(|f| f["Name"] != "cut.bin"));
    // Appended to over SFTP: version 2 holds the old bytes and the new.
    let mode = files.iter().find(|f| f["Name"] == "mode.txt").unwrap();
    assert_eq!(mode["SHA256"], sha256_hex(b"mode and more"));
    assert_eq!(mode["Version"], 2, "{mode}");

    // And SFTP reads what the API wrote (curl, libssh2).
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 13 % 251) as u8).collect();
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
    run_ok(
        Command::new("curl")
            .args(["-sS", "-k", "-u", "alice:alice-password", "-o"])
            .arg(&target)
            .arg(format!("sftp://127.0.0.1:{port}/Home/alice/from-api.bin")),
    );
    assert_eq!(
        sha256_hex(&std::fs::read(&target).unwrap()),
        sha256_hex(&data)
    );

    let audit = s.audit();
    let sftp = |op: &str| {
        audit
            .iter()
            .filter(|r| r["operation"] == op && r["application_id"] == 2)
            .count()
    };
    assert!(
        sftp("SignIn") >= 2,
        "SFTP sign-ins are audited for application 2"
    );
    // ... with the client's own SSH identification as clientVersion: paramiko's and libssh2's.
    let versions: Vec<&str> = audit
        .iter()
        .filter(|r| r["operation"] == "SignIn" && r["application_id"] == 2)
        .filter_map(|r| r["client_version"].as_str())
        .collect();
    assert!(
        versions.iter().any(|v| v.starts_with("SSH-2.0-paramiko")),
        "{versions:?}"
    );
    assert!(
        versions.iter().any(|v| v.starts_with("SSH-2.0-libssh2")),
        "{versions:?}"
    );
    assert!(sftp("FileUploaded") >= 3 && sftp("FileDownloaded") >= 2);
    assert!(sftp("FileMoved") >= 1 && sftp("FileRenamed") >= 1 && sftp("FileDeleted") >= 1);
    assert!(
        audit
            .iter()
            .any(|r| r["operation"] == "SignInFailed" && r["path"] == "alice")
    );
    // One immutable session serves every SFTP connection of the user (spec 2.3.2.4).
    let tags: std::collections::HashSet<&str> = audit
        .iter()
        .filter(|r| r["operation"] == "SignIn" && r["application_id"] == 2)
        .filter_map(|r| r["session_tag"].as_str())
        .collect();
    assert_eq!(tags.len(), 1, "{tags:?}");
}

#[test]
fn openssh_sftp_and_curl_transfer_and_the_api_agrees() {
    let (s, port) = start(Backend::Sqlite, "");
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..4_000_000u32).map(|i| (i * 7 % 253) as u8).collect();
    std::fs::write(dir.path().join("up.bin"), &data).unwrap();
    // An upload that stopped part-way, for `put -a` to resume.
    std::fs::write(dir.path().join("part.bin"), &data[..1_500_000]).unwrap();
    // OpenSSH's client with password authentication and no terminal: the password comes from
    // an askpass program, commands from standard input.
    let askpass = dir.path().join("askpass.sh");
    std::fs::write(&askpass, "#!/bin/sh\necho alice-password\n").unwrap();
    std::fs::set_permissions(
        &askpass,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    // `put -a` resumes: it opens the stored file with APPEND and sends the rest from its size.
    let commands = "cd /Home/alice\nmkdir ossh\nput up.bin ossh/up.bin\nget ossh/up.bin down.bin\n\
                    put part.bin ossh/resumed.bin\nput -a up.bin ossh/resumed.bin\n\
                    get ossh/resumed.bin resumed.bin\n\
                    rename ossh/up.bin ossh/renamed.bin\nls -l ossh\n";
    let mut child = Command::new("setsid")
        .arg("sftp")
        .args(["-P", &port.to_string()])
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .args([
            "-o",
            "PreferredAuthentications=password",
            "-o",
            "PubkeyAuthentication=no",
        ])
        .arg("alice@127.0.0.1")
        .current_dir(dir.path())
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", "none")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("OpenSSH's sftp is required by the test suite");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), commands.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("renamed.bin"), "{stdout}");
    assert_eq!(
        sha256_hex(&std::fs::read(dir.path().join("down.bin")).unwrap()),
        sha256_hex(&data)
    );
    assert_eq!(
        sha256_hex(&std::fs::read(dir.path().join("resumed.bin")).unwrap()),
        sha256_hex(&data),
        "the resumed upload"
    );

    // curl (libssh2): upload, then the listing.
    run_ok(
        Command::new("curl")
            .args(["-sS", "-k", "-u", "alice:alice-password", "-T"])
            .arg(dir.path().join("up.bin"))
            .arg(format!("sftp://127.0.0.1:{port}/Home/alice/curl.bin")),
    );
    // curl's --append (libssh2 sends its offsets from 0 on an APPEND handle; they go at the end).
    std::fs::write(dir.path().join("tail.bin"), b"appended by curl").unwrap();
    run_ok(
        Command::new("curl")
            .args(["-sS", "-k", "-u", "alice:alice-password", "--append", "-T"])
            .arg(dir.path().join("tail.bin"))
            .arg(format!("sftp://127.0.0.1:{port}/Home/alice/curl.bin")),
    );
    let listing = run_ok(
        Command::new("curl")
            .args(["-sS", "-k", "-u", "alice:alice-password"])
            .arg(format!("sftp://127.0.0.1:{port}/Home/alice/")),
    );
    assert!(
        listing.contains("curl.bin") && listing.contains("ossh"),
        "{listing}"
    );

    let (session, _) = s.open("alice", "alice-password", 1000);
    let files = s.home_files(&session);
    let curl = files.iter().find(|f| f["Name"] == "curl.bin").unwrap();
    let mut appended = data.clone();
    appended.extend_from_slice(b"appended by curl");
    assert_eq!(curl["SHA256"], sha256_hex(&appended));
    assert_eq!(curl["Version"], 2, "an append makes a new version");

    // Each committed upload's time in the server, OPEN to CLOSE's answer, is in /metrics
    // with its quantiles: three from OpenSSH's sftp, two from curl.
    let (_, metrics) = s.get("/metrics");
    let value = |name: &str| -> Option<f64> {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
    };
    assert_eq!(
        value("ferry_sftp_upload_seconds_count"),
        Some(5.0),
        "{metrics}"
    );
    let p99 = value("ferry_sftp_upload_seconds{quantile=\"0.99\"}").expect("no p99");
    assert!(p99 > 0.0 && p99 < 60.0, "{p99}");
}

#[test]
fn rclone_copies_a_tree_both_ways_and_checks_it() {
    let (_s, port) = start(Backend::Sqlite, "");
    let dir = tempfile::tempdir().unwrap();
    let up = dir.path().join("up");
    make_tree(&up);
    let obscured = run_ok(Command::new("rclone").args(["obscure", "alice-password"]));
    let remote = format!(
        ":sftp,host=127.0.0.1,port={port},user=alice,pass={}:",
        obscured.trim()
    );
    let rclone = |args: &[&str]| rclone(dir.path(), args);
    let target = format!("{remote}/Home/alice/rtree");
    rclone(&["copy", up.to_str().unwrap(), &target]);
    // --download compares the bytes themselves (the server runs no hashing commands).
    rclone(&["check", "--download", up.to_str().unwrap(), &target]);
    let down = dir.path().join("down");
    rclone(&["copy", &target, down.to_str().unwrap()]);
    rclone(&[
        "check",
        up.to_str().unwrap(),
        down.to_str().unwrap(),
        "--checksum",
    ]);
}

#[test]
fn wrong_passwords_lock_the_account_for_every_protocol() {
    let (s, port) = start(Backend::Sqlite, "");
    let script = "import sys, paramiko\nport = int(sys.argv[1])\n\
        for i in range(8):\n\
        \x20   t = paramiko.Transport(('127.0.0.1', port))\n\
        \x20   try:\n\
        \x20       t.connect(username='alice', password='wrong-%d' % i)\n\
        \x20   except paramiko.AuthenticationException:\n\
        \x20       pass\n\
        \x20   t.close()\n\
        t = paramiko.Transport(('127.0.0.1', port))\n\
        try:\n\
        \x20   t.connect(username='alice', password='alice-password'); print('signed in')\n\
        except paramiko.AuthenticationException:\n\
        \x20   print('refused')\n";
    let out = run_ok(Command::new("python3").args(["-c", script, &port.to_string()]));
    assert_eq!(
        out.trim(),
        "refused",
        "the right password is refused while locked"
    );
    let answer = s.call(
        "Open",
        json!({"userName": "alice", "password": "alice-password", "applicationID": 1000}),
    );
    assert_eq!(answer.1["ErrorCode"], 103, "{}", answer.1);
    // Keyboard-interactive says why, where SSH alone can only deny: OpenSSH prints it (the
    // password given by SSH_ASKPASS, as a person would type it), paramiko hands it over.
    let dir = tempfile::tempdir().unwrap();
    let askpass = dir.path().join("askpass");
    std::fs::write(&askpass, "#!/bin/sh\necho alice-password\n").unwrap();
    run_ok(Command::new("chmod").arg("700").arg(&askpass));
    let openssh = Command::new("sftp")
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "PreferredAuthentications=keyboard-interactive",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-P",
            &port.to_string(),
            "alice@127.0.0.1",
        ])
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", ":0")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&openssh.stderr);
    assert!(!openssh.status.success());
    assert!(
        said.contains("Too many failed sign-ins for this account from this address")
            && said.contains("(error 103)"),
        "OpenSSH: {said}"
    );
    let script = "import sys, paramiko\n\
        t = paramiko.Transport(('127.0.0.1', int(sys.argv[1]))); t.start_client()\n\
        told = []\n\
        def answer(title, instructions, prompts):\n\
        \x20   told.append(instructions)\n\
        \x20   return ['alice-password' for _ in prompts]\n\
        try:\n\
        \x20   t.auth_interactive('alice', answer)\n\
        except paramiko.AuthenticationException:\n\
        \x20   pass\n\
        print(told[-1])\n";
    let out = run_ok(Command::new("python3").args(["-c", script, &port.to_string()]));
    assert!(out.contains("(error 103)"), "paramiko: {out}");
    // A wrong password is a bare denial, as before: nothing is told.
    let out = run_ok(Command::new("python3").args([
        "-c",
        &script.replace("alice", "nobody"),
        &port.to_string(),
    ]));
    assert_eq!(out.trim(), "", "paramiko: {out}");
    let audit = s.audit();
    common::assert_lockout_audited(&audit, 2);
}

#[test]
fn openssh_sftp_batch_signs_in_with_a_key_and_keys_are_managed() {
    let (s, port) = start(Backend::Sqlite, "");
    let dir = tempfile::tempdir().unwrap();
    let keygen = |name: &str, kind: &str| {
        run_ok(
            Command::new("ssh-keygen")
                .args(["-q", "-t", kind, "-N", "", "-C", "test", "-f"])
                .arg(dir.path().join(name)),
        );
        dir.path().join(name)
    };
    let key = keygen("id_ed25519", "ed25519");
    let other = keygen("other", "ed25519");
    let rsa = keygen("id_rsa", "rsa");
    let pubkey = format!("{}.pub", key.display());
    let added = s.ferry_ok(&["user", "add-key", "alice", "--key-file", &pubkey], None);
    let fingerprint = added.split_whitespace().nth(2).unwrap().to_string();
    assert!(fingerprint.starts_with("SHA256:"), "{added}");
    let keygen_says =
        run_ok(Command::new("ssh-keygen").args(["-l", "-E", "sha256", "-f", &pubkey]));
    assert!(
        keygen_says.contains(&fingerprint),
        "same fingerprint as ssh-keygen: {keygen_says}"
    );
    assert!(
        s.ferry_ok(&["user", "list-keys", "alice"], None)
            .contains(&fingerprint)
    );
    // RSA keys and garbage are refused with a reason; the same key twice is a conflict.
    let out = s.ferry(
        &[
            "user",
            "add-key",
            "alice",
            "--key-file",
            &format!("{}.pub", rsa.display()),
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Ed25519"));
    assert!(
        !s.ferry(&["user", "add-key", "alice", "--key-file", &pubkey], None)
            .status
            .success()
    );

    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i * 3 % 249) as u8).collect();
    std::fs::write(dir.path().join("up.bin"), &data).unwrap();
    let replacement: Vec<u8> = data.iter().rev().copied().collect();
    std::fs::write(dir.path().join("other.bin"), &replacement).unwrap();
    // `rename` goes through posix-rename@openssh.com (replacing batch.bin), `df` through
    // statvfs@openssh.com.
    std::fs::write(
        dir.path().join("batch"),
        "cd /Home/alice\nput up.bin batch.bin\nput other.bin second.bin\n\
         rename second.bin batch.bin\nget batch.bin down.bin\ndf -h\nls\n",
    )
    .unwrap();
    let sftp_with = |identity: &Path, extra: &[&str]| {
        Command::new("sftp")
            .args(extra)
            .arg("-b")
            .arg(dir.path().join("batch"))
            .arg("-i")
            .arg(identity)
            .args(["-P", &port.to_string()])
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ])
            .args([
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "PasswordAuthentication=no",
            ])
            .arg("alice@127.0.0.1")
            .current_dir(dir.path())
            .output()
            .expect("OpenSSH's sftp is required by the test suite")
    };
    let sftp = |identity: &Path| sftp_with(identity, &[]);
    // Only modern algorithms: CBC ciphers and finite-field Diffie-Hellman find no match.
    for old in [
        ["-c", "aes128-cbc"],
        ["-o", "KexAlgorithms=diffie-hellman-group14-sha256"],
    ] {
        let out = sftp_with(&key, &old);
        assert!(!out.status.success(), "{old:?} was accepted");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no matching"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = sftp(&key);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sha256_hex(&std::fs::read(dir.path().join("down.bin")).unwrap()),
        sha256_hex(&replacement)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Avail"), "no df output: {stdout}");
    let listing = stdout.rsplit("sftp> ls").next().unwrap();
    assert!(
        listing.contains("batch.bin") && !listing.contains("second.bin"),
        "{stdout}"
    );
    // A key that is not alice's, and alice's once removed, are refused.
    assert!(!sftp(&other).status.success());
    s.ferry_ok(&["user", "remove-key", "alice", &fingerprint], None);
    assert!(!sftp(&key).status.success());
    let audit = s.audit();
    assert!(audit.iter().any(|r| r["operation"] == "SignIn"
        && r["detail"] == format!("public key {fingerprint}; immutable").as_str()));
}

#[test]
fn a_thousand_connections_leave_the_server_responsive_and_bounded() {
    allow_open_files(8192);
    // Appended to the [sftp] section `start` writes.
    let (s, port) = start(Backend::Sqlite, "max_connections_per_ip = 2000\n");
    let before = s.rss_kib();
    // A thousand clients that connect, say who they are, and then say nothing more.
    let mut held = Vec::new();
    for _ in 0..1000 {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        use std::io::Write;
        c.write_all(b"SSH-2.0-idle-client\r\n").unwrap();
        held.push(c);
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    // Meanwhile a real client signs in and moves a file, and the API answers.
    let started = std::time::Instant::now();
    let script = "import sys, paramiko, hashlib\n\
        t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))\n\
        t.connect(username='alice', password='alice-password')\n\
        s = paramiko.SFTPClient.from_transport(t)\n\
        data = bytes(range(256)) * 4096\n\
        with s.open('/Home/alice/busy.bin', 'wb') as f: f.write(data)\n\
        with s.open('/Home/alice/busy.bin', 'rb') as f: back = f.read()\n\
        print(hashlib.sha256(back).hexdigest() == hashlib.sha256(data).hexdigest())\n";
    let out = run_ok(Command::new("python3").args(["-c", script, &port.to_string()]));
    assert_eq!(out.trim(), "True");
    // A liveness guard, not a measurement: it takes well under a second on a quiet machine.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "a sign-in and a 1 MiB round trip took {:?} beside 1,000 connections",
        started.elapsed()
    );
    assert_eq!(s.get("/healthz").0, 200);
    let during = s.rss_kib();
    eprintln!("RSS: {before} KiB before, {during} KiB with 1,000 idle connections");
    assert!(
        during - before < 128 * 1024,
        "1,000 connections grew the server by {} KiB",
        during - before
    );
    drop(held);
}

#[test]
fn one_user_may_hold_only_so_many_sftp_connections() {
    let (s, port) = start(Backend::Sqlite, "max_connections_per_user = 2\n");
    let script = "import paramiko, sys, time\n\
        port = int(sys.argv[1])\n\
        def login():\n\
        \x20   t = paramiko.Transport(('127.0.0.1', port))\n\
        \x20   t.connect(username='alice', password='alice-password')\n\
        \x20   return t\n\
        first, second = login(), login()\n\
        try:\n\
        \x20   login(); print('third signed in')\n\
        except paramiko.AuthenticationException:\n\
        \x20   print('third refused')\n\
        first.close()\n\
        for _ in range(50):\n\
        \x20   try:\n\
        \x20       login(); print('after a close: signed in'); break\n\
        \x20   except paramiko.AuthenticationException:\n\
        \x20       time.sleep(0.1)\n";
    let out = run_ok(Command::new("python3").args(["-c", script, &port.to_string()]));
    assert!(out.contains("third refused"), "{out}");
    assert!(out.contains("after a close: signed in"), "{out}");
    // The refusal is audited as a failure with its reason, not as a sign-in.
    let audit = s.audit();
    let refused = audit_records(&audit, "SignInFailed", 2, "too many connections");
    // One or more: a sign-in racing the first connection's close may be refused too.
    assert!(!refused.is_empty(), "{audit:?}");
    assert!(refused[0]["user_id"].is_number(), "{:?}", refused[0]);
    assert_eq!(
        audit_records(&audit, "SignIn", 2, "").len(),
        3,
        "only the admitted sign-ins are recorded as such"
    );
}

/// Two SFTP connections of one user share the user's immutable session; each one's uploads are
/// audited with the address of its own connection, not the first one's.
#[test]
fn each_connection_is_audited_with_its_own_address() {
    let (s, port) = start(Backend::Sqlite, "");
    let script = "import io, socket, sys, paramiko\n\
        port = int(sys.argv[1])\n\
        for source in ('127.0.0.1', '127.0.0.2'):\n\
        \x20   sock = socket.create_connection(('127.0.0.1', port), source_address=(source, 0))\n\
        \x20   t = paramiko.Transport(sock)\n\
        \x20   t.connect(username='alice', password='alice-password')\n\
        \x20   s = paramiko.SFTPClient.from_transport(t)\n\
        \x20   s.putfo(io.BytesIO(source.encode()), '/Home/alice/from-' + source + '.txt')\n\
        \x20   t.close()\n\
        print('done')\n";
    let out = run_ok(Command::new("python3").args(["-c", script, &port.to_string()]));
    assert!(out.contains("done"), "{out}");
    let audit = s.audit();
    for source in ["127.0.0.1", "127.0.0.2"] {
        let upload = audit
            .iter()
            .find(|r| {
                r["operation"] == "FileUploaded"
                    && r["path"]
                        .as_str()
                        .is_some_and(|p| p.ends_with(&format!("from-{source}.txt")))
            })
            .unwrap_or_else(|| panic!("no upload from {source}"));
        assert_eq!(upload["client_ip"], source, "{upload}");
    }
    // And they did share one session (the spec's rule for SFTP).
    let tags: std::collections::HashSet<_> = audit
        .iter()
        .filter(|r| r["operation"] == "FileUploaded")
        .map(|r| r["session_tag"].clone())
        .collect();
    assert_eq!(tags.len(), 1);
}
