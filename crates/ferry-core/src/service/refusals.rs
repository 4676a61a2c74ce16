//! Repeated refusals (and other records a client can repeat at will, such as a tool page
//! opened again and again), audited by the window instead of one record each. A locked-out
//! client that keeps trying would otherwise cost a database write per attempt (15,882 records
//! in 30 s from one address, measured): the first refusal of a window is written at once, the
//! rest are only counted in memory, and one record per window says how many more there were
//! (written when the next window starts, by the sweep once the window is over, or at
//! shutdown). The counts are this node's: each node writes its own summaries, and a crash
//! loses at most one window's count, never the first refusal's record.
//!
//! A signed-in user's refused operations (a folder permission they lack, a grant they may not
//! give) are folded the same way, per session, folder and what was refused: one member's loop
//! of a refused `DeleteFolder` wrote 17,391 records in 10 s on one connection (measured),
//! each holding the audit head, and grew the database without bound. A new session costs a
//! sign-in with its own record, so the fold cannot be dodged for free.

use std::collections::HashMap;
use std::net::IpAddr;

use super::{Service, SessionContext};
use crate::clock::Timestamp;
use crate::domain::AuditEntry;
use crate::error::Result;

/// How long a window of repeated refusals lasts.
pub const REFUSAL_WINDOW_MS: i64 = 60_000;
/// Most windows counted at once; past it every count is written out and the table starts
/// over (a flood from ever new addresses then costs one record per address, as before).
const MAX_TALLIES: usize = 10_000;

/// The refusals counted since a window's first record.
#[derive(Debug)]
struct Tally {
    first_at: Timestamp,
    last_at: Timestamp,
    /// Refusals after the first, not yet written.
    more: u64,
    /// The first refusal's record, which the summary repeats.
    entry: AuditEntry,
}

/// The windows, by what was refused and from where.
#[derive(Debug, Default)]
pub(crate) struct RefusalTallies {
    tallies: HashMap<(String, Option<IpAddr>), Tally>,
}

impl Tally {
    /// The summary record of the refusals counted after the first.
    fn summary(&self) -> Option<AuditEntry> {
        if self.more == 0 {
            return None;
        }
        let mut e = self.entry.clone();
        let times = format!(
            "{} more times from {} to {}",
            self.more,
            self.first_at.to_rfc3339(),
            self.last_at.to_rfc3339()
        );
        e.detail = Some(match &self.entry.detail {
            Some(d) => format!("{d}: {times}"),
            None => times,
        });
        Some(e)
    }
}

impl Service {
    /// Audits a record that may repeat many times (a refusal to a locked-out account or
    /// address, a tool page opened again and again): once per window for `key` and `ip`,
    /// counting the others (see the module documentation).
    pub(crate) async fn audit_repeated(
        &self,
        key: &str,
        ip: Option<IpAddr>,
        entry: AuditEntry,
    ) -> Result<()> {
        let now = self.clock.now();
        let to_write: Vec<AuditEntry> = {
            let mut book = self.refusals.lock().expect("refusal tallies lock");
            let id = (key.to_string(), ip.map(|ip| ip.to_canonical()));
            match book.tallies.get_mut(&id) {
                Some(t) if now.0 - t.first_at.0 < REFUSAL_WINDOW_MS => {
                    t.more += 1;
                    t.last_at = now;
                    Vec::new()
                }
                _ => {
                    let mut out = Vec::new();
                    if book.tallies.len() >= MAX_TALLIES {
                        out.extend(book.tallies.drain().filter_map(|(_, t)| t.summary()));
                    }
                    let fresh = Tally {
                        first_at: now,
                        last_at: now,
                        more: 0,
                        entry: entry.clone(),
                    };
                    if let Some(old) = book.tallies.insert(id, fresh) {
                        out.extend(old.summary());
                    }
                    out.push(entry);
                    out
                }
            }
        };
        self.audit_all(to_write).await
    }

    /// Audits the refusal `entry` of an operation the user of `ctx` may try again at will,
    /// folded by the window per session, folder, target and what was refused (its detail),
    /// and per address.
    pub(crate) async fn audit_refused(
        &self,
        ctx: &SessionContext,
        entry: AuditEntry,
    ) -> Result<()> {
        let key = format!(
            "refused:{}:{:?}:{:?}:{}",
            ctx.session.key.tag(),
            entry.folder_id,
            entry.target_user_id,
            entry.detail.as_deref().unwrap_or("")
        );
        let ip = entry.client_ip.as_deref().and_then(|t| t.parse().ok());
        self.audit_repeated(&key, ip, entry).await
    }

    /// Writes the summaries of windows that are over (`all`: of every window, at shutdown);
    /// returns how many records were written.
    pub async fn flush_refusals(&self, all: bool) -> Result<usize> {
        let now = self.clock.now();
        let to_write: Vec<AuditEntry> = {
            let mut book = self.refusals.lock().expect("refusal tallies lock");
            let over: Vec<_> = book
                .tallies
                .iter()
                .filter(|(_, t)| all || now.0 - t.first_at.0 >= REFUSAL_WINDOW_MS)
                .map(|(id, _)| id.clone())
                .collect();
            over.into_iter()
                .filter_map(|id| book.tallies.remove(&id))
                .filter_map(|t| t.summary())
                .collect()
        };
        let n = to_write.len();
        self.audit_all(to_write).await?;
        Ok(n)
    }

    /// Writes records in one change (none: nothing).
    async fn audit_all(&self, entries: Vec<AuditEntry>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        let now = self.clock.now();
        for e in entries {
            tx.append_audit(now, e).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
