//! Time-dependent rules of the Service, tested in-process with a clock the test moves (no
//! sleeping), on both metadata-store engines: immutable sessions expire 48 hours after
//! creation and are swept with an audit record; lock-outs run out; SFTP/FTPS reuse stops at
//! expiry; a resumable upload idle for a day is forgotten with an audit record. The harness is
//! in `service_clock/harness.rs`.

use ferry_core::domain::FolderType;
use ferry_core::service::{ImpersonateRequest, OpenMode, OpenRequest, UploadRequest};
use ferry_core::{Actor, Caller, Error, ServiceConfig};
use ferry_testkit::{Backend, on_both_backends};

on_both_backends!(
    immutable_sessions_expire_after_48_hours_and_are_swept,
    the_immutable_lifetime_is_configurable,
    sftp_reuse_ends_when_the_session_expires,
    lockouts_run_out,
    regular_sessions_do_not_expire,
    deleted_content_is_purged_after_the_retention_period,
    a_file_renamed_over_another_keeps_its_content_through_the_purge,
    a_small_files_bytes_are_in_the_database_and_purged_with_it,
    the_owner_keeps_signing_in_while_others_guess,
    repeated_refusals_are_written_once_per_window,
    stale_lockout_rows_are_forgotten,
    an_abandoned_resumable_upload_is_audited_as_who_began_it,
);

#[path = "service_clock/harness.rs"]
mod harness;
use harness::Harness;

const HOUR: i64 = 3_600_000;
/// The client application the tests sign in to.
const APP: i64 = 1000;

fn immutable_sessions_expire_after_48_hours_and_are_swept(backend: Backend) {
    let h = Harness::new(backend, ServiceConfig::default());
    let session = h.open_id(OpenMode::Immutable, APP, "sam-password");
    let impersonated =
        h.rt.block_on(h.service.open_impersonated(
            ImpersonateRequest {
                service_session_id: session,
                user_id: 1,
                application_id: APP,
                ip_address: "10.0.0.9".into(),
                user_string: Some("partner".into()),
            },
            &Caller::default(),
        ))
        .unwrap()
        .session_id;
    h.clock.advance_millis(48 * HOUR - 1);
    assert!(h.alive(&session.key()));
    assert_eq!(h.sweep(), 0);
    h.clock.advance_millis(1);
    // Refused from the very moment of expiry, even before the sweeper has run.
    assert!(!h.alive(&session.key()));
    assert!(!h.alive(&impersonated.key()));
    assert_eq!(h.sweep(), 2);
    assert_eq!(h.sweep(), 0, "a second sweep finds nothing");
    let ops = h.operations();
    assert_eq!(ops.iter().filter(|o| *o == "SessionExpired").count(), 2);
    let verified = h.rt.block_on(h.service.verify_audit_chain()).unwrap();
    assert!(verified.first_broken.is_none());
}

fn the_immutable_lifetime_is_configurable(backend: Backend) {
    let config = ServiceConfig {
        immutable_session_ttl_ms: 2 * HOUR,
        ..ServiceConfig::default()
    };
    let h = Harness::new(backend, config);
    let session = h.open(OpenMode::Immutable, APP, "sam-password").unwrap();
    h.clock.advance_millis(2 * HOUR);
    assert!(!h.alive(&session));
    assert_eq!(h.sweep(), 1);
}

fn sftp_reuse_ends_when_the_session_expires(backend: Backend) {
    let h = Harness::new(backend, ServiceConfig::default());
    let first = h.open(OpenMode::Immutable, 2, "sam-password").unwrap();
    h.clock.advance_millis(47 * HOUR);
    assert_eq!(
        h.open(OpenMode::Immutable, 2, "sam-password").unwrap(),
        first
    );
    h.clock.advance_millis(HOUR);
    let next = h.open(OpenMode::Immutable, 2, "sam-password").unwrap();
    assert_ne!(next, first, "an expired session is never handed back");
    assert!(h.alive(&next));
}

