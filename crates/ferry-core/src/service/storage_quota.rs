//! Storage quotas at upload time ([`crate::domain::quota`]): one user filling the disk stops
//! every upload and, with the metadata database on the same disk, every sign-in; an upload
//! link's holder uploads as its maker, so without a bound anyone holding one could.
//!
//! An upload is weighed three times: before its bytes are taken (what the user has stored,
//! their other uploads in progress on this node, and the length it declares), as its bytes
//! arrive (the same sum with what has arrived), and just before it is recorded (what is stored
//! read again). Uploads in progress count in a ledger per node from their first byte until
//! they are recorded or dropped, so on one node a user's concurrent uploads can never pass
//! the quota together: a committed upload is counted twice, stored and in progress, for the
//! moment before its hold drops, which errs on the side of the bound. With several nodes, a
//! user may pass it by what they upload on the others at the same moment.
//!
//! A resumable (tus) upload's bytes are counted by its reservation (its declared length) from
//! its creation: while one of its requests runs, an upload weighed with the reservations
//! leaves its bytes in the ledger out (before 2026-12-07 they counted twice, and a user whose
//! tus upload was under way was refused room they had).
//!
//! Users with no quota pay nothing here; the store's count (migration 0025's triggers) is kept
//! for everyone, so a quota set later applies at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::recheck::target_in_change;
use super::{Actor, Service, SessionContext, UploadRequest};
use crate::content::Capacity;
use crate::domain::quota::{charged, show_size};
use crate::domain::{AuditEntry, Operation, Outcome, QuotaSetting, User, UserId};
use crate::error::{Error, Result};

/// Bytes of each user's uploads in progress on this node.
#[derive(Debug, Default)]
pub(super) struct StagedBytes {
    by_user: Mutex<HashMap<UserId, InProgress>>,
}

/// One user's bytes in progress: all of them, and those of resumable uploads, which their
/// reservations count as well.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct InProgress {
    all: u64,
    reserved: u64,
}

/// An upload's share of its user's quota: the bytes it holds in the node's ledger.
#[derive(Debug)]
pub(super) struct QuotaHold {
    ledger: Arc<StagedBytes>,
    user: UserId,
    bound: u64,
    /// What the user had stored at the last read, with their resumable uploads' reservations
    /// when `with_reservations`.
    stored: u64,
    /// Whether `stored` holds the reservations: then the ledger's bytes of resumable uploads,
    /// which they count, are left out.
    with_reservations: bool,
    /// The reservations in `stored`, for the refusal's message.
    reserved: u64,
    /// Whether this upload is a resumable one's (its bytes counted by its reservation too).
    resuming: bool,
    /// This upload's bytes in the ledger.
    held: u64,
}

impl QuotaHold {
    /// Counts the upload at `size` bytes (as [`charged`]), refused if the user's stored bytes
    /// and uploads in progress would pass the bound. A shrinking upload keeps its larger share (the bytes
    /// were staged).
    pub(super) fn grow_to(&mut self, size: u64) -> Result<()> {
        let mut by_user = self
            .ledger
            .by_user
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now = by_user.get(&self.user).copied().unwrap_or_default();
        let mine_reserved = if self.resuming { self.held } else { 0 };
        let others = InProgress {
            all: now.all.saturating_sub(self.held),
            reserved: now.reserved.saturating_sub(mine_reserved),
        };
        let counted = match self.with_reservations {
            true => others.all.saturating_sub(others.reserved),
            false => others.all,
        };
        let size = charged(size).max(self.held);
        if self.stored.saturating_add(counted).saturating_add(size) > self.bound {
            let stored = show_size(self.stored.saturating_sub(self.reserved));
            return Err(Error::OverQuota {
                quota: show_size(self.bound),
                stored: match self.reserved {
                    0 => format!("{stored} stored"),
                    r => format!(
                        "{stored} stored and {} reserved by resumable uploads in progress",
                        show_size(r)
                    ),
                },
            });
        }
        let reserved = others.reserved + if self.resuming { size } else { 0 };
        by_user.insert(
            self.user,
            InProgress {
                all: others.all + size,
                reserved,
            },
        );
        self.held = size;
        Ok(())
    }
}

impl Drop for QuotaHold {
    fn drop(&mut self) {
        let mut by_user = self
            .ledger
            .by_user
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = by_user.get_mut(&self.user) {
            n.all = n.all.saturating_sub(self.held);
            if self.resuming {
                n.reserved = n.reserved.saturating_sub(self.held);
            }
            if n.all == 0 {
                by_user.remove(&self.user);
            }
        }
    }
}

