//! The browser tools' grants and per-token file counts, in this node's memory (a grant lives
//! only as long as its page; invariant 9's named exception).
//!
//! Bounded so that one link cannot shut every tool page: a page reloaded from the same
//! address with the same token and options gets the grant it already had (100,000 reloads
//! hold one grant), one address holds at most [`MAX_GRANTS_PER_ADDRESS`] grants (its oldest
//! gives way to a new one), and the node at most [`MAX_GRANTS`] (then a new page answers
//! 503, which takes that many addresses with valid tokens to reach).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::service::tools::{ToolKind, ToolLimits};
use crate::tool_token::ToolClaims;

/// Most grants held at once on this node.
pub(crate) const MAX_GRANTS: usize = 100_000;
/// Most grants one browser address holds at once.
pub(crate) const MAX_GRANTS_PER_ADDRESS: usize = 1_000;

/// What a grant allows, as the page was opened.
#[derive(Debug, Clone)]
pub(crate) struct GrantRecord {
    pub kind: ToolKind,
    pub claims: ToolClaims,
    pub ip: IpAddr,
    pub expires_at: Timestamp,
    pub token_digest: String,
    pub limits: ToolLimits,
    /// The user a session-less token (access IDs) acts as; `None` when it names a session.
    pub acting_user: Option<crate::domain::UserId>,
}