fn lockouts_run_out(backend: Backend) {
    let h = Harness::new(backend, ServiceConfig::default());
    let policy = h.service.config().lockout;
    for _ in 0..policy.account_threshold {
        assert!(matches!(
            h.open(OpenMode::Replace, APP, "wrong"),
            Err(Error::BadCredentials)
        ));
    }
    match h.open(OpenMode::Replace, APP, "sam-password") {
        Err(Error::LockedOut { retry_after_secs }) => {
            assert_eq!(retry_after_secs as i64, policy.base_delay_ms / 1000)
        }
        other => panic!("expected a lock-out, got {other:?}"),
    }
    h.clock.advance_millis(policy.base_delay_ms);
    // One more failure after the lock-out doubles the next one.
    assert!(matches!(
        h.open(OpenMode::Replace, APP, "wrong"),
        Err(Error::BadCredentials)
    ));
    match h.open(OpenMode::Replace, APP, "sam-password") {
        Err(Error::LockedOut { retry_after_secs }) => {
            assert_eq!(retry_after_secs as i64, 2 * policy.base_delay_ms / 1000)
        }
        other => panic!("expected a doubled lock-out, got {other:?}"),
    }
    h.clock.advance_millis(2 * policy.base_delay_ms);
    let session = h.open(OpenMode::Replace, APP, "sam-password").unwrap();
    assert!(h.alive(&session));
    // Success cleared the account's count: one failure does not lock again.
    assert!(matches!(
        h.open(OpenMode::Replace, APP, "wrong"),
        Err(Error::BadCredentials)
    ));
    assert!(h.open(OpenMode::Replace, APP, "sam-password").is_ok());
}

fn regular_sessions_do_not_expire(backend: Backend) {
    let h = Harness::new(backend, ServiceConfig::default());
    let session = h.open(OpenMode::Replace, APP, "sam-password").unwrap();
    h.clock.advance_millis(24 * 30 * HOUR);
    assert_eq!(h.sweep(), 0);
    assert!(
        h.alive(&session),
        "an Open session lives until replaced or closed (spec 2.3.2.1)"
    );
}

/// Every file in the content store (the purge of its objects is what these count).
fn objects_only() -> ServiceConfig {
    ServiceConfig {
        inline_max_bytes: 0,
        ..ServiceConfig::default()
    }
}

fn deleted_content_is_purged_after_the_retention_period(backend: Backend) {
    let h = Harness::new(backend, objects_only());
    let session = h.open(OpenMode::Immutable, APP, "sam-password").unwrap();
    let ctx =
        h.rt.block_on(h.service.authenticate_key(&session, &Caller::default()))
            .unwrap();
    let home =
        h.rt.block_on(h.service.home_folder(&ctx))
            .unwrap()
            .folder
            .id;
    let sub =
        h.rt.block_on(
            h.service
                .create_folder(&ctx, home, "Sub", FolderType::Regular),
        )
        .unwrap()
        .folder
        .id;
    let kept = h.upload(&ctx, home, "kept.txt", b"kept");
    let file = h.upload(&ctx, home, "gone.txt", b"v1");
    h.upload(&ctx, home, "gone.txt", b"v2");
    h.upload(&ctx, sub, "inside.txt", b"inside");
    assert_eq!(h.objects(), 4, "one object per version");

    h.rt.block_on(h.service.delete_file(&ctx, file)).unwrap();
    h.rt.block_on(h.service.delete_folder(&ctx, sub)).unwrap();
    let retention = h.service.config().purge_after_ms;
    h.clock.advance_millis(retention - 1);
    assert_eq!(h.rt.block_on(h.service.purge_deleted_files()).unwrap(), 0);
    assert_eq!(
        h.objects(),
        4,
        "nothing is purged before the retention period"
    );
    h.clock.advance_millis(1);
    assert_eq!(h.rt.block_on(h.service.purge_deleted_files()).unwrap(), 2);
    assert_eq!(
        h.objects(),
        1,
        "both versions of the deleted file and the folder's file are gone"
    );
    assert_eq!(h.rt.block_on(h.service.purge_deleted_files()).unwrap(), 0);
    assert!(h.rt.block_on(h.service.file(&ctx, kept)).is_ok());
    assert_eq!(
        h.operations().iter().filter(|o| *o == "FilePurged").count(),
        2
    );
}

/// A small file's bytes are kept in the database with its version, and purged with the file.
fn a_small_files_bytes_are_in_the_database_and_purged_with_it(backend: Backend) {
    use ferry_core::inline_content::InlineContents;
    let h = Harness::new(backend, ServiceConfig::default());
    let session = h.open(OpenMode::Immutable, APP, "sam-password").unwrap();
    let ctx =
        h.rt.block_on(h.service.authenticate_key(&session, &Caller::default()))
            .unwrap();
    let home = h.rt.block_on(h.service.home_folder(&ctx)).unwrap();
    let file = h.upload(&ctx, home.folder.id, "small.txt", b"tiny");
    let key =
        h.rt.block_on(h.service.file(&ctx, file))
            .unwrap()
            .file
            .content_key;
    let inline = |key: &str| h.rt.block_on(h.store.inline_content(key)).unwrap();
    assert!(key.starts_with("inline-"), "{key}");
    assert_eq!(inline(&key).as_deref(), Some(b"tiny".as_slice()));
    assert_eq!(h.objects(), 0, "nothing in the content store");
    h.rt.block_on(h.service.delete_file(&ctx, file)).unwrap();
    h.clock.advance_millis(h.service.config().purge_after_ms);
    assert_eq!(h.rt.block_on(h.service.purge_deleted_files()).unwrap(), 1);
    assert_eq!(inline(&key), None, "purged with the file");
}