/// The room a store with `disk` (unknown for a bucket) leaves a user bounded to `bound` bytes
/// who has stored `stored`: the smaller of the two, in the disk's blocks (4 KiB without one).
pub(super) fn within_quota(disk: Option<Capacity>, bound: u64, stored: u64) -> Capacity {
    let block = disk.map_or(4096, |d| d.block_size.max(1));
    let left = bound.saturating_sub(stored) / block;
    let quota_blocks = bound / block;
    match disk {
        Some(d) => Capacity {
            block_size: block,
            blocks: d.blocks.min(quota_blocks),
            free_blocks: d.free_blocks.min(left),
            available_blocks: d.available_blocks.min(left),
        },
        None => Capacity {
            block_size: block,
            blocks: quota_blocks,
            free_blocks: left,
            available_blocks: left,
        },
    }
}

impl Service {
    /// The hold of `req` by `ctx`'s user, refused if its declared length would take them
    /// past their quota; `None` for a user without one. A new upload counts what the user's
    /// resumable uploads in progress reserve (their declared lengths, idle or not: their bytes
    /// wait in staging); one `resuming` does not, since its own reservation is among them and
    /// the others were weighed when they began. A refusal here, before any byte, is
    /// audited as `UploadFailed` (once a minute per user and address, with a count: a client
    /// retrying in a loop writes no record per try); later ones by the front ends, as every
    /// failed upload is.
    pub(super) async fn quota_hold(
        &self,
        ctx: &SessionContext,
        req: &UploadRequest,
        resuming: bool,
    ) -> Result<Option<QuotaHold>> {
        let Some(bound) = ctx.user.quota.bound(self.config.user_quota) else {
            return Ok(None);
        };
        let reserved = match resuming {
            true => 0,
            false => self.store.reserved_by_uploads(ctx.user.id).await?,
        };
        let stored = self.store.stored_bytes(ctx.user.id).await?;
        let mut hold = QuotaHold {
            ledger: Arc::clone(&self.staged_bytes),
            user: ctx.user.id,
            bound,
            // Read again by the last weighing, which leaves reservations out: the upload's
            // own would be among them.
            stored: stored.saturating_add(reserved),
            with_reservations: !resuming,
            reserved,
            resuming,
            held: 0,
        };
        if let Err(e) = hold.grow_to(req.expected_size.unwrap_or(0)) {
            let mut entry = AuditEntry::new(Operation::UploadFailed, Outcome::Failure);
            ctx.stamp(&mut entry);
            entry.folder_id = Some(req.folder_id);
            entry.path = Some(req.name.clone());
            entry.size = req.expected_size.and_then(|n| i64::try_from(n).ok());
            entry.detail = Some(e.to_string());
            let key = format!("quota:{}", ctx.user.id);
            let ip = ctx.client_ip.as_deref().and_then(|a| a.parse().ok());
            if let Err(err) = self.audit_repeated(&key, ip, entry).await {
                tracing::warn!(error = %err, "could not audit an upload refused for its quota");
            }
            return Err(e);
        }
        Ok(Some(hold))
    }

