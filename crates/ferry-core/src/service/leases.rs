//! Leases: work that must run once across every node sharing the database (the sweeps, the
//! scheduled directory sync) runs on the node that holds its lease. The holder renews the
//! lease each time it runs; a node that dies lets it expire and another takes it over. Nodes
//! compare the expiry with their own clocks, so the lease lasts longer than the work's interval
//! by a margin (see [`lease_for`]) that covers clocks a minute apart.
//!
//! Bookkeeping, not anyone's data: taking a lease writes no audit record (invariant 2); the
//! work done under it audits itself, once.

use std::time::Duration;

use super::Service;
use crate::clock::Timestamp;
use crate::error::Result;

/// How long a lease for work repeated every `every` lasts: two intervals (a run may take a
/// while) and a minute (nodes' clocks may differ by that much).
pub fn lease_for(every: Duration) -> Duration {
    every * 2 + Duration::from_secs(60)
}

impl Service {
    /// Takes or renews the lease `name` for `holder` (this node's identity) for `ttl`; whether
    /// this node holds it now and should do the work.
    pub async fn take_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let now = self.clock.now();
        let until = Timestamp(now.0.saturating_add(ttl.as_millis() as i64));
        let mut tx = self.store.begin().await?;
        let taken = tx.take_lease(name, holder, now, until).await?;
        tx.commit().await?;
        Ok(taken)
    }
}
