//! The content-store conformance suite: the same cases on the local directory, on moto and on
//! s3s-fs (both started on loopback by the test), so the port means one thing whatever is
//! behind it. Then what only an object store can do wrong: refuse the credentials, lose the
//! bucket, go away mid-upload.

mod stores;

use std::time::Duration;

use ferry_core::content::ContentError;
use stores::{MIB, PART, nothing_stored, pattern, read_all, servers, subjects};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_store_keeps_what_it_was_given() {
    let servers = servers();
    for (name, s) in subjects(&servers).await {
        let store = s.store.as_ref();
        for (len, seed) in [(0, 1), (3, 2), (PART, 3), (PART * 2 + PART / 2, 4)] {
            let data = pattern(len, seed);
            let mut staged = store.stage().await.unwrap();
            // Half through `write`, half through `room`/`filled`, as the front ends do.
            let (a, b) = data.split_at(len / 2);
            staged.write(a).await.unwrap();
            let mut rest = b;
            while !rest.is_empty() {
                let room = staged.room();
                let n = room.len().min(rest.len()).min(100_000);
                room[..n].copy_from_slice(&rest[..n]);
                staged.filled(n).await.unwrap();
                rest = &rest[n..];
            }
            let key = staged.commit().await.unwrap();
            assert_eq!(read_all(store, &key, 0).await, data, "{name}: {len} bytes");
            let mid = len as u64 / 3;
            assert_eq!(
                read_all(store, &key, mid).await,
                data[mid as usize..],
                "{name}: {len} bytes from {mid}"
            );
            assert!(
                read_all(store, &key, len as u64).await.is_empty(),
                "{name}: reading at the end"
            );
        }
    }
}

