//! An administrator's change to an account racing a change to the administrator or to the
//! account, in-process on both engines. The administrator's checks (an active administrator in
//! a live session, the account not above their role) are made before the change's turn; in
//! between, the command line promotes the account to System or demotes the administrator.
//! Before, the change went through on the checks' old reads: an administrator set the password
//! of a System account, or of anyone after losing the role, and the audit trail recorded both.
//! Now every such change checks again on the rows it reads (`recheck.rs` in ferry-core).

use std::sync::Arc;

use ferry_core::Actor;
use ferry_core::domain::{Operation, Outcome, Role};
use ferry_testkit::{Backend, on_both_backends};

#[path = "in_process/accounts.rs"]
mod accounts;
#[path = "in_process/node.rs"]
mod node;

use accounts::Racing;

on_both_backends!(
    no_administrator_change_lands_on_checks_gone_stale,
    no_session_of_an_old_password_outlives_its_change,
    no_session_of_a_removed_key_outlives_its_removal,
    an_own_password_change_never_replaces_one_an_administrator_set
);

/// Rounds of the race.
const ROUNDS: usize = 40;

fn no_administrator_change_lands_on_checks_gone_stale(backend: Backend) {
    let racing = Racing::start(
        backend,
        &[("ann", Role::Administrator), ("tom", Role::Member)],
    );
    let (rt, node) = (&racing.rt, &racing.node);
    let ann_id = rt.block_on(node.user_named("ann")).unwrap().id;
    let tom_id = rt.block_on(node.user_named("tom")).unwrap().id;
    let mut landed = 0;
    for round in 0..ROUNDS {
        let set = |who: &'static str, role| {
            let node = Arc::clone(node);
            async move {
                node.set_role(&Actor::Cli { os_user: None }, who, role)
                    .await
            }
        };
        rt.block_on(async {
            set("tom", Role::Member).await.unwrap();
            set("ann", Role::Administrator).await.unwrap();
        });
        let ann = Actor::Session(Box::new(racing.session_of("ann")));
        // Odd rounds promote the account above the administrator, even rounds demote the
        // administrator; either way the administrator's change must then be refused.
        let (who, role) = if round % 2 == 1 {
            ("tom", Role::System)
        } else {
            ("ann", Role::Member)
        };
        let promoting = rt.spawn(set(who, role));
        let node2 = Arc::clone(node);
        let changed = rt.block_on(async move {
            node2
                .set_password(&ann, "tom", format!("tom-password-{round:04}"))
                .await
        });
        rt.block_on(promoting).unwrap().unwrap();
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

/// A sign-in checks the password, then opens its session; a new password set in between ends
/// every session the user has. The session must not open after that, on the old password:
/// "whoever held the old password is out" (`passwords.rs`). Nor after the account is
/// disabled in between, where it would be dead weight the console lists.
fn no_session_of_an_old_password_outlives_its_change(backend: Backend) {
    let racing = Racing::start(backend, &[("tom", Role::Member)]);
    let (rt, node) = (&racing.rt, &racing.node);
    let cli = Actor::Cli { os_user: None };
    let password = |round: usize| format!("tom-password-{round:04}");
    let mut survived = Vec::new();
    let mut opened = 0;
    for round in 0..ROUNDS {
        rt.block_on(node.set_password(&cli, "tom", password(round)))
            .unwrap();
        let (node2, old) = (Arc::clone(node), password(round));
        let signing_in = rt.spawn(async move {
            let caller = ferry_core::service::Caller::default();
            node2
                .open(
                    ferry_core::service::OpenRequest {
                        user_name: "tom".into(),
                        password: old,
                        application_id: accounts::APP,
                        client_version: None,
                        mode: ferry_core::service::OpenMode::Immutable,
                        passcode: None,
                        user_string: None,
                        passcode_appended: false,
                    },
                    &caller,
                )
                .await
        });
        rt.block_on(node.set_password(&cli, "tom", password(round + 1)))
            .unwrap();
        if let Ok(data) = rt.block_on(signing_in).unwrap() {
            opened += 1;
            if rt
                .block_on(node.session_alive(&data.session_id.key()))
                .unwrap()
            {
                survived.push(round);
            }
        }
    }
    assert!(
        survived.is_empty(),
        "sessions of an old password outlived its change in rounds {survived:?} ({opened} opened)"
    );
}

/// The same for an SFTP sign-in by key racing the key's removal, which ends the sessions the
/// key opened: none may open after it.
fn no_session_of_a_removed_key_outlives_its_removal(backend: Backend) {
    const KEY: &str = "ssh-ed25519 \
        AAAAC3NzaC1lZDI1NTE5AAAAIJrkMwaXk+dSvAY85HrGScBP++iqcc8+4LTxORypzy4O race";
    let racing = Racing::start(backend, &[("tom", Role::Member)]);
    let (rt, node) = (&racing.rt, &racing.node);
    let cli = Actor::Cli { os_user: None };
    let limit = ferry_core::connection_limit::UserConnectionLimit::new("sftp", 1_000);
    let mut survived = Vec::new();
    for round in 0..ROUNDS {
        let fingerprint = rt
            .block_on(node.add_ssh_key(&cli, "tom", KEY))
            .unwrap()
            .fingerprint;
        let (node2, limit2, fp) = (Arc::clone(node), Arc::clone(&limit), fingerprint.clone());
        let signing_in = rt.spawn(async move {
            let caller = ferry_core::service::Caller::default();
            node2
                .open_with_ssh_key("tom", &fp, None, &caller, &limit2)
                .await
                .map(|(data, _permit)| data)
        });
        rt.block_on(node.remove_ssh_key(&cli, "tom", &fingerprint))
            .unwrap();
        if let Ok(data) = rt.block_on(signing_in).unwrap()
            && rt.block_on(node.session_alive(&data.key)).unwrap()
        {
            survived.push(round);
        }
    }
    assert!(
        survived.is_empty(),
        "sessions of a removed key outlived its removal in rounds {survived:?}"
    );
}

/// Whoever holds a user's session and password changes the password, while an administrator
/// sets a new one to shut them out. The own change proved the old password before the
/// administrator's change; written after it, it replaced the administrator's password and
/// kept its session: the intruder stayed in. Whichever commits first, the administrator's
/// password must be the one that works afterwards, and the intruder's session must be over.
fn an_own_password_change_never_replaces_one_an_administrator_set(backend: Backend) {
    let racing = Racing::start(backend, &[("tom", Role::Member)]);
    let (rt, node) = (&racing.rt, &racing.node);
    let cli = Actor::Cli { os_user: None };
    let mut kept = Vec::new();
    for round in 0..ROUNDS {
        let stolen = format!("stolen-password-{round:04}");
        rt.block_on(node.set_password(&cli, "tom", stolen.clone()))
            .unwrap();
        let intruder = Arc::new(racing.session_of_with("tom", &stolen));
        let (node2, intruder2) = (Arc::clone(node), Arc::clone(&intruder));
        let changing = rt.spawn(async move {
            node2
                .change_own_password(
                    &intruder2,
                    stolen,
                    "intruders-password-1".into(),
                    &ferry_core::service::Caller::default(),
                )
                .await
        });
        let reset = format!("reset-password-{round:04}");
        rt.block_on(node.set_password(&cli, "tom", reset.clone()))
            .unwrap();
        let _ = rt.block_on(changing).unwrap();
        let intruder_in = rt
            .block_on(node.session_alive(&intruder.session.key))
            .unwrap();
        let reset_works = racing.try_session_of_with("tom", &reset).is_some();
        if intruder_in || !reset_works {
            kept.push(round);
        }
    }
    assert!(
        kept.is_empty(),
        "the intruder kept the account in rounds {kept:?}"
    );
}
