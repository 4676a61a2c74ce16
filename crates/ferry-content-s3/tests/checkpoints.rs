//! Checkpointed uploads (what tus uploads stand on) on the local directory, moto and s3s-fs:
//! an upload checkpointed, dropped as a killed node drops it, and resumed from the checkpoint
//! keeps exactly the checkpoint's bytes; a checkpoint survives the sweep of abandoned uploads
//! (an upload may pause for hours); a discarded one leaves nothing; a checkpoint that does not
//! fit, or was forged, is refused.

mod stores;

use std::time::Duration;

use stores::{PART, nothing_stored, pattern, read_all, servers, subjects};

async fn write_in_pieces(staged: &mut Box<dyn ferry_core::content::StagedContent>, data: &[u8]) {
    for piece in data.chunks(300_000) {
        staged.write(piece).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpointed_upload_resumes_with_exactly_its_bytes() {
    let servers = servers();
    for (name, s) in subjects(&servers).await {
        let store = s.store.as_ref();
        let data = pattern(3 * PART + 777, 9);
        // Checkpoints in the middle of a part, on a part's end, and at nothing at all.
        let cuts = [0, 2 * PART + 123, 2 * PART + 124, 3 * PART];
        let mut staged = store.stage().await.unwrap();
        // A checkpoint of nothing resumes as nothing.
        let mut checkpoint = staged.checkpoint().await.unwrap();
        drop(staged);
        let mut staged = store.resume(&checkpoint, 0).await.unwrap();
        let mut at = 0;
        for &cut in &cuts[1..] {
            write_in_pieces(&mut staged, &data[at..cut]).await;
            // More that the next writer never sees: the node dies before its checkpoint.
            let lost = pattern(PART / 2 + 7, 77);
            checkpoint = staged.checkpoint().await.unwrap();
            staged.write(&lost).await.unwrap();
            drop(staged);
            assert!(
                nothing_stored(store).await,
                "{name}: visible before the commit"
            );
            staged = store.resume(&checkpoint, cut as u64).await.unwrap();
            at = cut;
        }
        write_in_pieces(&mut staged, &data[at..]).await;
        let key = staged.commit().await.unwrap();
        let back = read_all(store, &key, 0).await;
        assert!(
            back == data,
            "{name}: {} bytes read back, {} written",
            back.len(),
            data.len()
        );
        // The commit took the checkpoints' own objects with it.
        assert_eq!(
            store.sweep_abandoned(Duration::ZERO).await.unwrap(),
            0,
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_upload_outlives_the_sweep_and_a_discarded_one_leaves_nothing() {
    let servers = servers();
    for (name, s) in subjects(&servers).await {
        let store = s.store.as_ref();
        let data = pattern(PART + 99, 3);
        let mut staged = store.stage().await.unwrap();
        write_in_pieces(&mut staged, &data).await;
        let checkpoint = staged.checkpoint().await.unwrap();
        drop(staged);
        // The start-up clean-up and the hourly sweep leave a checkpointed upload alone.
        assert_eq!(store.clean_staging().await.unwrap(), 0, "{name}");
        assert_eq!(
            store.sweep_abandoned(Duration::ZERO).await.unwrap(),
            0,
            "{name}"
        );
        let mut staged = store.resume(&checkpoint, data.len() as u64).await.unwrap();
        assert!(!staged.checkpoint().await.unwrap().is_empty());
        drop(staged);
        store.discard(&checkpoint).await.unwrap();
        store.discard(&checkpoint).await.unwrap();
        assert!(
            store.resume(&checkpoint, data.len() as u64).await.is_err(),
            "{name}"
        );
        assert!(nothing_stored(store).await, "{name}");
        assert_eq!(
            store.sweep_abandoned(Duration::ZERO).await.unwrap(),
            0,
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_that_do_not_fit_or_were_forged_are_refused() {
    let servers = servers();
    for (name, s) in subjects(&servers).await {
        let store = s.store.as_ref();
        let mut staged = store.stage().await.unwrap();
        staged.write(&pattern(1000, 1)).await.unwrap();
        let checkpoint = staged.checkpoint().await.unwrap();
        drop(staged);
        for len in [999, 1001] {
            assert!(
                store.resume(&checkpoint, len).await.is_err(),
                "{name}: {len}"
            );
        }
        let forged = [
            "",
            "../../etc/passwd",
            "0123456789abcdef0123456789abcdef/../x",
            r#"{"key":"../../etc/passwd","part_size":5242880,"upload":null,"parts":[],"tail":null,"tail_len":0}"#,
            r#"{"key":"0123456789abcdef0123456789abcdef","part_size":5242880,"upload":null,"parts":[],"tail":"../../objects/x","tail_len":3}"#,
        ];
        for bad in forged {
            assert!(store.resume(bad, 0).await.is_err(), "{name}: {bad}");
            assert!(store.discard(bad).await.is_err(), "{name}: {bad}");
        }
        store.discard(&checkpoint).await.unwrap();
    }
}
