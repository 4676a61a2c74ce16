//! The data directory is a secret store (session IDs as issued, password hashes, every file's
//! bytes, the host key): what the real server makes there is its owner's alone, and a data
//! directory left open to other users (`mkdir` under umask 022 gives 0755, and Ferry itself
//! made it so before) is closed to them at start-up. Before this, a fresh server's
//! `ferry.db`, its WAL and every stored file were world-readable: any local account could read
//! live session IDs and everyone's files. The files holding the server's secrets (`*_file`
//! settings) must be closed to other users in the same way, or the start stops.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, failed_start};
use ferry_testkit::Backend;
use serde_json::json;

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Every entry under `dir`, depth first.
fn entries(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            entries(&p, out);
        }
        out.push(p);
    }
}

#[test]
fn what_the_server_stores_is_readable_by_its_owner_alone() {
    let dir = tempfile::Builder::new()
        .prefix("ferry-test-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let url = Backend::Sqlite.fresh_database_url(dir.path());
    let s = Server::start_in(
        dir,
        url,
        "[sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\n",
    );
    s.add_app(APP);
    let (session, _) = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let folder = home["FolderID"].as_i64().unwrap();
    // One kept in the database, one past [files] inline_max_kib in content/objects.
    for (name, size) in [("small.txt", 100), ("large.bin", 200 * 1024)] {
        let (status, _) = s.put_file(&session, folder, name, "", &vec![b'x'; size]);
        assert!(status == 200 || status == 201, "{name}: {status}");
    }

    let root = s.path();
    assert_eq!(mode(&root), 0o750, "the data directory is closed to others");
    assert!(
        s.log()
            .contains("the data directory was open to other users; closed to them"),
        "{}",
        s.log()
    );
    let mut made = Vec::new();
    entries(&root, &mut made);
    // The test wrote the configuration and the log; everything else is the server's.
    made.retain(|p| {
        !matches!(
            p.file_name().unwrap().to_str(),
            Some("ferry.toml" | "server.log")
        )
    });
    for must in [
        "ferry.db",
        "ferry.db-wal",
        "sftp-host-ed25519",
        "ftps-key.pem",
        "content/objects",
    ] {
        assert!(made.contains(&root.join(must)), "{must} missing: {made:?}");
    }
    let objects: Vec<_> = made
        .iter()
        .filter(|p| p.starts_with(root.join("content/objects")) && p.is_file())
        .collect();
    assert!(!objects.is_empty(), "the large file's content: {made:?}");
    for p in &made {
        assert_eq!(
            mode(p) & 0o077,
            0,
            "{} is {:o}, open to others",
            p.display(),
            mode(p)
        );
    }
}

/// A secret's file that other users may read (the tools' key forges every upload link, the
/// TOTP key opens every second factor) stops the start with a reason, as `[https] key_file`
/// does; closed to them (group read is fine), it is used. Before, any mode was used as given.
#[test]
fn a_secret_file_open_to_other_users_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("tools-key");
    std::fs::write(&key, "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=\n").unwrap();
    for (section, mode) in [("tools", 0o644), ("tools", 0o660), ("totp", 0o604)] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        let extra = if section == "tools" {
            "version_1 = false\n"
        } else {
            ""
        };
        let said = failed_start(&format!(
            "[{section}]\nkey_file = \"{}\"\n{extra}",
            key.display()
        ));
        assert!(
            said.contains(&format!("{section}.key_file")) && said.contains("open to other users"),
            "{section} {mode:o}: {said}"
        );
        assert!(!said.contains("q83vEjRW"), "the secret is not printed");
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let s = Server::start_with(
        Backend::Sqlite,
        &format!(
            "[tools]\nkey_file = \"{}\"\nversion_1 = false\n",
            key.display()
        ),
    );
    let (status, _) = s.get("/tools/upload?token=nothing");
    assert_eq!(status, 403, "the tools are on, with the key from the file");
}

/// A configuration file that holds a secret inline and that others may read is named in a
/// warning at start (the settings, never their values); without inline secrets, nothing.
#[test]
fn a_readable_configuration_file_holding_secrets_is_warned_of() {
    use common::TEST_KEY as KEY;
    let s = Server::start_with(Backend::Sqlite, common::TOOLS);
    let config = s.path().join("ferry.toml");
    assert_ne!(mode(&config) & 0o044, 0, "the tests write it readable");
    let log = s.log();
    assert!(
        log.contains("holds tools.key and other users on this machine may read it"),
        "{log}"
    );
    assert!(!log.contains(KEY), "the key is not logged");
    let plain = Server::start(Backend::Sqlite);
    assert!(!plain.log().contains("other users on this machine"));
}