impl GrantRecord {
    /// Pages that share a grant: the same token, tool and options, from the same address.
    fn page(&self) -> PageKey {
        PageKey {
            token_digest: self.token_digest.clone(),
            kind: self.kind,
            ip: self.ip,
            limits: self.limits.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PageKey {
    token_digest: String,
    kind: ToolKind,
    ip: IpAddr,
    limits: ToolLimits,
}

/// The grants and the file counts.
#[derive(Debug, Default)]
pub(crate) struct GrantBook {
    grants: HashMap<String, GrantRecord>,
    /// The grant of each page.
    pages: HashMap<PageKey, String>,
    /// Each address's grants, oldest first.
    by_address: HashMap<IpAddr, VecDeque<String>>,
    /// Files started or uploaded per token, and until when the count is kept.
    files_used: HashMap<String, (u32, Timestamp)>,
}

impl GrantBook {
    /// The grant for `record`'s page: the one it already has (its life renewed to `record`'s)
    /// or a new one with the ID `new_id` makes. Returns the grant's ID and the files its
    /// token has used.
    pub fn issue(
        &mut self,
        record: GrantRecord,
        now: Timestamp,
        new_id: impl FnOnce() -> String,
    ) -> Result<(String, u32)> {
        let used = self
            .files_used
            .get(&record.token_digest)
            .map_or(0, |(n, _)| *n);
        let page = record.page();
        if let Some(id) = self.pages.get(&page)
            && let Some(existing) = self.grants.get_mut(id)
            && existing.expires_at > now
        {
            existing.expires_at = record.expires_at;
            return Ok((id.clone(), used));
        }
        if self.grants.len() >= MAX_GRANTS || self.grants.len() % 1024 == 1023 {
            self.prune(now);
        }
        if self.grants.len() >= MAX_GRANTS {
            return Err(Error::Unavailable);
        }
        let held = self.by_address.entry(record.ip).or_default();
        if held.len() >= MAX_GRANTS_PER_ADDRESS
            && let Some(oldest) = held.pop_front()
            && let Some(old) = self.grants.remove(&oldest)
        {
            tracing::info!(ip = %record.ip, "tool grant given up for a newer page of the same address");
            self.pages.remove(&old.page());
        }
        let id = new_id();
        self.by_address
            .entry(record.ip)
            .or_default()
            .push_back(id.clone());
        self.pages.insert(page, id.clone());
        self.grants.insert(id.clone(), record);
        Ok((id, used))
    }

    /// The grant with this ID, if any (expired or not: the caller judges).
    pub fn get(&self, id: &str) -> Option<GrantRecord> {
        self.grants.get(id).cloned()
    }

    /// Takes one file of a token's allowance (`max`, if any), keeping the count until `until`.
    pub fn take_file(&mut self, digest: &str, max: Option<u32>, until: Timestamp) -> Result<()> {
        let entry = self
            .files_used
            .entry(digest.to_string())
            .or_insert((0, until));
        if let Some(max) = max
            && entry.0 >= max
        {
            return Err(Error::ToolLimit(format!(
                "this link accepts at most {max} files"
            )));
        }
        entry.0 += 1;
        entry.1 = until;
        Ok(())
    }

    /// Gives back one file of a token's allowance.
    pub fn release_file(&mut self, digest: &str) {
        if let Some(entry) = self.files_used.get_mut(digest) {
            entry.0 = entry.0.saturating_sub(1);
        }
    }

    /// Grants held now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.grants.len()
    }

    fn prune(&mut self, now: Timestamp) {
        self.grants.retain(|_, g| g.expires_at > now);
        let grants = &self.grants;
        self.pages.retain(|_, id| grants.contains_key(id));
        self.by_address.retain(|_, ids| {
            ids.retain(|id| grants.contains_key(id));
            !ids.is_empty()
        });
        self.files_used.retain(|_, (_, until)| *until > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tool_token::ToolTarget;

    fn record(ip: &str, digest: &str, until: i64) -> GrantRecord {
        let json = format!(
            r#"{{"Version":"2","FolderID":"7","AllowedIP":"{ip}","TimeStamp":"11/22/2026 3:05 PM","Session":"A2A1163E-555A-469D-BFB4-4DA33980409B"}}"#
        );
        let claims = ToolClaims::parse(json.as_bytes()).unwrap();
        assert!(matches!(claims.target, ToolTarget::Folder(7)));
        GrantRecord {
            kind: ToolKind::Upload,
            claims,
            ip: ip.parse().unwrap(),
            expires_at: Timestamp(until),
            token_digest: digest.into(),
            limits: ToolLimits::default(),
            acting_user: None,
        }
    }

    fn counter() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("g{n}")
        }
    }

    #[test]
    fn a_reloaded_page_keeps_its_grant() {
        let mut book = GrantBook::default();
        let mut ids = counter();
        let (first, _) = book
            .issue(record("10.0.0.1", "t1", 100), Timestamp(0), &mut ids)
            .unwrap();
        for at in 1..1000 {
            let (again, _) = book
                .issue(record("10.0.0.1", "t1", 100 + at), Timestamp(at), &mut ids)
                .unwrap();
            assert_eq!(again, first);
        }
        assert_eq!(book.len(), 1);
        assert_eq!(book.get(&first).unwrap().expires_at, Timestamp(1099));
        // Other options make another page.
        let mut other = record("10.0.0.1", "t1", 100);
        other.limits.max_files = Some(3);
        let (second, _) = book.issue(other, Timestamp(5), &mut ids).unwrap();
        assert_ne!(second, first);
        // After it expired, a reload gets a new grant.
        let (later, _) = book
            .issue(record("10.0.0.1", "t1", 5000), Timestamp(2000), &mut ids)
            .unwrap();
        assert_ne!(later, first);
    }

    #[test]
    fn one_address_holds_a_bounded_number_of_grants() {
        let mut book = GrantBook::default();
        let mut ids = counter();
        let (oldest, _) = book
            .issue(record("10.0.0.1", "t0", 100), Timestamp(0), &mut ids)
            .unwrap();
        for i in 1..=MAX_GRANTS_PER_ADDRESS {
            book.issue(
                record("10.0.0.1", &format!("t{i}"), 100),
                Timestamp(0),
                &mut ids,
            )
            .unwrap();
        }
        assert_eq!(book.len(), MAX_GRANTS_PER_ADDRESS);
        assert!(book.get(&oldest).is_none(), "the oldest gave way");
        let (other, _) = book
            .issue(record("10.0.0.2", "t0", 100), Timestamp(0), &mut ids)
            .unwrap();
        assert!(
            book.get(&other).is_some(),
            "other addresses are not touched"
        );
    }
}