/// One step of the random-access model.
enum Step {
    Append(usize),
    WriteAt(u64, usize),
    ReadAt(u64, usize),
    SetLen(u64),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_access_matches_a_plain_file() {
    use Step::*;
    // First inside the part still in memory, then reaching back into parts already sent (the
    // object stores turn the upload local there), then past the end and back.
    let steps = [
        Append(MIB),
        WriteAt(1000, 5000),
        ReadAt(500, 10_000),
        SetLen(MIB as u64 - 10),
        SetLen(2 * MIB as u64),
        WriteAt(3 * MIB as u64, 100),
        Append(PART + MIB),
        ReadAt(PART as u64 + 7, 1000),
        SetLen(PART as u64 + 2 * MIB as u64),
        WriteAt(10, 4096),
        ReadAt(0, 3 * MIB),
        Append(PART),
        SetLen(3 * PART as u64 + 12_345),
        WriteAt(2 * PART as u64 - 3, 6),
        SetLen(2 * PART as u64 + 1),
        Append(777),
    ];
    let servers = servers();
    for (name, s) in subjects(&servers).await {
        let store = s.store.as_ref();
        let mut model: Vec<u8> = Vec::new();
        let mut staged = store.stage().await.unwrap();
        for (i, step) in steps.iter().enumerate() {
            let seed = i as u32 + 10;
            match *step {
                Append(n) => {
                    let bytes = pattern(n, seed);
                    staged.write(&bytes).await.unwrap();
                    model.extend_from_slice(&bytes);
                }
                WriteAt(at, n) => {
                    let bytes = pattern(n, seed);
                    staged.write_at(at, &bytes).await.unwrap();
                    let end = at as usize + n;
                    if model.len() < end {
                        model.resize(end, 0);
                    }
                    model[at as usize..end].copy_from_slice(&bytes);
                }
                ReadAt(at, n) => {
                    let mut buf = vec![0u8; n];
                    let got = staged.read_at(at, &mut buf).await.unwrap();
                    let want =
                        &model[(at as usize).min(model.len())..(at as usize + n).min(model.len())];
                    assert_eq!(&buf[..got], want, "{name}: step {i}");
                }
                SetLen(len) => {
                    staged.set_len(len).await.unwrap();
                    model.resize(len as usize, 0);
                }
            }
        }
        let key = staged.commit().await.unwrap();
        let stored = read_all(store, &key, 0).await;
        assert_eq!(stored.len(), model.len(), "{name}: length");
        assert!(stored == model, "{name}: content differs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_visible_before_the_commit_and_a_drop_leaves_nothing() {
    let servers = servers();
    for (name, s) in subjects(&servers).await {
        let store = s.store.as_ref();
        let mut staged = store.stage().await.unwrap();
        staged.write(&pattern(2 * PART + 1, 1)).await.unwrap();
        assert!(
            nothing_stored(store).await,
            "{name}: an object exists before the commit"
        );
        drop(staged);
        // The drop aborts in the background; give it a moment, then nothing may be left.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(nothing_stored(store).await);
        assert_eq!(
            store.sweep_abandoned(Duration::ZERO).await.unwrap(),
            0,
            "{name}"
        );
        assert_eq!(store.clean_staging().await.unwrap(), 0, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_abandoned_by_a_killed_node_is_swept() {
    let servers = servers();
    for (name, s) in subjects(&servers).await {
        let store = s.store.as_ref();
        let mut staged = store.stage().await.unwrap();
        staged.write(&pattern(PART + 10, 2)).await.unwrap();
        // A killed process runs no destructor.
        std::mem::forget(staged);
        let young = store
            .sweep_abandoned(Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!(young, 0, "{name}: an upload in progress was swept");
        let swept = store.clean_staging().await.unwrap()
            + store.sweep_abandoned(Duration::ZERO).await.unwrap();
        assert_eq!(swept, 1, "{name}");
        assert_eq!(
            store.clean_staging().await.unwrap()
                + store.sweep_abandoned(Duration::ZERO).await.unwrap(),
            0,
            "{name}: swept twice"
        );
        assert!(nothing_stored(store).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_are_idempotent_and_bad_keys_are_refused() {
    let servers = servers();
    for (name, s) in subjects(&servers).await {
        let store = s.store.as_ref();
        let mut a = store.stage().await.unwrap();
        a.write(b"first").await.unwrap();
        let a = a.commit().await.unwrap();
        let mut b = store.stage().await.unwrap();
        b.write(b"second").await.unwrap();
        let b = b.commit().await.unwrap();
        let mut keys = store.keys_older_than(Duration::ZERO).await.unwrap();
        keys.sort();
        let mut want = vec![a.clone(), b.clone()];
        want.sort();
        assert_eq!(keys, want, "{name}");
        assert!(
            store
                .keys_older_than(Duration::from_secs(3600))
                .await
                .unwrap()
                .is_empty()
        );
        store.delete(&a).await.unwrap();
        store.delete(&a).await.unwrap();
        assert!(
            matches!(store.open(&a, 0).await.err(), Some(ContentError::NotFound)),
            "{name}: a deleted object must read as not found"
        );
        assert_eq!(read_all(store, &b, 0).await, b"second");
        for bad in [
            "../../etc/passwd",
            "ab",
            "",
            &"g".repeat(32),
            &format!("{b}/x"),
        ] {
            assert!(
                matches!(store.open(bad, 0).await.err(), Some(ContentError::Other(_))),
                "{name}: key {bad:?}"
            );
            assert!(store.delete(bad).await.is_err(), "{name}: key {bad:?}");
        }
        store.check().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_each_keep_their_own_bytes() {
    let servers = servers();
    for (name, s) in subjects(&servers).await {
        let mut tasks = Vec::new();
        for i in 0..8u32 {
            let store = s.store.clone();
            tasks.push(tokio::spawn(async move {
                let data = pattern(PART + 1000 * i as usize, 100 + i);
                let mut staged = store.stage().await.unwrap();
                for chunk in data.chunks(64 * 1024) {
                    staged.write(chunk).await.unwrap();
                }
                (staged.commit().await.unwrap(), data)
            }));
        }
        for t in tasks {
            let (key, data) = t.await.unwrap();
            assert!(read_all(s.store.as_ref(), &key, 0).await == data, "{name}");
        }
    }
}
