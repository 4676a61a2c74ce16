//! The browser tools' grants and per-token file counts, kept in the metadata store
//! ([`crate::transfer_state`]) so that any node answers any request of a page.
//!
//! Bounded so that one link cannot shut every tool page: a page reloaded from the same
//! address with the same token and options gets the grant it already had (100,000 reloads
//! hold one grant), one address (an IPv6 client's whole /64) holds at most
//! [`MAX_GRANTS_PER_ADDRESS`] grants and one token at most [`MAX_GRANTS_PER_TOKEN`] from all its
//! addresses (in each, the oldest gives way to a new one), and the store at most [`MAX_GRANTS`]
//! (then a new page answers 503, which takes a hundred valid tokens, each a user's link or an
//! integration's token, opened from a hundred networks, to reach). Until 2026-12-07 the token
//! had no bound of its own: one link opened from a hundred addresses of one IPv6 host filled the
//! store; and until later that day the address was the exact one, so one IPv6 host holding a
//! hundred links (a member makes up to 500) still could, from a thousand addresses of its /64.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::domain::{FileId, FolderId, SessionKey, UserId};
use crate::error::{Error, Result};
use crate::service::access_ids::Acting;
use crate::service::tools::{ToolKind, ToolLimits};
use crate::tool_token::ToolTarget;
use crate::transfer_state::{GrantBounds, StoredGrant};

/// Most grants held at once.
pub(crate) const MAX_GRANTS: i64 = 100_000;
/// Most grants one browser address holds at once.
pub(crate) const MAX_GRANTS_PER_ADDRESS: i64 = 1_000;
/// Most grants one token holds at once, from every address together.
pub(crate) const MAX_GRANTS_PER_TOKEN: i64 = 1_000;

/// The store's bounds.
pub(crate) const BOUNDS: GrantBounds = GrantBounds {
    per_address: MAX_GRANTS_PER_ADDRESS,
    per_token: MAX_GRANTS_PER_TOKEN,
    total: MAX_GRANTS,
};

/// What a grant allows, as the page was opened.
#[derive(Debug, Clone)]
pub(crate) struct GrantRecord {
    pub kind: ToolKind,
    /// What the token names (access IDs already turned into files).
    pub target: ToolTarget,
    /// The token's `Email`.
    pub email: Option<String>,
    /// The key of the token's session; `None` for a token that acts as `acting`.
    pub session: Option<SessionKey>,
    pub ip: IpAddr,
    pub expires_at: Timestamp,
    pub token_digest: String,
    pub limits: ToolLimits,
    /// Who a session-less token (access IDs) acts as.
    pub acting: Option<Acting>,
}

/// A grant's `body` in the store. Field names are the stored format: renaming one makes the
/// grants held when a node is upgraded unreadable (their pages then ask to be reopened).
#[derive(Serialize, Deserialize)]
struct Body {
    kind: String,
    folder: Option<FolderId>,
    files: Vec<FileId>,
    email: Option<String>,
    /// The key of the token's session (64 hex digits). Grants stored before 2026-12-07 named
    /// the session's ID under `session`; migration 0024 removed every grant then held.
    session_key: Option<String>,
    acting_user: Option<UserId>,
    /// The administrator on whose behalf `acting_user`'s access IDs were asked for (absent in
    /// grants stored before 2026-12-06: none).
    #[serde(default)]
    acting_on_behalf_of: Option<UserId>,
    max_files: Option<u32>,
    allowed_extensions: Option<Vec<String>>,
    refused_extensions: Vec<String>,
}

fn kind_name(kind: ToolKind) -> &'static str {
    match kind {
        ToolKind::Upload => "upload",
        ToolKind::Download => "download",
    }
}

impl GrantRecord {
    /// Identifies the page: the same token, tool and options, from the same address.
    pub(crate) fn page_key(&self) -> String {
        let page = serde_json::json!([
            self.token_digest,
            kind_name(self.kind),
            self.ip.to_string(),
            self.limits.max_files,
            self.limits.allowed_extensions,
            self.limits.refused_extensions,
        ]);
        ferry_crypto::sha256_hex(page.to_string().as_bytes())
    }

