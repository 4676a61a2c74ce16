//! Looking after the lock-out counts: an administrator unlocking an account
//! (`ferry user unlock`), and the sweep that forgets old counts and old known addresses so
//! that failures for invented names do not pile up.

use super::lockout::{account_key, pair_prefix};
use super::recheck::{actor_still_may, target_in_change};
use super::signin::KNOWN_ADDRESS_MS;
use super::{Actor, Service};
use crate::domain::{AuditEntry, Operation, Outcome};
use crate::error::Result;
use crate::text;

impl Service {
    /// Clears every failure count of the account `name` (from every address), so its owner
    /// can sign in again at once; the address counts stay. Works for names that do not exist
    /// too (a lock-out reveals nothing about which do). Returns how many counts were cleared.
    pub async fn unlock_account(&self, actor: &Actor, name: &str) -> Result<u64> {
        Self::require_admin(actor)?;
        text::required("name", name, text::MAX_USER_NAME)?;
        let user = self.store.user_by_name(name).await?;
        if let Some(user) = &user {
            Self::require_role_at_most(actor, user.role)?;
        }
        let mut tx = self.store.begin().await?;
        match &user {
            Some(user) => drop(target_in_change(&mut tx, actor, user.id).await?),
            None => actor_still_may(&mut tx, actor, None).await?,
        }
        let cleared = tx
            .clear_lockouts(&account_key(name), &pair_prefix(name))
            .await?;
        let mut e = AuditEntry::new(Operation::UserUpdated, Outcome::Success);
        actor.stamp(&mut e);
        e.target_user_id = user.map(|u| u.id);
        e.path = Some(name.to_string());
        e.detail = Some(format!("unlocked: {cleared} failure counts cleared"));
        tx.append_audit(self.clock.now(), e).await?;
        tx.commit().await?;
        Ok(cleared)
    }

    /// Removes lock-out counts that no longer count (no lock-out running, last failure older
    /// than `forget_after`) and known addresses unused for longer than they count; writes the
    /// summaries of finished windows of repeated refusals. Safe on every node at once.
    pub async fn sweep_lockouts(&self) -> Result<u64> {
        self.flush_refusals(false).await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let stale = tx
            .delete_stale_lockouts(now.plus_millis(-self.config.lockout.forget_after_ms), now)
            .await?;
        let old = tx
            .delete_old_signin_addresses(now.plus_millis(-KNOWN_ADDRESS_MS))
            .await?;
        // Housekeeping of counters, not a change to anyone's data: no audit record, and the
        // empty change costs one lock of the audit head per sweep.
        tx.commit().await?;
        Ok(stale + old)
    }
}
