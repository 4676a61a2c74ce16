//! What everyone's Show on the navigation folders (`/`, `/Home`, `/Shared`) lets them see:
//! those folders, and nothing below them that no grant shows them. Before, the tree passed
//! that Show down to the inheriting folders below `/Shared`, so every user saw every shared
//! folder's name, and the names of everything below it, over SFTP, FTPS and in the web
//! client, while the JSON API answered "folder not found" for the same folders.

mod common;

use std::process::Command;

use common::web::Browser;
use common::{ADMIN, ADMIN_PASSWORD, APP, Server};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(shared_folders_show_only_what_a_grant_shows);

const SHARED: i64 = 3;

/// curl's (libssh2's) listing of an SFTP path as `user`: its names, or `None` if refused.
fn sftp_names(port: u16, user: &str, path: &str) -> Option<Vec<String>> {
    let out = Command::new("curl")
        .args(["-sS", "-k", "-l", "-u", &format!("{user}:{user}-password")])
        .arg(format!("sftp://127.0.0.1:{port}{path}"))
        .output()
        .unwrap();
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|n| *n != "." && *n != "..")
            .map(str::to_string)
            .collect()
    })
}

/// ftplib's `MLSD` of each path as `user`: one line per path, its names or `refused`.
fn ftps_names(port: u16, user: &str, paths: &[&str]) -> String {
    let script = format!(
        "import ftplib, ssl, sys\n\
         from reusing_tls import ReusingFTP_TLS\n\
         c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE\n\
         f = ReusingFTP_TLS(context=c, timeout=20); f.connect('127.0.0.1', {port})\n\
         f.auth(); f.login('{user}', '{user}-password'); f.prot_p()\n\
         for p in sys.argv[1:]:\n\
         \x20   try: print(p, sorted(n for n, _ in f.mlsd(p) if n not in ('.', '..')))\n\
         \x20   except ftplib.error_perm as e: print(p, 'refused', e)\n\
         f.quit()\n"
    );
    let out = Command::new("python3")
        .env(
            "PYTHONPATH",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ftps"),
        )
        .args(["-c", &script])
        .args(paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn shared_folders_show_only_what_a_grant_shows(backend: Backend) {
    let s = Server::start_with(
        backend,
        "[sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\n",
    );
    let alice = s.add_user("alice", "member", "alice-password");
    let bob = s.add_user("bob", "member", "bob-password");
    let admin = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP).0;
    let create = |parent: i64, name: &str| {
        let (status, f) = s.call(
            "CreateFolder",
            json!({"sessionID": admin, "parentFolderID": parent, "name": name}),
        );
        assert_eq!(status, 200, "{f}");
        f["FolderID"].as_i64().unwrap()
    };
    let grant = |folder: i64, user: i64, bits: i64| {
        let (status, body) = s.call(
            "SetFolderPermissionList",
            json!({"sessionID": admin, "folderID": folder, "permissionList": [{"Permission": bits, "UserID": user}]}),
        );
        assert_eq!(status, 200, "{body}");
    };
    // Both inherit from /Shared, as every folder made there does.
    let deal = create(SHARED, "Acquisition");
    create(deal, "Target-Corp");
    let open = create(SHARED, "Handbook");
    create(open, "Chapters");
    grant(deal, alice, 255);
    grant(open, bob, 1 | 2);

    let (sftp, ftps) = (s.sftp_port(), s.ftps_port());
    // Bob: the folder granted to him and what inherits it; nothing of Alice's.
    assert_eq!(
        sftp_names(sftp, "bob", "/Shared/").as_deref(),
        Some(&["Handbook".to_string()][..])
    );
    assert_eq!(
        sftp_names(sftp, "bob", "/Shared/Handbook/").as_deref(),
        Some(&["Chapters".to_string()][..])
    );
    assert_eq!(sftp_names(sftp, "bob", "/Shared/Acquisition/"), None);
    assert_eq!(
        sftp_names(sftp, "bob", "/Shared/Acquisition/Target-Corp/"),
        None
    );
    let said = ftps_names(
        ftps,
        "bob",
        &[
            "/Shared",
            "/Shared/Acquisition",
            "/Shared/Acquisition/Target-Corp",
        ],
    );
    assert!(said.contains("/Shared ['Handbook']\n"), "{said}");
    assert!(said.contains("/Shared/Acquisition refused 550"), "{said}");
    assert!(
        said.contains("/Shared/Acquisition/Target-Corp refused 550"),
        "{said}"
    );
    let mut web = Browser::new(&s);
    assert_eq!(web.sign_in("bob", "bob-password").status, 303);
    let page = web.get(&format!("/web/folders/{SHARED}"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Handbook"), "{}", page.body);
    assert!(!page.body.contains("Acquisition"), "{}", page.body);
    assert_eq!(web.get(&format!("/web/folders/{deal}")).status, 404);
    // The JSON API agreed all along.
    let b = s.open_with("OpenImmutable", "bob", "bob-password", APP).0;
    let (status, _) = s.call("GetFolder", json!({"sessionID": b, "folderID": deal}));
    assert_eq!(status, 404);

    // Alice sees hers and what inherits it; the navigation folders still show to both.
    assert_eq!(
        sftp_names(sftp, "alice", "/Shared/").as_deref(),
        Some(&["Acquisition".to_string()][..])
    );
    assert_eq!(
        sftp_names(sftp, "alice", "/Shared/Acquisition/").as_deref(),
        Some(&["Target-Corp".to_string()][..])
    );
    let said = ftps_names(ftps, "alice", &["/", "/Shared/Acquisition"]);
    assert!(said.contains("/ ['Home', 'Shared']\n"), "{said}");
    assert!(
        said.contains("/Shared/Acquisition ['Target-Corp']\n"),
        "{said}"
    );
    let root = sftp_names(sftp, "bob", "/").unwrap();
    assert!(root.contains(&"Home".to_string()) && root.contains(&"Shared".to_string()));
}
