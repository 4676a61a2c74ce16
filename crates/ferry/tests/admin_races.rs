//! An administrator's change to an account racing a change to the administrator or to the
//! account, in-process on both engines. The administrator's checks (an active administrator in
//! a live session, the account not above their role) are made before the change's turn; in
//! between, the command line promotes the account to System or demotes the administrator.
//! Before, the change went through on the checks' old reads: an administrator set the password
//! of a System account, or of anyone after losing the role, and the audit trail recorded both.
//! Now every such change checks again on the rows it reads (`admin_recheck.rs` in ferry-core).

use std::sync::Arc;

use ferry_core::domain::{Operation, Outcome, Role};
use ferry_core::service::{Caller, NewUserRequest, OpenMode, OpenRequest, SessionContext};
use ferry_core::{Actor, ManualClock, Service, Timestamp};
use ferry_testkit::{Backend, on_both_backends};

#[path = "in_process/node.rs"]
mod in_process;

on_both_backends!(no_administrator_change_lands_on_checks_gone_stale);

/// Rounds of each race.
const ROUNDS: usize = 40;
const APP: i64 = 1000;
const PASSWORD: &str = "ann-password-123";

fn no_administrator_change_lands_on_checks_gone_stale(backend: Backend) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = backend.fresh_database_url(dir.path());
    let clock = Arc::new(ManualClock::new(Timestamp(1_800_000_000_000)));
    let node = Arc::new(in_process::node(
        &rt,
        &url,
        &dir.path().join("content"),
        clock,
    ));
    let cli = Actor::Cli { os_user: None };
    rt.block_on(async {
        node.add_application(&cli, APP, "races").await.unwrap();
        for (name, role) in [("ann", Role::Administrator), ("tom", Role::Member)] {
            node.add_user(
                &cli,
                NewUserRequest {
                    name: name.into(),
                    role,
                    email: String::new(),
                    first_name: name.into(),
                    last_name: "Race".into(),
                    password: Some(PASSWORD.into()),
                },
            )
            .await
            .unwrap();
        }
    });
    let ann_id = rt.block_on(node.user_named("ann")).unwrap().id;
    let tom_id = rt.block_on(node.user_named("tom")).unwrap().id;
    let mut landed = 0;
    for round in 0..ROUNDS {
        let set = |who: &'static str, role| {
            let node = Arc::clone(&node);
            async move {
                node.set_role(&Actor::Cli { os_user: None }, who, role)
                    .await
            }
        };
        rt.block_on(async {
            set("tom", Role::Member).await.unwrap();
            set("ann", Role::Administrator).await.unwrap();
        });
        let ann = Actor::Session(Box::new(rt.block_on(signed_in(&node))));
        // Odd rounds promote the account above the administrator, even rounds demote the
        // administrator; either way the administrator's change must then be refused.
        let (who, role) = if round % 2 == 1 {
            ("tom", Role::System)
        } else {
            ("ann", Role::Member)
        };
        let racing = rt.spawn(set(who, role));
        let node2 = Arc::clone(&node);
        let changed = rt.block_on(async move {
            node2
                .set_password(&ann, "tom", format!("tom-password-{round:04}"))
                .await
        });
        rt.block_on(racing).unwrap().unwrap();
        landed += usize::from(changed.is_ok());
    }

    // Walk the trail in its order: every password of tom's that ann set was set while she
    // was an administrator and he was not above her.
    let records = rt.block_on(node.audit_records(0, 100_000)).unwrap();
    let (mut ann_role, mut tom_role) = (Role::Administrator, Role::Member);
    let mut checked = 0;
    for r in &records {
        let e = &r.entry;
        if e.operation == Operation::UserUpdated.as_str()
            && let Some(to) = e
                .detail
                .as_deref()
                .and_then(|d| d.strip_prefix("role "))
                .and_then(|d| d.split(" -> ").nth(1))
        {
            let to = Role::parse(to).unwrap();
            if e.target_user_id == Some(ann_id) {
                ann_role = to;
            } else if e.target_user_id == Some(tom_id) {
                tom_role = to;
            }
        }
        if e.operation == Operation::PasswordChanged.as_str()
            && e.status == Outcome::Success.as_str()
            && e.user_id == Some(ann_id)
        {
            checked += 1;
            assert_eq!(
                ann_role,
                Role::Administrator,
                "seq {}: ann set tom's password after she was demoted",
                r.seq
            );
            assert!(
                tom_role <= Role::Administrator,
                "seq {}: ann set the password of tom, a {} account",
                r.seq,
                tom_role.name()
            );
        }
    }
    assert_eq!(
        checked, landed,
        "each change that answered done is on the trail"
    );
}

/// A fresh session of ann's.
async fn signed_in(node: &Service) -> SessionContext {
    let caller = Caller::default();
    let data = node
        .open(
            OpenRequest {
                user_name: "ann".into(),
                password: PASSWORD.into(),
                application_id: APP,
                client_version: None,
                mode: OpenMode::Immutable,
                passcode: None,
                user_string: None,
            },
            &caller,
        )
        .await
        .unwrap();
    node.authenticate(&data.session_id, &caller).await.unwrap()
}
