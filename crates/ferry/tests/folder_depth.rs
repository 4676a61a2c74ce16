//! Folders nest at most 64 names deep (`MAX_FOLDER_DEPTH`). Every check on a folder reads the
//! folders above it, so before, a member who made a chain of 3,000 folders in their home (each
//! creation slower than the last) made every request on it cost milliseconds and a ZIP of it
//! 9 seconds of the server's work. Tried over the JSON API, SFTP's `MKDIR` (curl), FTPS's `MKD`
//! (ftplib) and a move that would carry a subtree below the limit.

#[path = "folders/api.rs"]
mod api;
mod common;

use api::Api;
use common::file_clients::{ftplib_as, sftp_quote_as};
use common::{Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(no_folder_nests_deeper_than_64_names);

/// ftplib's `MKD` of `path` as `user`: `made`, or the server's refusal.
fn ftps_mkd(port: u16, user: &str, path: &str) -> String {
    let body = "try: f.mkd(sys.argv[1]); print('made')\nexcept ftplib.error_perm as e: print(e)";
    ftplib_as(port, user, body, &[path])
}

/// curl's SFTP `mkdir` of `path` as `user`: whether it succeeded.
fn sftp_mkdir(port: u16, user: &str, path: &str) -> bool {
    sftp_quote_as(port, user, &format!("mkdir {path}"))
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
