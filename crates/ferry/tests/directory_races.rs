//! A directory sync racing an administrator's change to a user it updates, in-process on both
//! engines. The sync plans against the users as it reads them, then applies its plan in one
//! change; it must never write back a user as it read them when someone changed them in
//! between. Before, it did: a role changed while the sync planned was undone (a demoted
//! administrator became one again), with both changes audited as done. Now the sync plans
//! again (`change_races.rs` in ferry-core).

use std::sync::Arc;

use ferry_core::domain::Role;
use ferry_core::service::{DirectoryEntry, SyncOptions};
use ferry_core::{Actor, ManualClock, Timestamp};
use ferry_testkit::{Backend, on_both_backends};

#[path = "in_process/node.rs"]
mod in_process;

on_both_backends!(a_sync_never_undoes_a_role_change_made_while_it_planned);

/// Rounds of the race.
const ROUNDS: usize = 60;

fn a_sync_never_undoes_a_role_change_made_while_it_planned(backend: Backend) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = backend.fresh_database_url(dir.path());
    let clock = Arc::new(ManualClock::new(Timestamp(1_800_000_000_000)));
    let node = in_process::node(&rt, &url, &dir.path().join("content"), clock);
    let cli = Actor::Cli { os_user: None };
    let opts = SyncOptions {
        domain: "CORP".into(),
        dry_run: false,
        max_deactivate_percent: 10,
        max_deactivate_count: 5,
        force: false,
    };
    // Each round the directory has a new e-mail address for dora, so that the sync updates her.
    let dora = |round: usize| DirectoryEntry {
        sync_id: "4f0c2a7e-0000-4000-8000-00000000d0a1".into(),
        account: "dora".into(),
        email: format!("dora{round}@example.com"),
        first_name: "Dora".into(),
        last_name: "Directory".into(),
    };
    rt.block_on(node.sync_directory(&cli, vec![dora(0)], &opts))
        .unwrap();
    for round in 1..=ROUNDS {
        let role = if round % 2 == 0 {
            Role::Member
        } else {
            Role::Administrator
        };
        rt.block_on(async {
            let (synced, set) = tokio::join!(
                node.sync_directory(&cli, vec![dora(round)], &opts),
                node.set_role(&cli, "dora", role),
            );
            synced.unwrap();
            set.unwrap();
        });
        let now = rt.block_on(node.user_named("dora")).unwrap();
        assert_eq!(now.role, role, "round {round}: the role change was undone");
        assert_eq!(
            now.email,
            format!("dora{round}@example.com"),
            "round {round}"
        );
    }
}
