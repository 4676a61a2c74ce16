//! The reads and writes a store may combine into one query, on both engines, answer what their
//! parts answer one by one (PostgreSQL combines them: issue 21's round trips):
//! - `MetadataStore::file_with_chain` and `file_to_download` against `file` and then
//!   `permission_chain` (and the inline bytes, as `file_by_name_to_download` reads them
//!   with a file by name): grants to the user and to a group,
//!   inheritance, a deleted folder, a user with nothing, a file that does not exist;
//! - `chain_and_file_by_name` against `permission_chain`, `file_by_name` and `folder_path`
//!   (a child folder with the name), and
//!   `folder_path_from` against `folder`, `permission_chain` and `folder_path`;
//! - inside a grouped change, `folder_and_file_by_name` against `folder` and `file_by_name`,
//!   and `record_version` with inline bytes (a new file, then its next version).

use ferry_core::Timestamp;
use ferry_core::domain::{File, Grant, Grantee, NewUser, Permissions, Role};
use ferry_core::inline_content::InlineContents;
use ferry_core::store::{MetadataStore, NameInFolder};
use ferry_testkit::Backend;

mod fixtures;

use fixtures::{ROOT, folder, store};

fn user(name: &str) -> NewUser {
    NewUser {
        name: name.into(),
        domain_username: None,
        first_name: String::new(),
        last_name: String::new(),
        email: format!("{name}@example.test"),
        role: Role::Member,
        active: true,
        user_sync_id: None,
        password_hash: None,
    }
}

fn file(folder_id: i64, name: &str) -> File {
    File {
        id: 0,
        folder_id,
        name: name.into(),
        version: 1,
        size: 1,
        sha256: "0".repeat(64),
        content_key: format!("key-{name}"),
        created_at: Timestamp(1),
        modified_at: Timestamp(1),
        created_by: None,
        modified_by: None,
        deleted: false,
        client_modified_at: None,
    }
}

async fn agrees_with_file_then_chain(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    let mut tx = s.begin().await.unwrap();
    let alice = tx.insert_user(&user("alice"), Timestamp(1)).await.unwrap();
    let bob = tx.insert_user(&user("bob"), Timestamp(1)).await.unwrap();
    let group = tx.insert_group("readers", Timestamp(1)).await.unwrap();
    tx.add_group_member(group, alice).await.unwrap();
    let top = tx.insert_folder(&folder(ROOT, "top", false)).await.unwrap();
    let mid = tx.insert_folder(&folder(top, "mid", true)).await.unwrap();
    let low = tx.insert_folder(&folder(mid, "low", true)).await.unwrap();
    let gone = tx.insert_folder(&folder(top, "gone", true)).await.unwrap();
    let grant = |folder_id, permission, grantee| Grant {
        id: 0,
        folder_id,
        permission: Permissions(permission),
        grantee,
    };
    tx.replace_grants(
        top,
        &[
            grant(top, 3, Grantee::User(alice)),
            grant(top, 8, Grantee::Group(group)),
        ],
    )
    .await
    .unwrap();
    tx.replace_grants(
        mid,
        &[
            grant(mid, 16, Grantee::User(alice)),
            grant(mid, 1, Grantee::User(bob)),
        ],
    )
    .await
    .unwrap();
    let in_low = tx.insert_file(&file(low, "a.txt")).await.unwrap();
    let in_top = tx.insert_file(&file(top, "b.txt")).await.unwrap();
    let in_gone = tx.insert_file(&file(gone, "c.txt")).await.unwrap();
    let mut deleted = folder(top, "gone", true);
    deleted.id = gone;
    deleted.deleted = true;
    tx.update_folder(&deleted).await.unwrap();
    tx.commit().await.unwrap();

    for id in [in_low, in_top, in_gone, in_low + 1000] {
        for who in [alice, bob, bob + 1000] {
            let expected = match s.file(id).await.unwrap() {
                Some(f) => {
                    let chain = s.permission_chain(f.folder_id, who).await.unwrap();
                    Some((f, chain))
                }
                None => None,
            };
            let got = s.file_with_chain(id, who).await.unwrap();
            assert_eq!(got, expected, "file {id}, user {who} on {backend:?}");
        }
    }
    for (folder, name) in [
        (low, "a.txt"),
        (low, "b.txt"),
        (top, "b.txt"),
        (gone, "c.txt"),
        (top, "mid"),
        (mid, "low"),
    ] {
        for who in [alice, bob] {
            for f in [folder, folder + 1000] {
                let keys = [name.to_string()];
                let expected = NameInFolder {
                    chain: s.permission_chain(f, who).await.unwrap(),
                    file: s.file_by_name(f, name).await.unwrap(),
                    folder_has_it: !s.folder_path(f, &keys, who).await.unwrap().is_empty(),
                };
                let got = s.chain_and_file_by_name(f, who, name).await.unwrap();
                if f == top && name == "mid" {
                    assert!(got.folder_has_it, "{name} in {f} on {backend:?}");
                }
                assert_eq!(got, expected, "{name} in {f}, user {who} on {backend:?}");
            }
        }
    }
    let keys = |k: &[&str]| k.iter().map(|k| k.to_string()).collect::<Vec<_>>();
    for from in [ROOT, top, mid, gone, 9999] {
        for path in [
            keys(&[]),
            keys(&["top", "mid"]),
            keys(&["mid", "low"]),
            keys(&["nope"]),
        ] {
            for who in [alice, bob] {
                let mut expected = Vec::new();
                if let Some(start) = s.folder(from).await.unwrap() {
                    let chain = s.permission_chain(from, who).await.unwrap();
                    expected.push((start, chain[0].granted));
                    expected.extend(s.folder_path(from, &path, who).await.unwrap());
                }
                let got = s.folder_path_from(from, &path, who).await.unwrap();
                assert_eq!(
                    got, expected,
                    "{path:?} from {from}, user {who} on {backend:?}"
                );
            }
        }
    }
    // The walk from the root went somewhere, not an empty agreement.
    let walked = s
        .folder_path_from(ROOT, &keys(&["top", "mid", "low"]), alice)
        .await;
    assert_eq!(walked.unwrap().len(), 4);
    // The chain is there and carries the grants, not an empty agreement.
    let (_, chain) = s.file_with_chain(in_low, alice).await.unwrap().unwrap();
    assert_eq!(chain.len(), 4, "low, mid, top, root");
    assert_eq!(chain[1].granted, Permissions(16));
    assert_eq!(
        chain[2].granted,
        Permissions(3 | 8),
        "the user's and the group's"
    );
}

