//! What every sign-in asks before it looks at a password: whether the account signed in
//! from this address before (a known address keeps its own failure budget), and whether a
//! lock-out holds the attempt (refused once per window in the audit), asked again once the
//! attempt holds its hashing slot.

use std::net::IpAddr;

use super::Service;
use super::hash_slots::{HashTicket, Slot};
use super::lockout::{LockoutKey, remaining_secs};
use super::signin::KNOWN_ADDRESS_MS;
use crate::domain::{AuditEntry, User};
use crate::error::{Error, Result};

impl Service {
    /// Whether `user` signed in successfully from `ip` within [`KNOWN_ADDRESS_MS`]: such an
    /// address keeps its own failure budget and waits in the known lane for a hashing slot.
    pub(super) async fn known_address(
        &self,
        user: Option<&User>,
        ip: Option<IpAddr>,
    ) -> Result<bool> {
        let Some(ip) = ip else {
            return Ok(false);
        };
        // Asked for names that are no account too (user 0 has no row), so that the answer's
        // time does not tell which names exist.
        let since = self.clock.now().plus_millis(-KNOWN_ADDRESS_MS);
        Ok(self
            .store
            .signed_in_from(
                user.map_or(0, |u| u.id),
                &super::lockout::network_text(ip),
                since,
            )
            .await?)
    }

    /// The lock-out that refuses an attempt counted under `keys`, if one does: the seconds
    /// left and its key. From a `known` address the account-wide count does not bind.
    pub(super) async fn lockout_in_force<'k>(
        &self,
        keys: &'k [LockoutKey],
        known: bool,
    ) -> Result<Option<(u64, &'k LockoutKey)>> {
        let now = self.clock.now();
        for k in keys.iter().filter(|k| k.binds(known)) {
            if let Some(state) = self.store.lockout(&k.key).await?
                && let Some(secs) = remaining_secs(&state, now)
            {
                return Ok(Some((secs, k)));
            }
        }
        Ok(None)
    }

    /// Refuses, with [`Error::LockedOut`], an attempt a lock-out holds; the refusal (`entry`) is
    /// audited once per window however often it repeats.
    pub(super) async fn refuse_if_locked(
        &self,
        keys: &[LockoutKey],
        known: bool,
        ip: Option<IpAddr>,
        entry: impl FnOnce() -> AuditEntry,
    ) -> Result<()> {
        match self.lockout_in_force(keys, known).await? {
            Some((secs, key)) => {
                self.audit_repeated(&key.key, ip, entry()).await?;
                Err(Error::LockedOut {
                    retry_after_secs: secs,
                })
            }
            None => Ok(()),
        }
    }

    /// A hashing slot for a sign-in attempt counted under `keys`, the lock-out asked again
    /// once it is held. Attempts sent together each passed [`Service::refuse_if_locked`]
    /// before they waited, so without this a burst of 60 guesses from one address had all 60
    /// hashed against a threshold of 5. In the slot, the failures of the attempts hashed before
    /// are counted, since each keeps its slot until its failure is recorded: a burst gets no
    /// more tries than one at a time but for those hashing at once (at most
    /// `max_concurrent_hashes` - 1 more, per node).
    pub(super) async fn signin_slot(
        &self,
        ticket: HashTicket,
        keys: &[LockoutKey],
        known: bool,
        ip: Option<IpAddr>,
        entry: impl FnOnce() -> AuditEntry,
    ) -> Result<Slot> {
        let slot = self.hash_slots.acquire(ticket).await?;
        self.refuse_if_locked(keys, known, ip, entry).await?;
        Ok(slot)
    }
}