    /// Sets a user's quota (Administrator; no account above the actor's role), audited as
    /// `UserUpdated`. It applies to uploads that start (or, over tus, continue) from then on:
    /// one under way keeps the bound it began with.
    pub async fn set_quota(&self, actor: &Actor, name: &str, quota: QuotaSetting) -> Result<()> {
        Self::require_admin(actor)?;
        let user = self.user_named(name).await?;
        Self::require_role_at_most(actor, user.role)?;
        let mut tx = self.store.begin().await?;
        let mut current = target_in_change(&mut tx, actor, user.id).await?;
        if current.quota == quota {
            return Ok(());
        }
        let before = current.quota;
        current.quota = quota;
        tx.update_user(&current).await?;
        let mut e = AuditEntry::new(Operation::UserUpdated, Outcome::Success);
        actor.stamp(&mut e);
        e.target_user_id = Some(user.id);
        e.path = Some(user.name.clone());
        e.detail = Some(format!("storage quota {before} -> {quota}"));
        tx.append_audit(self.clock.now(), e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A user's quota as set, the bound that applies, and what they have stored
    /// (Administrator).
    pub async fn quota_of(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<(QuotaSetting, Option<u64>, u64)> {
        Self::require_admin(actor)?;
        let user = self.user_named(name).await?;
        let stored = self.store.stored_bytes(user.id).await?;
        Ok((user.quota, user.quota.bound(self.config.user_quota), stored))
    }

    /// The storage of `users` (the console's list, already read), for the console: each
    /// one's bound (`None`: none) and stored bytes, by user ID (Administrator).
    pub async fn storage_of_users(
        &self,
        actor: &Actor,
        users: &[User],
    ) -> Result<HashMap<UserId, (Option<u64>, u64)>> {
        Self::require_admin(actor)?;
        let stored: HashMap<UserId, u64> = self
            .store
            .stored_bytes_by_user()
            .await?
            .into_iter()
            .collect();
        Ok(users
            .iter()
            .map(|u| {
                let bound = u.quota.bound(self.config.user_quota);
                (u.id, (bound, stored.get(&u.id).copied().unwrap_or(0)))
            })
            .collect())
    }

    /// The last weighing, with the upload complete at `size` bytes: what is stored now,
    /// other uploads committed since the first read included.
    pub(super) async fn quota_final(&self, hold: &mut QuotaHold, size: u64) -> Result<()> {
        hold.stored = self.store.stored_bytes(hold.user).await?;
        hold.with_reservations = false;
        hold.reserved = 0;
        hold.grow_to(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block, the unit versions count in.
    const K: u64 = crate::domain::quota::BLOCK;

    /// A hold of a user bounded to 100 blocks who has stored `stored` blocks.
    fn hold(ledger: &Arc<StagedBytes>, stored: u64) -> QuotaHold {
        QuotaHold {
            ledger: Arc::clone(ledger),
            user: 7,
            bound: 100 * K,
            stored: stored * K,
            with_reservations: false,
            reserved: 0,
            resuming: false,
            held: 0,
        }
    }

    /// A resumable upload's bytes count once, by its reservation, for an upload weighed with
    /// the reservations; for one weighed without (its last weighing, a resumable upload's
    /// own), through the ledger.
    #[test]
    fn a_resumable_uploads_bytes_count_once() {
        let ledger = Arc::new(StagedBytes::default());
        // Its reservation (60 blocks) is among the 60 the new upload is weighed with.
        let mut tus = hold(&ledger, 0);
        tus.resuming = true;
        tus.grow_to(30 * K).unwrap();
        let mut new = hold(&ledger, 60);
        new.with_reservations = true;
        new.grow_to(40 * K).unwrap();
        assert!(new.grow_to(40 * K + 1).is_err());
        // Weighed without the reservations (stored read again: nothing yet), the resumable
        // upload's bytes in progress count.
        new.stored = 0;
        new.with_reservations = false;
        assert!(new.grow_to(70 * K + 1).is_err());
        new.grow_to(70 * K).unwrap();
        // The resumable upload itself counts the other's bytes.
        assert!(tus.grow_to(30 * K + 1).is_err());
        drop(tus);
        let left = *ledger.by_user.lock().unwrap().get(&7).unwrap();
        assert_eq!(
            left,
            InProgress {
                all: 70 * K,
                reserved: 0
            }
        );
        drop(new);
        assert!(ledger.by_user.lock().unwrap().is_empty());
    }

    #[test]
    fn uploads_in_progress_share_the_quota_and_give_it_back() {
        let ledger = Arc::new(StagedBytes::default());
        let mut a = hold(&ledger, 40);
        let mut b = hold(&ledger, 40);
        a.grow_to(30 * K).unwrap();
        // 40 stored + 30 in a: b may take 30 blocks, not a byte more (a whole block more).
        assert!(matches!(
            b.grow_to(30 * K + 1),
            Err(Error::OverQuota { .. })
        ));
        b.grow_to(30 * K).unwrap();
        // A refusal leaves the upload's share as it was.
        assert_eq!(b.held, 30 * K);
        // Shrinking keeps the share; dropping gives it back.
        a.grow_to(5 * K).unwrap();
        assert_eq!(a.held, 30 * K);
        drop(a);
        b.grow_to(60 * K).unwrap();
        drop(b);
        assert!(ledger.by_user.lock().unwrap().is_empty());
    }

    #[test]
    fn a_user_already_past_the_quota_may_store_nothing_more() {
        let ledger = Arc::new(StagedBytes::default());
        assert!(hold(&ledger, 120).grow_to(0).is_err());
        // An empty file counts a block: one block short of the bound, it still fits.
        hold(&ledger, 99).grow_to(0).unwrap();
        assert!(hold(&ledger, 100).grow_to(0).is_err());
    }

    #[test]
    fn the_room_told_is_the_smaller_of_the_disk_and_the_quota() {
        let disk = Capacity {
            block_size: 4096,
            blocks: 1_000_000,
            free_blocks: 500_000,
            available_blocks: 400_000,
        };
        let c = within_quota(Some(disk), 1 << 20, 300 << 10);
        assert_eq!(
            (c.blocks, c.free_blocks, c.available_blocks),
            (256, 181, 181)
        );
        // A nearly full disk still says so.
        let full = Capacity {
            free_blocks: 3,
            available_blocks: 2,
            ..disk
        };
        let c = within_quota(Some(full), 1 << 20, 0);
        assert_eq!((c.free_blocks, c.available_blocks), (3, 2));
        // A bucket tells no room of its own; past the quota, none left.
        let c = within_quota(None, 1 << 20, 2 << 20);
        assert_eq!((c.block_size, c.blocks, c.available_blocks), (4096, 256, 0));
    }
}