/// An upload's change on the grouped path: the folder and the name read together, a new file
/// recorded with its bytes, then its next version; what the change and then the store see.
async fn upload_reads_and_writes_agree(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    let mut tx = s.begin().await.unwrap();
    let alice = tx.insert_user(&user("alice"), Timestamp(1)).await.unwrap();
    let top = tx.insert_folder(&folder(ROOT, "top", false)).await.unwrap();
    tx.commit().await.unwrap();

    let mut new = file(top, "small.bin");
    new.content_key = "inline-first".into();
    let mut g = s.begin_grouped().await.unwrap();
    // Before the change writes (SQLite reads the committed database in-process).
    let (f, existing) = g.folder_and_file_by_name(top, "small.bin").await.unwrap();
    assert_eq!((f.map(|f| f.id), existing), (Some(top), None));
    assert_eq!(
        g.folder_and_file_by_name(9999, "x").await.unwrap(),
        (None, None)
    );
    new.id = g.record_version(&new, Some(b"first bytes")).await.unwrap();
    // After it wrote: on the change's own connection, the file it made.
    let (f, existing) = g.folder_and_file_by_name(top, "small.bin").await.unwrap();
    assert_eq!(f, g.folder(top).await.unwrap());
    assert_eq!(existing, g.file_by_name(top, "small.bin").await.unwrap());
    assert_eq!(
        existing.as_ref().map(|f| (f.id, f.version)),
        Some((new.id, 1))
    );
    let mut next = existing.unwrap();
    next.version = 2;
    next.size = 12;
    next.content_key = "inline-second".into();
    assert_eq!(
        g.record_version(&next, Some(b"second bytes"))
            .await
            .unwrap(),
        next.id
    );
    g.commit().await.unwrap();

    let f = s.file(new.id).await.unwrap().unwrap();
    assert_eq!((f.version, f.content_key.as_str()), (2, "inline-second"));
    assert_eq!(s.file_versions(f.id).await.unwrap().len(), 2);
    for (key, bytes) in [
        ("inline-first", "first bytes"),
        ("inline-second", "second bytes"),
    ] {
        let kept = s.inline_content(key).await.unwrap();
        assert_eq!(
            kept.as_deref(),
            Some(bytes.as_bytes()),
            "{key} on {backend:?}"
        );
    }
    let (got, chain, prefetched) = s.file_to_download(f.id, alice).await.unwrap().unwrap();
    assert_eq!((got, chain.len()), (f.clone(), 2));
    // PostgreSQL reads the bytes with the file; SQLite leaves them to an in-process read.
    let expected = (backend == Backend::Postgres).then(|| b"second bytes".to_vec());
    assert_eq!(prefetched, expected);
    let by_name = s.file_by_name_to_download(top, "small.bin").await.unwrap();
    assert_eq!(by_name, Some((f, expected)));
    let absent = s.file_by_name_to_download(top, "other.bin").await.unwrap();
    assert_eq!(absent, None);
}

#[tokio::test]
async fn upload_reads_and_writes_agree_on_sqlite() {
    upload_reads_and_writes_agree(Backend::Sqlite).await;
}

#[tokio::test]
async fn upload_reads_and_writes_agree_on_postgres() {
    upload_reads_and_writes_agree(Backend::Postgres).await;
}

#[tokio::test]
async fn agrees_with_file_then_chain_on_sqlite() {
    agrees_with_file_then_chain(Backend::Sqlite).await;
}

#[tokio::test]
async fn agrees_with_file_then_chain_on_postgres() {
    agrees_with_file_then_chain(Backend::Postgres).await;
}
