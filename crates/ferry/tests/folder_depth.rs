//! Folders nest at most 64 names deep (`MAX_FOLDER_DEPTH`). Every check on a folder reads the
//! folders above it, so before, a member who made a chain of 3,000 folders in their home (each
//! creation slower than the last) made every request on it cost milliseconds and a ZIP of it
//! 9 seconds of the server's work. Tried over the JSON API, SFTP's `MKDIR` (curl), FTPS's `MKD`
//! (ftplib) and a move that would carry a subtree below the limit.

#[path = "folders/api.rs"]
mod api;
mod common;

use std::process::Command;

use api::Api;
use common::{Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(no_folder_nests_deeper_than_64_names);

/// ftplib's `MKD` of `path` as `user`: the reply, or the server's refusal.
fn ftps_mkd(port: u16, user: &str, path: &str) -> String {
    let script = format!(
        "import ftplib, ssl, sys\n\
         from reusing_tls import ReusingFTP_TLS\n\
         c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE\n\
         f = ReusingFTP_TLS(context=c, timeout=20); f.connect('127.0.0.1', {port})\n\
         f.auth(); f.login('{user}', '{user}-password'); f.prot_p()\n\
         try: f.mkd(sys.argv[1]); print('made')\n\
         except ftplib.error_perm as e: print(e)\n\
         f.quit()\n"
    );
    let out = Command::new("python3")
        .env(
            "PYTHONPATH",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ftps"),
        )
        .args(["-c", &script, path])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// curl's (libssh2's) SFTP `mkdir` of `path` as `user`: whether it succeeded.
fn sftp_mkdir(port: u16, user: &str, path: &str) -> bool {
    Command::new("curl")
        .args(["-sS", "-k", "-l", "-o", "/dev/null"])
        .args(["-u", &format!("{user}:{user}-password")])
        .args(["-Q", &format!("mkdir {path}")])
        .arg(format!("sftp://127.0.0.1:{port}/"))
        .status()
        .unwrap()
        .success()
}

fn no_folder_nests_deeper_than_64_names(backend: Backend) {
    let s = Server::start_with(
        backend,
        "[sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\n",
    );
    s.add_user("bob", "member", "bob-password");
    let b = Api::new(&s, "bob", "bob-password");
    // /Home/bob is two names; 62 more make the deepest folder allowed.
    let mut chain = vec![b.home()];
    let mut path = String::from("/Home/bob");
    for _ in 0..62 {
        chain.push(b.create(*chain.last().unwrap(), "d"));
        path.push_str("/d");
    }
    let deepest = *chain.last().unwrap();
    let (status, body) = b.call(
        "CreateFolder",
        json!({"parentFolderID": deepest, "name": "too-deep"}),
    );
    assert_error(&(status, body.clone()), 400, 110);
    assert!(
        body["Message"].as_str().unwrap().contains("at most 64"),
        "{body}"
    );
    let too_deep = format!("{path}/too-deep");
    assert!(!sftp_mkdir(s.sftp_port(), "bob", &too_deep));
    let said = ftps_mkd(s.ftps_port(), "bob", &too_deep);
    assert!(said.starts_with('5'), "{said}");
    assert!(b.names(deepest).is_empty(), "nothing was made");
    // One level up there is room for one more, on every wire.
    let above = format!("{}/by-sftp", &path[..path.len() - 2]);
    assert!(sftp_mkdir(s.sftp_port(), "bob", &above));
    let above = format!("{}/by-ftps", &path[..path.len() - 2]);
    assert_eq!(ftps_mkd(s.ftps_port(), "bob", &above), "made");

    // A move counts what it carries: a folder with one below it fits only where both do.
    let home = chain[0];
    let top = b.create(home, "top");
    b.create(top, "inner");
    let (status, body) = b.call(
        "MoveFolder",
        json!({"folderID": top, "newParentFolderID": chain[61]}),
    );
    assert_error(&(status, body), 400, 110);
    let beside = ["by-ftps", "by-sftp", "d"];
    assert_eq!(b.names(chain[61]), beside, "nothing moved");
    b.ok(
        "MoveFolder",
        json!({"folderID": top, "newParentFolderID": chain[60]}),
    );
    assert_eq!(b.names(chain[60]), ["d", "top"]);
}
