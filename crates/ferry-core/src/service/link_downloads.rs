//! Download links limited to a number of downloads. A person sharing a file with someone
//! outside may say how many downloads the link allows (`ShareRequest::max_downloads`), as
//! MFT packages' "maximum downloads" do: a link forwarded, posted or leaked then stops once
//! its recipient has what they were sent, and whoever holds it cannot fetch the files (and
//! write a `FileDownloaded` record each time) without end.
//!
//! A download is one request for a file's bytes through the link's page (a resumed or ranged
//! request counts again; a `HEAD` does not) or one ZIP of its files. Each is counted before
//! its first byte, in its own change (`UPDATE … WHERE downloads < max_downloads`), so
//! downloads at once never take more than allowed, on any number of nodes; a download whose
//! record then fails has still been counted, which errs toward the bound. Unlimited links
//! are not in the index the count looks in (migration 0029): their downloads find nothing
//! and write nothing more.

use super::tools::ToolAccess;
use super::{Service, SessionContext};
use crate::domain::{AuditEntry, DownloadAllowance, Operation, Outcome};
use crate::error::{Error, Result};

/// Most downloads a link may allow.
pub const MAX_LINK_DOWNLOADS: i64 = 10_000;

impl Service {
    /// What a page's link allows, read as the page opens (`None`: not a link, or no limit);
    /// the reason to refuse the page when its downloads are used up.
    pub(super) async fn allowance_of_page(
        &self,
        ctx: &SessionContext,
        link: bool,
    ) -> std::result::Result<Option<DownloadAllowance>, String> {
        if !link {
            return Ok(None);
        }
        let allowance = self
            .store
            .download_allowance(&ctx.session.key)
            .await
            .map_err(|e| format!("download count: {e}"))?;
        match allowance {
            Some(a) if a.left() == 0 => Err(format!(
                "link {}'s downloads are used up ({} of {})",
                a.link, a.taken, a.allowed
            )),
            other => Ok(other),
        }
    }

    /// Counts one download through the page of `access`, before its first byte: nothing to
    /// do unless the page is a link limited to a number of downloads; [`Error::ToolLimit`]
    /// when they are used up (the refusal audited as `AccessDenied`, once a minute per link
    /// and network however often it is tried).
    pub async fn take_tool_download(&self, access: &ToolAccess) -> Result<()> {
        if !access.link {
            return Ok(());
        }
        let Some(allowance) = self
            .store
            .download_allowance(&access.ctx.session.key)
            .await?
        else {
            return Ok(());
        };
        if allowance.left() > 0 {
            let mut tx = self.store.begin().await?;
            let taken = tx.take_link_download(allowance.link).await?;
            tx.commit().await?;
            if taken {
                return Ok(());
            }
        }
        let mut e = AuditEntry::new(Operation::AccessDenied, Outcome::Failure);
        access.ctx.stamp(&mut e);
        e.detail = Some(format!(
            "download through link {}: its {} downloads are used up",
            allowance.link, allowance.allowed
        ));
        let ip = access.ctx.client_ip.as_deref().and_then(|t| t.parse().ok());
        let network = ip.map(super::lockout::network_text).unwrap_or_default();
        let key = format!("link-used-up:{}:{network}", allowance.link);
        self.audit_repeated(&key, None, e).await?;
        Err(Error::ToolLimit(format!(
            "this link's {} downloads are used up; ask whoever sent it for another",
            allowance.allowed
        )))
    }
}