    /// The grant as stored under `id`.
    pub fn to_stored(&self, id: String) -> Result<StoredGrant> {
        let (folder, files) = match &self.target {
            ToolTarget::Folder(f) => (Some(*f), Vec::new()),
            ToolTarget::Files(ids) => (None, ids.clone()),
            ToolTarget::AccessIds(_) => {
                return Err(Error::Internal("a grant of unresolved access IDs".into()));
            }
        };
        let body = Body {
            kind: kind_name(self.kind).into(),
            folder,
            files,
            email: self.email.clone(),
            session_key: self.session.as_ref().map(SessionKey::to_hex),
            acting_user: self.acting.map(|a| a.user),
            acting_on_behalf_of: self.acting.and_then(|a| a.on_behalf_of),
            max_files: self.limits.max_files,
            allowed_extensions: self.limits.allowed_extensions.clone(),
            refused_extensions: self.limits.refused_extensions.clone(),
        };
        Ok(StoredGrant {
            id,
            page_key: self.page_key(),
            ip: self.ip.to_string(),
            network: super::lockout::network_text(self.ip),
            token_digest: self.token_digest.clone(),
            body: serde_json::to_string(&body)
                .map_err(|e| Error::Internal(format!("grant body: {e}")))?,
            expires_at: self.expires_at,
        })
    }

    /// Reads a stored grant; `None` when it cannot be read (written by another version).
    pub fn from_stored(g: &StoredGrant) -> Option<GrantRecord> {
        let body: Body = serde_json::from_str(&g.body).ok()?;
        let kind = match body.kind.as_str() {
            "upload" => ToolKind::Upload,
            "download" => ToolKind::Download,
            _ => return None,
        };
        let target = match (kind, body.folder) {
            (ToolKind::Upload, Some(f)) => ToolTarget::Folder(f),
            (ToolKind::Download, None) => ToolTarget::Files(body.files),
            _ => return None,
        };
        let session = match body.session_key {
            Some(s) => Some(SessionKey::parse_stored(&s)?),
            None => None,
        };
        Some(GrantRecord {
            kind,
            target,
            email: body.email,
            session,
            ip: g.ip.parse().ok()?,
            expires_at: g.expires_at,
            token_digest: g.token_digest.clone(),
            limits: ToolLimits {
                max_files: body.max_files,
                allowed_extensions: body.allowed_extensions,
                refused_extensions: body.refused_extensions,
            },
            acting: body.acting_user.map(|user| Acting {
                user,
                on_behalf_of: body.acting_on_behalf_of,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(limits: ToolLimits) -> GrantRecord {
        GrantRecord {
            kind: ToolKind::Download,
            target: ToolTarget::Files(vec![3, 4]),
            email: Some("x@example.com".into()),
            session: None,
            ip: "10.0.0.1".parse().unwrap(),
            expires_at: Timestamp(99),
            token_digest: "t1".into(),
            limits,
            acting: Some(Acting {
                user: 12,
                on_behalf_of: Some(1),
            }),
        }
    }

    #[test]
    fn a_grant_reads_back_as_it_was_stored() {
        let limits = ToolLimits {
            max_files: Some(3),
            allowed_extensions: Some(vec!["pdf".into()]),
            refused_extensions: vec!["exe".into()],
        };
        let stored = record(limits.clone()).to_stored("g1".into()).unwrap();
        let back = GrantRecord::from_stored(&stored).unwrap();
        assert_eq!(back.target, ToolTarget::Files(vec![3, 4]));
        assert_eq!(back.limits, limits);
        assert_eq!(
            back.acting,
            Some(Acting {
                user: 12,
                on_behalf_of: Some(1)
            })
        );
        assert_eq!(back.email.as_deref(), Some("x@example.com"));
        let mut other = stored.clone();
        other.body = "{}".into();
        assert!(GrantRecord::from_stored(&other).is_none());
    }

    #[test]
    fn a_grant_is_counted_by_its_network() {
        let from = |ip: &str| {
            let mut r = record(ToolLimits::default());
            r.ip = ip.parse().unwrap();
            r.to_stored("g".into()).unwrap()
        };
        let (a, b) = (from("2001:db8:1:2::1"), from("2001:db8:1:2:ffff::9"));
        assert_eq!(
            (a.network.as_str(), b.network.as_str()),
            ("2001:db8:1:2::/64", "2001:db8:1:2::/64")
        );
        assert_ne!(a.ip, b.ip, "each answers only to its own address");
        assert_eq!(from("::ffff:10.0.0.1").network, "10.0.0.1");
    }

    #[test]
    fn other_options_make_another_page() {
        let plain = record(ToolLimits::default());
        let limited = record(ToolLimits {
            max_files: Some(2),
            ..ToolLimits::default()
        });
        assert_eq!(plain.page_key(), record(ToolLimits::default()).page_key());
        assert_ne!(plain.page_key(), limited.page_key());
    }
}