/// A temporary upload renamed over a file becomes its next version; when the temporary file
/// (deleted by the rename) is purged, the content it handed over stays, its own older version
/// goes.
fn a_file_renamed_over_another_keeps_its_content_through_the_purge(backend: Backend) {
    let h = Harness::new(backend, objects_only());
    let session = h.open(OpenMode::Immutable, APP, "sam-password").unwrap();
    let ctx =
        h.rt.block_on(h.service.authenticate_key(&session, &Caller::default()))
            .unwrap();
    let home =
        h.rt.block_on(h.service.home_folder(&ctx))
            .unwrap()
            .folder
            .id;
    let target = h.upload(&ctx, home, "report.txt", b"v1");
    h.upload(&ctx, home, "report.txt.part", b"an older temporary");
    h.upload(&ctx, home, "report.txt.part", b"v2");
    assert_eq!(h.objects(), 3);
    h.rt.block_on(h.service.tree_rename_replacing(
        &ctx,
        "/Home/sam/report.txt.part",
        "/Home/sam/report.txt",
    ))
    .unwrap();
    let view = h.rt.block_on(h.service.file(&ctx, target)).unwrap();
    assert_eq!(view.file.version, 2);
    assert_eq!(view.file.size, 2);
    h.clock.advance_millis(h.service.config().purge_after_ms);
    assert_eq!(h.rt.block_on(h.service.purge_deleted_files()).unwrap(), 1);
    assert_eq!(
        h.objects(),
        2,
        "the target's two versions stay; the temporary file's older one is gone"
    );
    let mut reader =
        h.rt.block_on(h.service.download(&ctx, view.file.id, None))
            .unwrap()
            .reader;
    let mut bytes = Vec::new();
    h.rt.block_on(tokio::io::AsyncReadExt::read_to_end(
        &mut reader,
        &mut bytes,
    ))
    .unwrap();
    assert_eq!(
        bytes, b"v2",
        "the handed-over content is readable after the purge"
    );
}

/// A guesser spread over many addresses locks the account for addresses it never signed in
/// from, not for its owner's; `unlock_account` lets a new address in at once.
fn the_owner_keeps_signing_in_while_others_guess(backend: Backend) {
    let h = Harness::new(backend, ServiceConfig::default());
    let policy = h.service.config().lockout;
    h.open_from("192.0.2.1", OpenMode::Replace, APP, "sam-password")
        .unwrap();
    let addresses = policy.account_total_threshold / policy.account_threshold;
    for a in 0..addresses {
        let ip = format!("203.0.113.{a}");
        for _ in 0..policy.account_threshold {
            assert!(matches!(
                h.open_from(&ip, OpenMode::Replace, APP, "guess"),
                Err(Error::BadCredentials)
            ));
        }
        // That address is out of this account at once.
        assert!(matches!(
            h.open_from(&ip, OpenMode::Replace, APP, "sam-password"),
            Err(Error::LockedOut { .. })
        ));
    }
    // The owner's address keeps its own budget.
    h.open_from("192.0.2.1", OpenMode::Replace, APP, "sam-password")
        .unwrap();
    // Every address that never signed in is held by the account-wide count (the owner's
    // success does not reset it) until it runs out or an administrator unlocks it.
    assert!(matches!(
        h.open_from("198.51.100.9", OpenMode::Replace, APP, "sam-password"),
        Err(Error::LockedOut { .. })
    ));
    let cleared =
        h.rt.block_on(
            h.service
                .unlock_account(&Actor::Cli { os_user: None }, "SAM"),
        )
        .unwrap();
    assert!(cleared > addresses as u64, "{cleared}");
    h.open_from("198.51.100.9", OpenMode::Replace, APP, "sam-password")
        .unwrap();
}

