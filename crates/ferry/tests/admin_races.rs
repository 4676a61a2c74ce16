//! An administrator's change to an account racing a change to the administrator or to the
//! account, in-process on both engines. The administrator's checks (an active administrator in
//! a live session, the account not above their role) are made before the change's turn; in
//! between, the command line promotes the account to System or demotes the administrator.
//! Before, the change went through on the checks' old reads: an administrator set the password
//! of a System account, or of anyone after losing the role, and the audit trail recorded both.
//! Now every such change checks again on the rows it reads (`recheck.rs` in ferry-core).

use std::sync::Arc;

use ferry_core::domain::folder::SHARED_ROOT_FOLDER;
use ferry_core::domain::{FolderType, Operation, Outcome, Permissions, Role};
use ferry_core::service::{
    Caller, GrantRequest, NewUserRequest, OpenMode, OpenRequest, SessionContext,
};
use ferry_core::{Actor, ManualClock, Service, Timestamp};
use ferry_testkit::{Backend, on_both_backends};

#[path = "in_process/node.rs"]
mod in_process;

on_both_backends!(
    no_administrator_change_lands_on_checks_gone_stale,
    a_permission_list_never_undoes_the_revocation_of_its_maker
);

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

fn a_permission_list_never_undoes_the_revocation_of_its_maker(backend: Backend) {
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
        for (name, role) in [("ann", Role::Administrator), ("mo", Role::Manager)] {
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
    let ann = rt.block_on(session_of(&node, "ann"));
    let mo = Arc::new(rt.block_on(session_of(&node, "mo")));
    let mo_id = mo.user.id;
    let folder = rt
        .block_on(node.create_folder(&ann, SHARED_ROOT_FOLDER, "Partners", FolderType::Regular))
        .unwrap()
        .folder
        .id;
    let grant = |bits: Permissions, user: i64| GrantRequest {
        permission: bits.0,
        user_id: user,
        group_id: -1,
    };
    let mut refused = 0;
    for _ in 0..ROUNDS {
        // Mo manages the folder; then the administrator takes that away while Mo sets a list
        // that names Mo again (and lets ann read).
        rt.block_on(node.set_folder_permission_list(
            &ann,
            folder,
            &[grant(Permissions::ALL, mo_id)],
            Some(false),
        ))
        .unwrap();
        let mo_list = [
            grant(Permissions::ALL, mo_id),
            grant(Permissions::READ.union(Permissions::SHOW), ann.user.id),
        ];
        let (node2, mo2) = (Arc::clone(&node), Arc::clone(&mo));
        let mos = rt.spawn(async move {
            node2
                .set_folder_permission_list(&mo2, folder, &mo_list, None)
                .await
        });
        rt.block_on(node.set_folder_permission_list(&ann, folder, &[], None))
            .unwrap();
        refused += usize::from(rt.block_on(mos).unwrap().is_err());
    }

    // Walk the folder's permission changes in the trail's order: each of Mo's was made while
    // Mo held Manage there.
    let records = rt.block_on(node.audit_records(0, 100_000)).unwrap();
    let mut mo_bits = 0;
    let mut checked = 0;
    let mine = format!("user {mo_id}: ");
    for r in &records {
        let e = &r.entry;
        if e.operation != Operation::PermissionsChanged.as_str()
            || e.status != Outcome::Success.as_str()
            || e.folder_id != Some(folder)
        {
            continue;
        }
        if e.user_id == Some(mo_id) {
            checked += 1;
            assert!(
                Permissions(mo_bits).contains(Permissions::MANAGE),
                "seq {}: Mo's list undid the revocation of Mo's grant ({:?})",
                r.seq,
                e.detail
            );
        }
        mo_bits = e
            .detail
            .as_deref()
            .unwrap_or("")
            .split("; ")
            .find_map(|part| part.strip_prefix(&mine))
            .map_or(0, |bits| bits.parse().unwrap());
    }
    assert_eq!(
        checked + refused,
        ROUNDS,
        "each of Mo's lists is done or refused"
    );
}

/// A fresh session of `user`'s.
async fn session_of(node: &Service, user: &str) -> SessionContext {
    let caller = Caller::default();
    let data = node
        .open(
            OpenRequest {
                user_name: user.into(),
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

/// A fresh session of ann's.
async fn signed_in(node: &Service) -> SessionContext {
    session_of(node, "ann").await
}
