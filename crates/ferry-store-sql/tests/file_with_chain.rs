//! `MetadataStore::file_with_chain` on both engines answers what `file` and then
//! `permission_chain` answer (PostgreSQL reads both in one query): grants to the user and to
//! a group, inheritance, a deleted folder, a user with nothing, a file that does not exist.

use ferry_core::Timestamp;
use ferry_core::domain::{File, Folder, FolderType, Grant, Grantee, NewUser, Permissions, Role};
use ferry_core::store::MetadataStore;
use ferry_store_sql::{SqlStore, StoreOptions, connect};
use ferry_testkit::Backend;

/// The root folder every database starts with (migration 0002).
const ROOT: i64 = 1;

async fn store(backend: Backend, dir: &tempfile::TempDir) -> SqlStore {
    let url = backend.fresh_database_url(dir.path());
    connect(&url, &StoreOptions::default()).await.unwrap()
}

fn folder(parent: i64, name: &str, inherit: bool) -> Folder {
    Folder {
        id: 0,
        parent_id: Some(parent),
        name: name.into(),
        folder_type: FolderType::Regular,
        description: String::new(),
        inherit_permissions: inherit,
        owner_user_id: None,
        created_at: Timestamp(1),
        modified_at: Timestamp(1),
        created_by: None,
        modified_by: None,
        deleted: false,
    }
}

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

#[tokio::test]
async fn agrees_with_file_then_chain_on_sqlite() {
    agrees_with_file_then_chain(Backend::Sqlite).await;
}

#[tokio::test]
async fn agrees_with_file_then_chain_on_postgres() {
    agrees_with_file_then_chain(Backend::Postgres).await;
}
