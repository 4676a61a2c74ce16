//! An administrator's password reset, made to shut out whoever holds a user's session, racing
//! what that session does to keep a way back in, in-process on both engines:
//!
//! - confirming two-step sign-in with a factor only the intruder has: set after the reset, it
//!   locks the owner out of the account the reset gave back to them;
//! - making a share link, whose page is a session of its own: opened after the reset, it
//!   outlives the reset that ended every session of the account.
//!
//! Both check the caller's session before their change's turn and the reset ends it in
//! between, so each must check it again inside its change (`caller_unchanged` in ferry-core's
//! `recheck.rs`): whichever commits first, nothing of the intruder's is left after the reset.

use std::sync::Arc;

use base64::Engine;
use ferry_core::domain::folder::SHARED_ROOT_FOLDER;
use ferry_core::domain::{FolderType, Operation, Outcome, Permissions, Role, ShareTarget};
use ferry_core::service::{
    Caller, GrantRequest, ServiceConfig, ShareRequest, ToolSettings, TotpSettings,
};
use ferry_core::{Actor, Service};
use ferry_crypto::ToolTokenKeys;
use ferry_crypto::totp::{TotpKey, passcode_at};
use ferry_testkit::{Backend, on_both_backends};

#[path = "in_process/accounts.rs"]
mod accounts;
#[path = "in_process/node.rs"]
mod node;

use accounts::Racing;

on_both_backends!(
    no_second_factor_set_by_a_session_a_reset_ended,
    no_share_link_outlives_the_reset_that_ended_its_maker
);

/// Rounds of each race.
const ROUNDS: usize = 40;

/// The node's clock (`Racing`'s), in seconds, for the passcodes.
const NOW_SECS: u64 = 1_800_000_000;

/// A node with the browser tools' key and two-step sign-in, and tom, the account the intruder
/// holds.
fn start(backend: Backend) -> Racing {
    let key = base64::engine::general_purpose::STANDARD.encode([0x5a_u8; 32]);
    let config = ServiceConfig {
        tools: Some(Arc::new(ToolSettings {
            keys: ToolTokenKeys::from_base64(&key, None, false).unwrap(),
            max_age_ms: ToolSettings::DEFAULT_MAX_AGE_MS,
            max_skew_ms: ToolSettings::DEFAULT_MAX_SKEW_MS,
            single_use: false,
            grant_ttl_ms: ToolSettings::DEFAULT_GRANT_TTL_MS,
        })),
        totp: Some(Arc::new(TotpSettings {
            key: TotpKey::new(&[0x3c; 32]),
            issuer: "Ferry races".into(),
            required_roles: Vec::new(),
        })),
        ..ServiceConfig::default()
    };
    Racing::start_with(
        backend,
        &[("ann", Role::Administrator), ("tom", Role::Member)],
        config,
    )
}

/// The intruder's session: tom's password is stolen, then used.
fn intruder(racing: &Racing, round: usize) -> Arc<ferry_core::service::SessionContext> {
    let stolen = format!("stolen-password-{round:04}");
    let cli = Actor::Cli { os_user: None };
    racing
        .rt
        .block_on(racing.node.set_password(&cli, "tom", stolen.clone()))
        .unwrap();
    Arc::new(racing.session_of_with("tom", &stolen))
}

/// The administrator's reset of tom's password, which ends every session of tom's.
async fn reset(node: &Service, round: usize) {
    let cli = Actor::Cli { os_user: None };
    node.set_password(&cli, "tom", format!("reset-password-{round:04}"))
        .await
        .unwrap();
}