/// A locked-out address hammering away: one audit record per window, then one that counts
/// the rest, instead of one each.
fn repeated_refusals_are_written_once_per_window(backend: Backend) {
    let h = Harness::new(backend, ServiceConfig::default());
    let policy = h.service.config().lockout;
    for i in 0..policy.address_threshold {
        let req = OpenRequest {
            user_name: format!("invented{i}"),
            password: "x".into(),
            application_id: APP,
            client_version: None,
            mode: OpenMode::Replace,
            passcode: None,
            user_string: None,
            passcode_appended: false,
        };
        let caller = Caller {
            ip: Some("198.51.100.7".parse().unwrap()),
            client_version: None,
        };
        let _ = h.rt.block_on(h.service.open(req, &caller));
    }
    let before = h.operations().len();
    for _ in 0..500 {
        assert!(matches!(
            h.open_from("198.51.100.7", OpenMode::Replace, APP, "sam-password"),
            Err(Error::LockedOut { .. })
        ));
    }
    assert_eq!(
        h.operations().len(),
        before + 1,
        "one record for 500 refusals"
    );
    h.clock.advance_millis(61_000);
    h.rt.block_on(h.service.sweep_lockouts()).unwrap();
    let records = h.rt.block_on(h.service.audit_records(0, 10_000)).unwrap();
    let summary = records.last().unwrap();
    assert_eq!(summary.entry.operation, "SignInFailed");
    assert_eq!(summary.entry.client_ip.as_deref(), Some("198.51.100.7"));
    assert!(
        summary
            .entry
            .detail
            .as_deref()
            .unwrap()
            .starts_with("locked out: 499 more times from "),
        "{:?}",
        summary.entry.detail
    );
    assert_eq!(h.operations().len(), before + 2);
}

/// Failures for invented names leave rows; the sweep forgets them once they no longer count.
fn stale_lockout_rows_are_forgotten(backend: Backend) {
    let h = Harness::new(backend, ServiceConfig::default());
    let policy = h.service.config().lockout;
    for i in 0..100 {
        let req = OpenRequest {
            user_name: format!("nobody{i}"),
            password: "x".into(),
            application_id: APP,
            client_version: None,
            mode: OpenMode::Replace,
            passcode: None,
            user_string: None,
            passcode_appended: false,
        };
        let caller = Caller {
            ip: Some(format!("10.1.{}.{}", i / 250, i % 250).parse().unwrap()),
            client_version: None,
        };
        let _ = h.rt.block_on(h.service.open(req, &caller));
    }
    assert_eq!(h.rt.block_on(h.service.sweep_lockouts()).unwrap(), 0);
    h.clock.advance_millis(policy.forget_after_ms + 1);
    // Three counts per attempt: the pair, the account, the address.
    assert_eq!(h.rt.block_on(h.service.sweep_lockouts()).unwrap(), 300);
    assert_eq!(h.rt.block_on(h.service.sweep_lockouts()).unwrap(), 0);
}

/// A resumable upload left idle for a day is forgotten, and audited as `UploadFailed` in the
/// name of who began it (the sweep has no session of its own).
fn an_abandoned_resumable_upload_is_audited_as_who_began_it(backend: Backend) {
    let h = Harness::new(backend, ServiceConfig::default());
    let session = h.open(OpenMode::Immutable, APP, "sam-password").unwrap();
    let ctx = (h.rt).block_on(h.service.authenticate_key(&session, &Caller::default()));
    let ctx = ctx.unwrap();
    let home =
        h.rt.block_on(h.service.home_folder(&ctx))
            .unwrap()
            .folder
            .id;
    h.rt.block_on(async {
        let req = UploadRequest {
            folder_id: home,
            name: "left.bin".into(),
            overwrite: true,
            rename_if_taken: false,
            expected_size: Some(10),
            expected_sha256: None,
            external_user: None,
        };
        let mut up = h.service.begin_upload(&ctx, req).await.unwrap();
        up.write(b"abcd").await.unwrap();
        h.service
            .store_resumable("u1", "o", 10, &mut up)
            .await
            .unwrap();
    });
    h.clock.advance_millis(24 * 3600 * 1000 + 1);
    assert_eq!(h.rt.block_on(h.service.sweep_resumables()).unwrap(), 1);
    let records = h.rt.block_on(h.service.audit_records(0, 10_000)).unwrap();
    let failed: Vec<_> = records
        .iter()
        .filter(|r| r.entry.operation == "UploadFailed")
        .collect();
    assert_eq!(failed.len(), 1);
    let e = &failed[0].entry;
    assert_eq!(
        (e.user_id, e.application_id),
        (Some(ctx.user.id), Some(APP))
    );
    assert_eq!(e.path.as_deref(), Some("left.bin"));
    assert_eq!(
        e.detail.as_deref(),
        Some(
            "the resumable upload was idle for a day after 4 of 10 bytes and was forgotten; nothing was stored"
        )
    );
}
