//! The shared transfer state ([`TransferState`]) on both engines: grants bounded per address
//! and in all, a reloaded page's grant renewed, and token file counts that stop at their limit,
//! give back, and are forgotten after their keeping.

use ferry_core::Timestamp;
use ferry_core::transfer_state::{GrantBounds, StoredGrant, TransferState};
use ferry_store_sql::{SqlStore, StoreOptions, connect};
use ferry_testkit::Backend;

async fn store(backend: Backend, dir: &tempfile::TempDir) -> SqlStore {
    let url = backend.fresh_database_url(dir.path());
    connect(&url, &StoreOptions::default()).await.unwrap()
}

fn grant(id: &str, ip: &str, page: &str, until: i64) -> StoredGrant {
    StoredGrant {
        id: id.into(),
        page_key: page.into(),
        ip: ip.into(),
        network: ip.into(),
        token_digest: format!("digest-{page}"),
        body: "{}".into(),
        expires_at: Timestamp(until),
    }
}

const BOUNDS: GrantBounds = GrantBounds {
    per_address: 3,
    per_token: 4,
    total: 5,
};

async fn issue(s: &SqlStore, g: StoredGrant, now: Timestamp) -> Option<String> {
    s.issue_grant(&g, now, BOUNDS).await.unwrap()
}

async fn grants_are_bounded(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    let now = Timestamp(1_000);
    for i in 0..3 {
        let id = format!("a{i}");
        let got = issue(&s, grant(&id, "10.0.0.1", &id, 5_000), now).await;
        assert_eq!(got, Some(id));
    }
    // A reloaded page keeps its grant, its life renewed.
    let again = issue(&s, grant("other", "10.0.0.1", "a1", 9_000), now).await;
    assert_eq!(again.as_deref(), Some("a1"));
    assert_eq!(
        s.grant("a1").await.unwrap().unwrap().expires_at,
        Timestamp(9_000)
    );
    assert!(s.grant("other").await.unwrap().is_none());
    // A fourth page of the address: its oldest gives way.
    let fourth = issue(&s, grant("a3", "10.0.0.1", "a3", 5_000), Timestamp(1_001)).await;
    assert_eq!(fourth.as_deref(), Some("a3"));
    assert!(
        s.grant("a0").await.unwrap().is_none(),
        "the oldest gave way"
    );
    assert!(s.grant("a2").await.unwrap().is_some());
    // Other addresses fill the rest; then a new page is refused.
    for (i, ip) in ["10.0.0.2", "10.0.0.3"].iter().enumerate() {
        let id = format!("b{i}");
        let got = issue(&s, grant(&id, ip, &id, 5_000), now).await;
        assert_eq!(got, Some(id));
    }
    let full = issue(&s, grant("c", "10.0.0.4", "c", 5_000), now).await;
    assert_eq!(full, None, "five grants are held");
    // Once they expire, there is room again.
    let later = issue(&s, grant("c", "10.0.0.4", "c", 99_000), Timestamp(6_000)).await;
    assert_eq!(later.as_deref(), Some("c"));
    assert!(
        s.grant("b0").await.unwrap().is_none(),
        "expired grants are forgotten"
    );
}

/// One token opened from one address after another (an IPv6 host has 2^64): it holds at most
/// `per_token` grants, its oldest giving way, and other tokens still get theirs.
async fn one_token_holds_its_share(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    let now = Timestamp(1_000);
    let of_token = |id: &str, ip: &str| StoredGrant {
        token_digest: "one-link".into(),
        ..grant(id, ip, id, 5_000)
    };
    for i in 0..6 {
        let id = format!("t{i}");
        let ip = format!("2001:db8::{i}");
        let got = issue(&s, of_token(&id, &ip), Timestamp(1_000 + i)).await;
        assert_eq!(got, Some(id), "a new page of the token gets a grant");
    }
    for gone in ["t0", "t1"] {
        assert!(s.grant(gone).await.unwrap().is_none(), "{gone} gave way");
    }
    for held in ["t2", "t3", "t4", "t5"] {
        assert!(s.grant(held).await.unwrap().is_some(), "{held} held");
    }
    // The store (5) is not full: another token's page is granted.
    let other = issue(&s, grant("o", "2001:db8::99", "o", 5_000), now).await;
    assert_eq!(other.as_deref(), Some("o"));
}

#[tokio::test]
async fn one_token_holds_its_share_on_sqlite() {
    one_token_holds_its_share(Backend::Sqlite).await;
}

#[tokio::test]
async fn one_token_holds_its_share_on_postgres() {
    one_token_holds_its_share(Backend::Postgres).await;
}

