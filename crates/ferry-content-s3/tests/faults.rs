//! What an object store does wrong, tried against real servers on loopback: wrong
//! credentials, a missing bucket, an endpoint that is down, one that goes away mid-upload and
//! comes back, an object deleted behind Ferry's back. Each gives a clear error, in seconds,
//! and leaves the store usable.

use std::time::{Duration, Instant};

use ferry_content_s3::{S3ContentStore, S3Credentials, S3Location};
use ferry_core::content::{ContentError, ContentStore};
use ferry_testkit::s3::{ACCESS_KEY, BUCKET, SECRET_KEY};
use ferry_testkit::{S3Kind, S3Server, free_port};
use tokio::io::AsyncReadExt;

fn store(url: &str, secret: &str, spill: &std::path::Path) -> S3ContentStore {
    S3ContentStore::new(
        &S3Location::parse(url).unwrap(),
        Some(S3Credentials {
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: secret.into(),
        }),
        spill,
    )
    .unwrap()
}

fn message(e: ContentError) -> String {
    e.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_setting_fails_the_start_up_probe_quickly_and_clearly() {
    let server = S3Server::start(S3Kind::S3sFs);
    let spill = tempfile::tempdir().unwrap();
    let good = server.storage_url("p");
    store(&good, SECRET_KEY, spill.path())
        .probe()
        .await
        .unwrap();

    let wrong_secret = store(&good, "not-the-secret", spill.path());
    let e = message(wrong_secret.probe().await.unwrap_err());
    assert!(e.contains("cannot write"), "{e}");
    assert!(!e.contains("not-the-secret"), "the secret leaked into {e}");

    // s3s-fs makes a missing bucket's directory on the first write, so moto says this one.
    let moto = S3Server::start(S3Kind::Moto);
    let missing = moto.storage_url("p").replace(BUCKET, "no-such-bucket");
    let e = message(
        store(&missing, SECRET_KEY, spill.path())
            .probe()
            .await
            .unwrap_err(),
    );
    assert!(
        e.contains("no-such-bucket") && e.contains("cannot write"),
        "{e}"
    );

    let nobody = format!(
        "s3://{BUCKET}/p?endpoint=http://127.0.0.1:{}&region=us-east-1",
        free_port()
    );
    let started = Instant::now();
    let down = store(&nobody, SECRET_KEY, spill.path());
    assert!(down.probe().await.is_err());
    assert!(
        down.check().await.is_err(),
        "/readyz must see the endpoint down"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "a down endpoint took {:?} to report",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_goes_away_mid_upload_fails_it_cleanly_and_the_store_recovers() {
    let mut server = S3Server::start(S3Kind::S3sFs);
    let spill = tempfile::tempdir().unwrap();
    let url = format!("{}&part_size_mib=5", server.storage_url("p"));
    let s = store(&url, SECRET_KEY, spill.path());
    let part = vec![7u8; 5 * 1024 * 1024];

    let mut staged = s.stage().await.unwrap();
    staged.write(&part).await.unwrap();
    server.stop();
    let started = Instant::now();
    let outcome = async {
        staged.write(&part).await?;
        staged.commit().await
    }
    .await;
    assert!(
        outcome.is_err(),
        "an upload to a stopped endpoint succeeded"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert!(s.check().await.is_err());

    server.restart();
    s.check().await.unwrap();
    assert!(
        s.keys_older_than(Duration::ZERO).await.unwrap().is_empty(),
        "the failed upload left an object"
    );
    let mut again = s.stage().await.unwrap();
    again.write(&part).await.unwrap();
    again.write(b"tail").await.unwrap();
    let key = again.commit().await.unwrap();
    let mut back = Vec::new();
    s.open(&key, 5 * 1024 * 1024)
        .await
        .unwrap()
        .read_to_end(&mut back)
        .await
        .unwrap();
    assert_eq!(back, b"tail");
    // Whatever the failed upload left on the server side is swept like any abandoned one.
    s.sweep_abandoned(Duration::ZERO).await.unwrap();
    assert_eq!(s.sweep_abandoned(Duration::ZERO).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_deleted_behind_ferrys_back_reads_as_not_found() {
    let server = S3Server::start(S3Kind::Moto);
    let spill = tempfile::tempdir().unwrap();
    let s = store(&server.storage_url("p"), SECRET_KEY, spill.path());
    let mut staged = s.stage().await.unwrap();
    staged.write(b"here today").await.unwrap();
    let key = staged.commit().await.unwrap();
    // Another client of the bucket removes it (here: a second store on the same prefix).
    let other = store(&server.storage_url("p"), SECRET_KEY, spill.path());
    other.delete(&key).await.unwrap();
    let started = Instant::now();
    assert!(matches!(
        s.open(&key, 0).await.err(),
        Some(ContentError::NotFound)
    ));
    assert!(matches!(
        s.open(&key, 4).await.err(),
        Some(ContentError::NotFound)
    ));
    assert!(started.elapsed() < Duration::from_secs(10));
}
