//! The store port for the signed-in connections each user holds on a file protocol, counted
//! across every node (invariant 9), so that `max_connections_per_user` means the same behind a
//! load balancer as on one machine.
//!
//! Each connection is a row its node renews; a node that dies stops renewing, and its
//! connections stop counting when they run out ([`CONNECTION_ALIVE_MS`]). Times are the
//! database's clock, which every node shares.

use async_trait::async_trait;

use crate::domain::UserId;
use crate::store::StoreResult;

/// How long a connection counts after its node last renewed it.
pub const CONNECTION_ALIVE_MS: i64 = 30_000;
/// How often a node renews the connections it holds.
pub const CONNECTION_RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Signed-in connections per user and protocol, across the nodes.
#[async_trait]
pub trait ConnectionCounts: Send + Sync {
    /// Counts connection `id` of `user` on `protocol`, held by `holder` (a node's process),
    /// unless the user already holds `max` there; false then.
    async fn count_connection(
        &self,
        id: &str,
        user: UserId,
        protocol: &str,
        holder: &str,
        max: i64,
    ) -> StoreResult<bool>;
    /// Stops counting connection `id` (it ended).
    async fn uncount_connection(&self, id: &str) -> StoreResult<()>;
    /// Renews every connection `holder` counts; returns how many.
    async fn renew_connections(&self, holder: &str) -> StoreResult<u64>;
}
