//! Storage quotas (`[files] user_quota`, `ferry user quota`). Before, nothing bounded what one
//! account stored: any member (or anyone holding one of their upload links, who uploads as
//! them) could fill the disk, and a full disk refuses every user's uploads and, with the
//! database on it, every sign-in. Now an upload that would take its user past their quota is
//! refused on every protocol (HTTP 507 with code 209, FTPS 552, an SFTP failure saying so),
//! before its bytes are taken when it declares its length and as they arrive when it does
//! not; nothing of it is stored, and its refusal is audited. Every version the user uploaded
//! counts, in whole 4 KiB blocks and one at least (so the quota bounds how many files they make
//! too), a deleted file's until its content is purged.

mod common;

use std::process::Command;

use common::file_clients::ftplib_as;
use common::web::Browser;
use common::{ADMIN, ADMIN_PASSWORD, APP, Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(
    an_upload_past_the_quota_is_refused_on_every_protocol_and_stores_nothing,
    the_purge_gives_a_deleted_files_bytes_back,
    uploads_sent_at_once_cannot_pass_the_quota_together
);

const KIB: usize = 1024;

/// A server with SFTP and FTPS, every user bounded to 1 MiB, and quinn, a member.
fn quota_server(backend: Backend, extra: &str) -> (Server, String, i64) {
    let s = Server::start_with(
        backend,
        &format!(
            "[sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\n\
             passive_ports = \"40000-49999\"\n{extra}"
        ),
    );
    s.add_user("quinn", "member", "quinn-password");
    let sid = s.open("quinn", "quinn-password", APP).0;
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": sid}));
    (s, sid, home["FolderID"].as_i64().unwrap())
}

/// paramiko's upload of `size` bytes as quinn: "stored", or "refused" and the server's reason.
/// Its `CLOSE` is sent by hand: paramiko's `close()` swallows a refusal.
fn sftp_put(s: &Server, name: &str, size: usize) -> String {
    let script = "import sys, paramiko\n\
        t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))\n\
        t.connect(username='quinn', password='quinn-password')\n\
        s = paramiko.SFTPClient.from_transport(t)\n\
        try:\n\
        \x20   f = s.open('/Home/quinn/' + sys.argv[2], 'wb')\n\
        \x20   f.write(b'7' * int(sys.argv[3]))\n\
        \x20   f.flush()\n\
        \x20   f._closed = True\n\
        \x20   s._request(paramiko.sftp.CMD_CLOSE, f.handle)\n\
        \x20   print('stored')\n\
        except IOError as e:\n\
        \x20   print('refused', e)\n";
    let out = Command::new("python3")
        .args(["-c", script, &s.sftp_port().to_string(), name])
        .arg(size.to_string())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// ftplib's FTPS upload of `size` bytes as quinn: "stored", or "refused" and the reply.
fn ftps_put(s: &Server, name: &str, size: usize) -> String {
    ftplib_as(
        s.ftps_port(),
        "quinn",
        "try:\n    f.storbinary('STOR ' + sys.argv[1], io.BytesIO(b'8' * int(sys.argv[2])))\n    \
         print('stored')\nexcept ftplib.all_errors as e:\n    print('refused', e)",
        &[name, &size.to_string()],
    )
}

/// curl's chunked `PUT` (no length declared) of `size` bytes: the status and the body.
fn chunked_put(s: &Server, sid: &str, home: i64, name: &str, size: usize) -> (u16, String) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), vec![9u8; size]).unwrap();
    let out = Command::new("curl")
        .args(["-sS", "-X", "PUT", "-w", "\n%{http_code}"])
        .args(["-H", &format!("X-Session-ID: {sid}")])
        .args(["-H", "Transfer-Encoding: chunked", "--data-binary"])
        .arg(format!("@{}", file.path().display()))
        .arg(format!("{}/api/v1/folders/{home}/files/{name}", s.base))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (status.parse().unwrap(), body.to_string())
}

