//! Leases for work that must run once across nodes (`service/leases.rs`), tested in-process
//! with clocks the test moves, on both engines: the holder renews its lease and keeps it;
//! another node takes it only once it has run out; and two nodes whose clocks are 30 s apart,
//! either way, still agree.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::service::lease_for;
use ferry_core::{Clock, ManualClock, Service, Timestamp};
use ferry_testkit::{Backend, on_both_backends};

#[path = "in_process/node.rs"]
mod in_process;

on_both_backends!(
    a_lease_is_held_renewed_and_taken_over_when_it_runs_out,
    a_lease_holds_between_nodes_whose_clocks_are_30_seconds_apart,
);

/// Nodes on one fresh database, each with a clock of its own.
struct Nodes {
    url: String,
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

impl Nodes {
    fn new(backend: Backend) -> Nodes {
        let dir = tempfile::tempdir().unwrap();
        Nodes {
            url: backend.fresh_database_url(dir.path()),
            dir,
            rt: tokio::runtime::Runtime::new().unwrap(),
        }
    }

    fn node(&self, clock: Arc<ManualClock>) -> Service {
        in_process::node(&self.rt, &self.url, &self.dir.path().join("content"), clock)
    }

    fn take(&self, node: &Service, name: &str, holder: &str, ttl: Duration) -> bool {
        self.rt
            .block_on(node.take_lease(name, holder, ttl))
            .unwrap()
    }
}

fn a_lease_is_held_renewed_and_taken_over_when_it_runs_out(backend: Backend) {
    let nodes = Nodes::new(backend);
    let clock = Arc::new(ManualClock::new(Timestamp(1_800_000_000_000)));
    let node = nodes.node(clock.clone());
    let ttl = Duration::from_secs(120);
    let take = |who: &str| nodes.take(&node, "sweeps", who, ttl);
    assert!(take("node-a"), "a free lease is taken");
    assert!(!take("node-b"), "a held lease is not");
    clock.advance_millis(100_000);
    assert!(take("node-a"), "the holder renews it");
    clock.advance_millis(100_000);
    assert!(!take("node-b"), "renewed, it still runs 20 s");
    clock.advance_millis(21_000);
    assert!(take("node-b"), "run out, another node takes it");
    assert!(!take("node-a"), "and the old holder has lost it");
    assert!(
        nodes.take(&node, "directory-sync", "node-a", ttl),
        "leases are separate by name"
    );
}

fn a_lease_holds_between_nodes_whose_clocks_are_30_seconds_apart(backend: Backend) {
    let nodes = Nodes::new(backend);
    let ttl = lease_for(Duration::from_secs(60));
    for skew in [30_000, -30_000] {
        let name = format!("sweeps{skew}");
        let a_clock = Arc::new(ManualClock::new(Timestamp(1_800_000_000_000)));
        let b_clock = Arc::new(ManualClock::new(Timestamp(a_clock.now().0 + skew)));
        let (a, b) = (nodes.node(a_clock.clone()), nodes.node(b_clock.clone()));
        assert!(nodes.take(&a, &name, "node-a", ttl));
        // Both tick every minute, B half a minute after A: A renews, B never gets in.
        for _ in 0..10 {
            a_clock.advance_millis(30_000);
            b_clock.advance_millis(30_000);
            assert!(
                !nodes.take(&b, &name, "node-b", ttl),
                "skew {skew}: B took A's lease"
            );
            a_clock.advance_millis(30_000);
            b_clock.advance_millis(30_000);
            assert!(
                nodes.take(&a, &name, "node-a", ttl),
                "skew {skew}: A lost its lease"
            );
        }
        // A dies: B takes over within the lease's length, by its own clock.
        let mut waited = 0;
        while !nodes.take(&b, &name, "node-b", ttl) {
            a_clock.advance_millis(60_000);
            b_clock.advance_millis(60_000);
            waited += 60_000;
            assert!(
                waited <= ttl.as_millis() as i64 + 60_000,
                "skew {skew}: never taken over"
            );
        }
    }
}