/// The intruder confirms a factor of their own while the administrator resets the password.
/// A factor confirmed before the reset is the owner's to have reset as well (the reset is
/// audited after it, so the administrator sees it); one confirmed after would be invisible to
/// them and lock the owner out. So every factor turned on must be audited before the reset of
/// its round, and a confirmation the reset beat must be refused.
fn no_second_factor_set_by_a_session_a_reset_ended(backend: Backend) {
    let racing = start(backend);
    let (rt, node) = (&racing.rt, &racing.node);
    let cli = Actor::Cli { os_user: None };
    let tom = racing.session_of("tom").user.id;
    let mut late = Vec::new();
    let mut refused = 0;
    for round in 0..ROUNDS {
        rt.block_on(node.reset_totp(&cli, "tom")).unwrap();
        let intruder = intruder(&racing, round);
        let enrolment = rt.block_on(node.begin_totp_enrollment(&intruder)).unwrap();
        let secret = totp_rs::Secret::try_from_base32(&enrolment.secret).unwrap();
        let passcode = passcode_at(secret.as_bytes(), NOW_SECS);
        let since = last_seq(&racing);
        let (node2, intruder2) = (Arc::clone(node), Arc::clone(&intruder));
        let stolen = format!("stolen-password-{round:04}");
        let confirming = rt.spawn(async move {
            node2
                .confirm_totp_enrollment(&intruder2, &passcode, stolen, &Caller::default())
                .await
        });
        rt.block_on(reset(node, round));
        let confirmed = rt.block_on(confirming).unwrap().is_ok();
        refused += usize::from(!confirmed);
        let order = operations_since(&racing, since, tom);
        let enabled = order
            .iter()
            .position(|op| op == Operation::SecondFactorEnabled.as_str());
        let reset_at = order
            .iter()
            .position(|op| op == Operation::PasswordChanged.as_str())
            .expect("the reset is audited");
        if confirmed != enabled.is_some() || enabled.is_some_and(|at| at > reset_at) {
            late.push((round, order));
        }
    }
    assert!(
        late.is_empty(),
        "a factor was turned on by a session the reset had ended: {late:?}"
    );
    eprintln!("{refused} of {ROUNDS} confirmations came after the reset and were refused");
}

/// The intruder makes an upload link while the administrator resets the password. A link made
/// before the reset is ended by it (its session is one of tom's); one made after must not be
/// made at all. Either way no link's session is alive once both are done.
fn no_share_link_outlives_the_reset_that_ended_its_maker(backend: Backend) {
    let racing = start(backend);
    let (rt, node) = (&racing.rt, &racing.node);
    let ann = racing.session_of("ann");
    let tom = racing.session_of("tom").user.id;
    let folder = rt
        .block_on(node.create_folder(&ann, SHARED_ROOT_FOLDER, "Drop", FolderType::Regular))
        .unwrap()
        .folder
        .id;
    let grant = GrantRequest {
        permission: Permissions::SHOW
            .union(Permissions::DISTRIBUTE)
            .union(Permissions::CREATE)
            .0,
        user_id: tom,
        group_id: -1,
    };
    rt.block_on(node.set_folder_permission_list(&ann, folder, &[grant], Some(false)))
        .unwrap();
    let mut alive = Vec::new();
    let mut refused = 0;
    for round in 0..ROUNDS {
        let intruder = intruder(&racing, round);
        let (node2, intruder2) = (Arc::clone(node), Arc::clone(&intruder));
        let sharing = rt.spawn(async move {
            let request = ShareRequest {
                target: ShareTarget::Upload(folder),
                lasts_ms: 86_400_000,
                email: None,
                max_downloads: None,
            };
            node2.share(&intruder2, request, &Caller::default()).await
        });
        rt.block_on(reset(node, round));
        match rt.block_on(sharing).unwrap() {
            Ok(shared) => {
                if rt
                    .block_on(node.session_alive(&shared.link.session))
                    .unwrap()
                {
                    alive.push(round);
                }
            }
            Err(_) => refused += 1,
        }
    }
    assert!(
        alive.is_empty(),
        "a link made by a session the reset had ended is still open in rounds {alive:?}"
    );
    eprintln!("{refused} of {ROUNDS} links came after the reset and were refused");
}

/// The last record of the trail.
fn last_seq(racing: &Racing) -> i64 {
    let records = racing
        .rt
        .block_on(racing.node.audit_records(0, 1_000_000))
        .unwrap();
    records.last().map_or(0, |r| r.seq)
}

/// The operations done to tom since record `since`, successful ones only, in the trail's order.
fn operations_since(racing: &Racing, since: i64, tom: i64) -> Vec<String> {
    let records = racing
        .rt
        .block_on(racing.node.audit_records(since, 100_000))
        .unwrap();
    records
        .into_iter()
        .map(|r| r.entry)
        .filter(|e| e.status == Outcome::Success.as_str() && e.target_user_id == Some(tom))
        .map(|e| e.operation)
        .collect()
}