/// The quota quinn's session is told (`GetServerSettings`), in bytes (0: none).
fn quota_seen(s: &Server, sid: &str) -> i64 {
    let (_, settings) = s.call("GetServerSettings", json!({"sessionID": sid}));
    settings["StorageQuotaBytes"].as_i64().unwrap()
}

/// `ferry user quota quinn SETTING`, then waits until quinn's session sees `bytes` (at once on
/// SQLite; on PostgreSQL the session cache learns of the change from the database's notice).
fn set_quota(s: &Server, sid: &str, setting: &str, bytes: i64) {
    s.ferry_ok(&["user", "quota", "quinn", setting], None);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while quota_seen(s, sid) != bytes {
        assert!(std::time::Instant::now() < deadline, "{setting}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn names(s: &Server, sid: &str) -> Vec<String> {
    let mut n: Vec<String> = s
        .home_files(sid)
        .iter()
        .map(|f| f["Name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

fn an_upload_past_the_quota_is_refused_on_every_protocol_and_stores_nothing(backend: Backend) {
    let (s, sid, home) = quota_server(backend, "[files]\nuser_quota = \"1M\"\n");
    // 600 KiB fits; 600 KiB more, declared, is refused before its bytes are taken.
    assert_eq!(
        s.put_file(&sid, home, "first.bin", "", &vec![1u8; 600 * KIB])
            .0,
        200
    );
    let refused = s.put_file(&sid, home, "second.bin", "", &vec![2u8; 600 * KIB]);
    assert_error(&refused, 507, 209);
    let message = refused.1["Message"].as_str().unwrap();
    assert!(
        message.contains("600 KiB stored of 1 MiB"),
        "the refusal says where the user stands: {message}"
    );
    // Undeclared: refused as the bytes arrive.
    let (status, body) = chunked_put(&s, &sid, home, "chunked.bin", 600 * KIB);
    assert_eq!(status, 507, "{body}");
    assert!(body.contains("\"ErrorCode\":209"), "{body}");
    // A new version counts as much as a new file: the old one stays stored.
    assert_error(
        &s.put_file(&sid, home, "first.bin", "", &vec![3u8; 600 * KIB]),
        507,
        209,
    );
    // What still fits goes through: 700 KiB stored.
    assert_eq!(
        s.put_file(&sid, home, "small.bin", "", &vec![4u8; 100 * KIB])
            .0,
        200
    );
    // SFTP and FTPS are bounded the same (400 KiB more would be 1,100 KiB).
    let sftp = sftp_put(&s, "sftp.bin", 400 * KIB);
    assert!(
        sftp.starts_with("refused over the storage quota") && sftp.ends_with("(error 209)"),
        "SFTP: {sftp}"
    );
    let ftps = ftps_put(&s, "ftps.bin", 400 * KIB);
    assert!(
        ftps.starts_with("refused 552 over the storage quota"),
        "FTPS: {ftps}"
    );
    assert_eq!(names(&s, &sid), ["first.bin", "small.bin"]);
    let content = s.dir.path().join("content").join("staging");
    if content.exists() {
        assert_eq!(std::fs::read_dir(&content).unwrap().count(), 0);
    }
    assert!(
        s.ferry_ok(&["user", "quota", "quinn"], None)
            .contains("quinn: quota 1 MiB (set: default), stored 700 KiB"),
    );
    // SFTP's statvfs (`df` in OpenSSH's sftp, rclone's `about`) tells the room within it:
    // f_frsize × f_blocks, f_frsize × f_bavail (paramiko sends the request raw).
    let script = "import sys, paramiko\n\
        t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))\n\
        t.connect(username='quinn', password='quinn-password')\n\
        s = paramiko.SFTPClient.from_transport(t)\n\
        _, m = s._request(paramiko.sftp.CMD_EXTENDED, 'statvfs@openssh.com', '.')\n\
        v = [m.get_int64() for _ in range(11)]\n\
        print(v[1] * v[2], v[1] * v[4])\n";
    let out = Command::new("python3")
        .args(["-c", script, &s.sftp_port().to_string()])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{} {}", 1024 * KIB, 324 * KIB),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every refusal is in the audit, with why. Those refused before their bytes are written
    // once a minute per user and address (a client retrying in a loop writes no record per
    // try): first.bin's new version was counted in second.bin's window.
    let failed: Vec<String> = s
        .audit()
        .into_iter()
        .filter(|r| {
            r["operation"] == "UploadFailed"
                && r["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("over the storage quota"))
        })
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        failed,
        ["second.bin", "chunked.bin", "sftp.bin", "ftps.bin"]
    );

    // A deleted file's bytes stay on the disk until the purge, and count until then.
    let first = s.home_files(&sid)[0]["FileID"].clone();
    let (status, _) = s.call("DeleteFile", json!({"sessionID": sid, "fileID": first}));
    assert_eq!(status, 204);
    assert_error(
        &s.put_file(&sid, home, "again.bin", "", &vec![5u8; 400 * KIB]),
        507,
        209,
    );

    // The account's own quota wins over the server's, and is audited; the user's session
    // learns it (GetServerSettings; on PostgreSQL through the session cache's notice).
    assert_eq!(quota_seen(&s, &sid), 1 << 20);
    set_quota(&s, &sid, "2G", 2 << 30);
    assert_eq!(
        s.put_file(&sid, home, "again.bin", "", &vec![5u8; 400 * KIB])
            .0,
        200
    );
    assert_eq!(sftp_put(&s, "sftp.bin", 400 * KIB), "stored");
    assert_eq!(ftps_put(&s, "ftps.bin", 400 * KIB), "stored");
    set_quota(&s, &sid, "none", 0);
    assert_eq!(
        s.put_file(&sid, home, "big.bin", "", &vec![6u8; 3 * 1024 * KIB])
            .0,
        200
    );
    set_quota(&s, &sid, "default", 1 << 20);
    assert_error(&s.put_file(&sid, home, "tiny.bin", "", b"x"), 507, 209);
    let changes: Vec<String> = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "UserUpdated")
        .filter_map(|r| r["detail"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        changes,
        [
            "storage quota default -> 2 GiB",
            "storage quota 2 GiB -> none",
            "storage quota none -> default"
        ]
    );
    // Bad sizes change nothing.
    for bad in ["-5", "1.5G", "ten", "9999999999T"] {
        let out = s.ferry(&["user", "quota", "quinn", bad], None);
        assert!(!out.status.success(), "{bad}");
    }
    assert!(
        s.ferry_ok(&["user", "quota", "quinn"], None)
            .contains("(set: default)")
    );
    let verify = s.ferry_ok(&["audit", "verify"], None);
    assert!(verify.contains("intact"), "{verify}");
}

/// Once the purge removes a deleted file's content, its bytes no longer count.
fn the_purge_gives_a_deleted_files_bytes_back(backend: Backend) {
    let (s, sid, home) = quota_server(
        backend,
        "[files]\nuser_quota = \"1M\"\npurge_after_days = 0\n\
         [sessions]\nsweep_interval_seconds = 1\n",
    );
    assert_eq!(
        s.put_file(&sid, home, "first.bin", "", &vec![1u8; 900 * KIB])
            .0,
        200
    );
    // A second version of 100 KiB: 1,000 KiB stored, over two versions.
    assert_eq!(
        s.put_file(&sid, home, "first.bin", "", &vec![2u8; 100 * KIB])
            .0,
        200
    );
    assert_error(
        &s.put_file(&sid, home, "next.bin", "", &vec![3u8; 100 * KIB]),
        507,
        209,
    );
    let first = s.home_files(&sid)[0]["FileID"].clone();
    let (status, _) = s.call("DeleteFile", json!({"sessionID": sid, "fileID": first}));
    assert_eq!(status, 204);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !s
        .ferry_ok(&["user", "quota", "quinn"], None)
        .contains("stored 0 bytes")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the purge did not give the bytes back"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(
        s.put_file(&sid, home, "next.bin", "", &vec![3u8; 1024 * KIB])
            .0,
        200
    );
}

/// Sixteen uploads of 300 KiB sent at once against 1 MiB: each alone would fit, and before
/// any is recorded none is stored; the uploads in progress count toward the quota together,
/// so at most three are stored, the rest refused (507, 209), and what is stored is within it.
fn uploads_sent_at_once_cannot_pass_the_quota_together(backend: Backend) {
    let (s, sid, home) = quota_server(backend, "[files]\nuser_quota = \"1M\"\n");
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let uploads: Vec<_> = (0..16)
            .map(|i| {
                let (s, sid) = (&s, &sid);
                scope.spawn(move || {
                    s.put_file(
                        sid,
                        home,
                        &format!("at-once-{i}.bin"),
                        "",
                        &vec![i as u8; 300 * KIB],
                    )
                    .0
                })
            })
            .collect();
        uploads.into_iter().map(|u| u.join().unwrap()).collect()
    });
    let stored = statuses.iter().filter(|&&st| st == 200).count();
    assert!(
        (1..=3).contains(&stored) && statuses.iter().all(|&st| st == 200 || st == 507),
        "{statuses:?}"
    );
    assert_eq!(names(&s, &sid).len(), stored);
    assert!(
        s.ferry_ok(&["user", "quota", "quinn"], None)
            .contains(&format!("stored {} KiB", 300 * stored)),
    );
}

/// The console shows what each user has stored of their quota and sets it, through the same
/// Service call as the CLI; nobody else reaches the form.
#[test]
fn the_console_shows_and_sets_quotas() {
    let (s, sid, home) = quota_server(Backend::Sqlite, "[files]\nuser_quota = \"1M\"\n");
    assert_eq!(
        s.put_file(&sid, home, "half.bin", "", &vec![1u8; 512 * KIB])
            .0,
        200
    );
    // A file counts whole blocks of 4 KiB, one at least: a quota bounds how many files an
    // account makes, not only their bytes.
    assert_eq!(s.put_file(&sid, home, "one-byte.txt", "", b"x").0, 200);
    let mut root = Browser::new(&s);
    assert_eq!(root.sign_in(ADMIN, ADMIN_PASSWORD).status, 303);
    let token = root.csrf("/admin/users");
    assert!(root.get("/admin/users").body.contains("516 KiB of 1 MiB"));
    let set = |b: &mut Browser, quota: &str| {
        b.post(
            "/admin/users/quota",
            &[("csrf", &token), ("name", "quinn"), ("quota", quota)],
        )
        .status
    };
    assert_eq!(set(&mut root, "3M"), 303);
    let page = root.get("/admin/users").body;
    assert!(
        page.contains("516 KiB of 3 MiB") && page.contains(r#"name="quota" value="3 MiB""#),
        "{page}"
    );
    assert_eq!(set(&mut root, "three megabytes"), 400);
    assert!(
        s.ferry_ok(&["user", "quota", "quinn"], None)
            .contains("quota 3 MiB (set: 3 MiB)")
    );
    // A member is answered as if the form did not exist.
    let mut quinn = Browser::new(&s);
    assert_eq!(quinn.sign_in("quinn", "quinn-password").status, 303);
    let home_page = quinn.get("/").location.unwrap();
    let theirs = quinn.csrf(&home_page);
    let r = quinn.post(
        "/admin/users/quota",
        &[("csrf", &theirs), ("name", "quinn"), ("quota", "none")],
    );
    assert_eq!(r.status, 404);
    assert!(
        s.ferry_ok(&["user", "quota", "quinn"], None)
            .contains("(set: 3 MiB)")
    );
}
