//! Changes that hand out permissions, racing the revocation of their maker's own grant,
//! in-process on both engines. Their checks (the maker holds Manage and every bit handed out)
//! are made before the change's turn; in between, an administrator takes the maker's grant
//! away. Before, each went through on the checks' old reads and gave the maker back what the
//! administrator took, both changes audited as done:
//!
//! - a Manager's `SetFolderPermissionList` naming the Manager again with Manage;
//! - a Manager's `AddUserToGroup` adding the Manager to a group granted on the folder.
//!
//! Now both read their maker's bits again inside the change (`recheck.rs` in ferry-core) and,
//! when they no longer hold, run again from their checks, which refuse.

use std::sync::Arc;

use ferry_core::domain::folder::SHARED_ROOT_FOLDER;
use ferry_core::domain::{AuditRecord, FolderType, Operation, Outcome, Permissions, Role};
use ferry_core::service::GrantRequest;
use ferry_testkit::{Backend, on_both_backends};

#[path = "in_process/accounts.rs"]
mod accounts;
#[path = "in_process/node.rs"]
mod node;

use accounts::Racing;

on_both_backends!(
    a_permission_list_never_undoes_the_revocation_of_its_maker,
    a_group_never_gives_back_a_revoked_grant
);

/// Rounds of each race.
const ROUNDS: usize = 40;

fn user_grant(bits: Permissions, user: i64) -> GrantRequest {
    GrantRequest {
        permission: bits.0,
        user_id: user,
        group_id: -1,
    }
}

/// A node with an administrator (ann) and a Manager (mo), and a folder ann made that does not
/// inherit.
fn start(backend: Backend) -> (Racing, i64) {
    let racing = Racing::start(
        backend,
        &[("ann", Role::Administrator), ("mo", Role::Manager)],
    );
    let ann = racing.session_of("ann");
    let folder = racing
        .rt
        .block_on(racing.node.create_folder(
            &ann,
            SHARED_ROOT_FOLDER,
            "Partners",
            FolderType::Regular,
        ))
        .unwrap()
        .folder
        .id;
    (racing, folder)
}

/// Mo's bits on `folder` after each record of the trail, and the records Mo made of
/// `operation` with the bits Mo held just before each.
fn mo_held_before(
    records: &[AuditRecord],
    mo: i64,
    folder: i64,
    operation: Operation,
) -> Vec<(i64, u8)> {
    let mine = format!("user {mo}: ");
    let mut mo_bits = 0;
    let mut made = Vec::new();
    for r in records {
        let e = &r.entry;
        if e.status != Outcome::Success.as_str() {
            continue;
        }
        if e.user_id == Some(mo) && e.operation == operation.as_str() {
            made.push((r.seq, mo_bits));
        }
        if e.operation == Operation::PermissionsChanged.as_str() && e.folder_id == Some(folder) {
            mo_bits = e
                .detail
                .as_deref()
                .unwrap_or("")
                .split("; ")
                .find_map(|part| part.strip_prefix(&mine))
                .map_or(0, |bits| bits.parse().unwrap());
        }
    }
    made
}

fn a_permission_list_never_undoes_the_revocation_of_its_maker(backend: Backend) {
    let (racing, folder) = start(backend);
    let (rt, node) = (&racing.rt, &racing.node);
    let ann = racing.session_of("ann");
    let mo = Arc::new(racing.session_of("mo"));
    let mo_id = mo.user.id;
    let mut refused = 0;
    for _ in 0..ROUNDS {
        // Mo manages the folder; then the administrator takes that away while Mo sets a list
        // that names Mo again (and lets ann read).
        let mine = [user_grant(Permissions::ALL, mo_id)];
        rt.block_on(node.set_folder_permission_list(&ann, folder, &mine, Some(false)))
            .unwrap();
        let mo_list = [
            user_grant(Permissions::ALL, mo_id),
            user_grant(Permissions::READ.union(Permissions::SHOW), ann.user.id),
        ];
        let (node2, mo2) = (Arc::clone(node), Arc::clone(&mo));
        let mos = rt.spawn(async move {
            node2
                .set_folder_permission_list(&mo2, folder, &mo_list, None)
                .await
        });
        rt.block_on(node.set_folder_permission_list(&ann, folder, &[], None))
            .unwrap();
        refused += usize::from(rt.block_on(mos).unwrap().is_err());
    }
    let records = rt.block_on(node.audit_records(0, 100_000)).unwrap();
    let made = mo_held_before(&records, mo_id, folder, Operation::PermissionsChanged);
    for (seq, bits) in &made {
        assert!(
            Permissions(*bits as i64).contains(Permissions::MANAGE),
            "seq {seq}: Mo's list undid the revocation of Mo's grant"
        );
    }
    assert_eq!(made.len() + refused, ROUNDS, "each list is done or refused");
}

fn a_group_never_gives_back_a_revoked_grant(backend: Backend) {
    let (racing, folder) = start(backend);
    let (rt, node) = (&racing.rt, &racing.node);
    let ann = racing.session_of("ann");
    let mo = Arc::new(racing.session_of("mo"));
    let mo_id = mo.user.id;
    let group = rt
        .block_on(node.create_user_group(&ann, "Partners team"))
        .unwrap()
        .id;
    let readers = Permissions::READ
        .union(Permissions::SHOW)
        .union(Permissions::DOWNLOAD);
    let mut refused = 0;
    for _ in 0..ROUNDS {
        // Mo holds everything on the folder and the group may read it; Mo is not in the group.
        // Then the administrator takes Mo's grant away while Mo joins the group.
        let list = [
            user_grant(Permissions::ALL, mo_id),
            GrantRequest {
                permission: readers.0,
                user_id: -1,
                group_id: group,
            },
        ];
        rt.block_on(async {
            node.set_folder_permission_list(&ann, folder, &list, Some(false))
                .await
                .unwrap();
            node.change_group_membership(&ann, group, mo_id, false)
                .await
                .unwrap();
        });
        let (node2, mo2) = (Arc::clone(node), Arc::clone(&mo));
        let joining = rt.spawn(async move {
            node2
                .change_group_membership(&mo2, group, mo_id, true)
                .await
        });
        rt.block_on(node.set_folder_permission_list(&ann, folder, &list[1..], None))
            .unwrap();
        refused += usize::from(rt.block_on(joining).unwrap().is_err());
    }
    let records = rt.block_on(node.audit_records(0, 100_000)).unwrap();
    let made = mo_held_before(&records, mo_id, folder, Operation::GroupMemberAdded);
    for (seq, bits) in &made {
        assert!(
            Permissions(*bits as i64).contains(readers),
            "seq {seq}: Mo joined the group after Mo's grant was taken away"
        );
    }
    assert_eq!(made.len() + refused, ROUNDS, "each join is done or refused");
}
