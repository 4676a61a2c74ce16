//! Sessions kept by key (migration 0024 and `session_keys.rs`) on both engines: a database
//! written before holds session IDs in `sessions`, in shared links and in tool grants; once a
//! node of this version has started on it, none is left, each session is found by its ID's key
//! (so every client stays signed in), each link still ends with its session, and every grant
//! held (stored as issued, some naming an ID) is gone: its page asks to be opened again.

use ferry_core::domain::SessionId;
use ferry_core::store::MetadataStore;
use ferry_crypto::tool_token::ToolTokenKeys;
use ferry_store_sql::{StoreOptions, connect};
use ferry_testkit::Backend;
use older::one_connection;
use sqlx::Row;

mod older;

/// The database as a version before 0024 left it: migrated up to 0023, with a user, two of
/// their sessions, a link naming one, and grants old and new.
async fn written_before_keys(url: &str, backend: Backend, ids: [SessionId; 2]) {
    let pool = older::migrated_up_to(url, backend, 23).await;
    // (statement, the ID it stores, if any)
    let statements: [(&'static str, Option<String>); 6] = [
        (
            "INSERT INTO users (id, name, name_key, role, created_at) VALUES (7, 'ann', 'ann', 2, 1)",
            None,
        ),
        (
            "INSERT INTO sessions (id, user_id, application_id, immutable, created_at, \
             last_used_at) VALUES ($1, 7, 2, 1, 1, 1)",
            Some(ids[0].to_wire()),
        ),
        (
            "INSERT INTO sessions (id, user_id, application_id, immutable, created_at, \
             last_used_at, expires_at) VALUES ($1, 7, 1, 1, 1, 1, 9999999999999)",
            Some(ids[1].to_wire()),
        ),
        (
            "INSERT INTO share_links (id, user_id, session_id, kind, folder_id, created_at, \
             expires_at) VALUES (3, 7, $1, 'upload', 1, 1, 9999999999999)",
            Some(ids[1].to_wire()),
        ),
        (
            "INSERT INTO tool_grants (id, page_key, ip, token_digest, body, created_at, \
             expires_at) VALUES ('old', 'p1', '192.0.2.1', 'd1', $1, 1, 9999999999999)",
            Some(format!(
                "{{\"kind\":\"upload\",\"folder\":1,\"session\":\"{}\"}}",
                ids[1].to_wire()
            )),
        ),
        (
            "INSERT INTO tool_grants (id, page_key, ip, token_digest, body, created_at, \
             expires_at) VALUES ('new', 'p2', '192.0.2.1', 'd2', \
             '{\"kind\":\"upload\",\"folder\":1}', 1, 9999999999999)",
            None,
        ),
    ];
    for (sql, value) in statements {
        let q = sqlx::query(sql);
        let q = match value {
            Some(v) => q.bind(v),
            None => q,
        };
        q.execute(&pool).await.unwrap();
    }
    pool.close().await;
}

/// Every text value of the tables that held session IDs, to look for one.
async fn stored_text(url: &str, backend: Backend) -> String {
    let pool = one_connection(url, backend).await;
    let mut all = String::new();
    for sql in [
        "SELECT id AS t FROM sessions",
        "SELECT sealed_session AS t FROM share_links",
        "SELECT COALESCE(session_key, '') AS t FROM share_links",
        "SELECT body AS t FROM tool_grants",
    ] {
        for row in sqlx::query(sql).fetch_all(&pool).await.unwrap() {
            all.push_str(&row.get::<String, _>("t"));
            all.push('\n');
        }
    }
    pool.close().await;
    all
}

/// The tools' keys a node may start with.
fn tool_keys() -> ToolTokenKeys {
    ToolTokenKeys::from_base64("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=", None, false).unwrap()
}

async fn ids_move_to_their_keys(backend: Backend, keys: Option<ToolTokenKeys>) {
    let dir = tempfile::tempdir().unwrap();
    let url = backend.fresh_database_url(dir.path());
    let ids = [SessionId::generate(), SessionId::generate()];
    written_before_keys(&url, backend, ids).await;

    let options = StoreOptions {
        tool_keys: keys.clone(),
        ..StoreOptions::default()
    };
    let store = connect(&url, &options).await.unwrap();
    let text = stored_text(&url, backend).await;
    for id in &ids {
        assert!(
            !text.contains(&id.to_wire()),
            "an ID is still stored:\n{text}"
        );
        let (session, user) = store
            .session_with_user(&id.key())
            .await
            .unwrap()
            .expect("the session is found by its key");
        assert_eq!((session.key, user.id), (id.key(), 7));
    }
    let link = store.share_link(3).await.unwrap().unwrap();
    assert_eq!(
        link.session,
        ids[1].key(),
        "the link still ends its session"
    );
    match &keys {
        // Sealed with the tools' keys: the link can be shown again, naming its session.
        Some(keys) => {
            let sealed = link.sealed_session.as_deref().expect("sealed");
            assert_eq!(keys.open_link_session(sealed), Some(*ids[1].0.as_bytes()));
        }
        None => assert_eq!(link.sealed_session, None, "nothing to issue its token from"),
    }
    assert!(
        !text.contains("\"kind\""),
        "every grant held, stored as issued, is gone"
    );
    drop(store);

    // A second start finds nothing more to move and changes nothing.
    let again = connect(&url, &options).await.unwrap();
    assert_eq!(stored_text(&url, backend).await, text);
    assert!(
        again
            .session_with_user(&ids[0].key())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn ids_move_to_their_keys_on_sqlite() {
    ids_move_to_their_keys(Backend::Sqlite, Some(tool_keys())).await;
}

#[tokio::test]
async fn ids_move_to_their_keys_on_postgres() {
    ids_move_to_their_keys(Backend::Postgres, Some(tool_keys())).await;
}

#[tokio::test]
async fn without_the_tools_keys_ids_move_and_links_cannot_be_shown_again() {
    ids_move_to_their_keys(Backend::Sqlite, None).await;
}
