//! Bounds on one user's live sessions. `OpenImmutable*` makes a new session on every call
//! (spec 2.3.2.4) that lives 48 hours unless closed, and each shared link is a session too;
//! without a bound one account's credentials filled the `sessions` table at the pace of its
//! sign-ins (about 50 a second, `/tmp/probe/sess_flood.py`), and everything that walks a
//! user's sessions (disabling them, a new password, the console's list) grew with it.
//!
//! - Immutable sign-ins: at [`ServiceConfig::max_sessions_per_user`](super::ServiceConfig)
//!   a new one ends the user's least recently used ones, each audited as `SessionRevoked`. A
//!   client that never calls `Close` keeps working (its abandoned sessions go first); a
//!   session in use is touched at least once a minute and so is among the last to go.
//! - Shared links: at [`MAX_LIVE_LINKS`] a new link is refused (110). A link is handed to
//!   someone else, so it is never ended to make room; its maker revokes one instead.
//!
//! `Open` sessions are one per user and application already (each replaces the last).

use super::Service;
use super::admin::end_session;
use crate::clock::Timestamp;
use crate::domain::{UserId, application};
use crate::error::{Error, Result};
use crate::store::StoreTx;

/// Most shared links one user has live at once: as many as the web client's list of links
/// shows, so each can be found and revoked.
pub const MAX_LIVE_LINKS: i64 = 500;

impl Service {
    /// Inside the change that adds an immutable sign-in session for `user`: ends their least
    /// recently used immutable sign-ins so that, with the new one, they hold at most the bound.
    pub(super) async fn make_room_for_session(
        &self,
        tx: &mut Box<dyn StoreTx>,
        user: UserId,
        now: Timestamp,
    ) -> Result<()> {
        let max = self.config.max_sessions_per_user.max(1) as i64;
        let held = tx
            .count_immutable_sessions(user, application::WEB_TOOLS, false)
            .await?;
        if held < max {
            return Ok(());
        }
        let why = format!("ended for a new sign-in: the least recently used of the user's {max}");
        for s in tx
            .least_used_immutable_sessions(user, application::WEB_TOOLS, held - max + 1)
            .await?
        {
            end_session(tx, &s, s.impersonator_id, &why, now).await?;
        }
        Ok(())
    }

    /// Inside the change that makes a shared link for `user`: refuses it if they already have
    /// [`MAX_LIVE_LINKS`] live.
    pub(super) async fn room_for_link(
        &self,
        tx: &mut Box<dyn StoreTx>,
        user: UserId,
    ) -> Result<()> {
        let live = tx
            .count_immutable_sessions(user, application::WEB_TOOLS, true)
            .await?;
        if live >= MAX_LIVE_LINKS {
            return Err(Error::invalid(format!(
                "at most {MAX_LIVE_LINKS} links live at once: revoke one first"
            )));
        }
        Ok(())
    }
}