/// Pages of other tokens from addresses of one network (an IPv6 host's /64): the network holds
/// at most `per_address` grants, its oldest giving way, whatever address each came from.
async fn one_network_holds_its_share(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    for i in 0..5 {
        let id = format!("n{i}");
        let g = StoredGrant {
            network: "2001:db8:1:2::/64".into(),
            ..grant(&id, &format!("2001:db8:1:2::{i}"), &id, 5_000)
        };
        let got = issue(&s, g, Timestamp(1_000 + i)).await;
        assert_eq!(got, Some(id), "a new page of the network gets a grant");
    }
    for gone in ["n0", "n1"] {
        assert!(s.grant(gone).await.unwrap().is_none(), "{gone} gave way");
    }
    for held in ["n2", "n3", "n4"] {
        let g = s.grant(held).await.unwrap().expect("held");
        assert_eq!(g.network, "2001:db8:1:2::/64", "read back with its network");
    }
}

#[tokio::test]
async fn one_network_holds_its_share_on_sqlite() {
    one_network_holds_its_share(Backend::Sqlite).await;
}

#[tokio::test]
async fn one_network_holds_its_share_on_postgres() {
    one_network_holds_its_share(Backend::Postgres).await;
}

async fn file_counts(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    let (now, until) = (Timestamp(10), Timestamp(1_000));
    assert_eq!(s.files_used("t", now).await.unwrap(), 0);
    assert!(s.take_file("t", Some(2), until, now).await.unwrap());
    assert!(s.take_file("t", Some(2), until, now).await.unwrap());
    assert!(
        !s.take_file("t", Some(2), until, now).await.unwrap(),
        "the allowance is spent"
    );
    assert_eq!(s.files_used("t", now).await.unwrap(), 2);
    s.release_file("t").await.unwrap();
    assert_eq!(s.files_used("t", now).await.unwrap(), 1);
    assert!(s.take_file("t", Some(2), until, now).await.unwrap());
    // Without a limit, the count only counts.
    for _ in 0..5 {
        assert!(s.take_file("u", None, until, now).await.unwrap());
    }
    assert_eq!(s.files_used("u", now).await.unwrap(), 5);
    // After its keeping, a count starts again.
    assert_eq!(s.files_used("t", Timestamp(1_000)).await.unwrap(), 0);
    assert!(
        s.take_file("t", Some(2), Timestamp(9_000), Timestamp(1_000))
            .await
            .unwrap()
    );
    assert_eq!(s.files_used("t", Timestamp(1_000)).await.unwrap(), 1);
    // Giving back never goes below nothing.
    for _ in 0..3 {
        s.release_file("v").await.unwrap();
        s.release_file("t").await.unwrap();
    }
    assert_eq!(s.files_used("t", Timestamp(1_000)).await.unwrap(), 0);
}

#[tokio::test]
async fn grants_are_bounded_on_sqlite() {
    grants_are_bounded(Backend::Sqlite).await;
}

#[tokio::test]
async fn grants_are_bounded_on_postgres() {
    grants_are_bounded(Backend::Postgres).await;
}

#[tokio::test]
async fn file_counts_on_sqlite() {
    file_counts(Backend::Sqlite).await;
}

#[tokio::test]
async fn file_counts_on_postgres() {
    file_counts(Backend::Postgres).await;
}

async fn connections_are_counted_across_holders(backend: Backend) {
    use ferry_core::connection_counts::ConnectionCounts;
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    // Two nodes (holders) count one user's SFTP connections together.
    assert!(
        s.count_connection("c1", 7, "sftp", "node-a", 2)
            .await
            .unwrap()
    );
    assert!(
        s.count_connection("c2", 7, "sftp", "node-b", 2)
            .await
            .unwrap()
    );
    assert!(
        !s.count_connection("c3", 7, "sftp", "node-a", 2)
            .await
            .unwrap()
    );
    // Another protocol, another user: counted apart.
    assert!(
        s.count_connection("c4", 7, "ftps", "node-a", 2)
            .await
            .unwrap()
    );
    assert!(
        s.count_connection("c5", 8, "sftp", "node-b", 2)
            .await
            .unwrap()
    );
    assert_eq!(s.renew_connections("node-a").await.unwrap(), 2);
    // A connection that ends gives its place back.
    s.uncount_connection("c1").await.unwrap();
    assert!(
        s.count_connection("c6", 7, "sftp", "node-b", 2)
            .await
            .unwrap()
    );
    assert!(
        !s.count_connection("c7", 7, "sftp", "node-a", 2)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn connections_are_counted_across_holders_on_sqlite() {
    connections_are_counted_across_holders(Backend::Sqlite).await;
}

#[tokio::test]
async fn connections_are_counted_across_holders_on_postgres() {
    connections_are_counted_across_holders(Backend::Postgres).await;
}
