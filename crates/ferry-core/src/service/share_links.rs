//! Links a person shares from the web client (issue 17): "Request files" (an upload link into
//! a folder) and "Share" (a download link for files), both needing the Distribute bit. A link
//! is a version-2 browser-tool token that any address may open until it ends (`AllowedIP`
//! `*` with `ExpiresAt`), naming a session of its own (application 1, ending with the link):
//! the page acts with the sharer's bits, and every check of [`Service::open_tool`] applies.
//! Revoking a link ends its session, so the link is then refused exactly as an expired one.
//! The token is not kept; the sharer may have it issued again while the link lives. A link's
//! session is one of the user's sessions: disabling the user or changing their password ends
//! it too. And a link is a distribution: its page works only while its maker still holds
//! Distribute on what it opens ([`Service::link_distributes`]), so taking that bit away ends
//! their links there as well.

use super::link_downloads::MAX_LINK_DOWNLOADS;
use super::recheck::caller_unchanged;
use super::{Caller, Service, SessionContext};
use crate::domain::{
    AuditEntry, Operation, Outcome, Permissions, Session, SessionId, ShareLink, ShareLinkId,
    ShareTarget, application,
};
use crate::error::{Error, Result};
use crate::text;
use crate::tool_token::{MAX_LINK_DAYS, MAX_TOKEN_FILES, ToolClaims, ToolTarget};

/// Whether a tool page's context is a shared link's: a stored session of the tools'
/// application (only links make those; an access-ID page's stand-in session is not stored).
pub(super) fn is_link(ctx: &SessionContext, stored_session: bool) -> bool {
    stored_session && ctx.session.application_id == application::WEB_TOOLS
}

/// Most links one listing shows.
const MAX_LISTED_LINKS: i64 = 500;

/// A link to make.
#[derive(Debug, Clone)]
pub struct ShareRequest {
    /// What it opens.
    pub target: ShareTarget,
    /// How long it lasts from now, in milliseconds (at most [`MAX_LINK_DAYS`] days).
    pub lasts_ms: i64,
    /// The recipient's e-mail, if given.
    pub email: Option<String>,
    /// How many downloads a download link allows (1 to [`MAX_LINK_DOWNLOADS`]); `None` for
    /// no limit. An upload link takes none.
    pub max_downloads: Option<i64>,
}

/// A link and its token (to be put in a URL and shown to its maker only).
#[derive(Debug, Clone)]
pub struct SharedLink {
    /// The stored link.
    pub link: ShareLink,
    /// The token of its page.
    pub token: String,
}

impl Service {
    /// Whether a shared link's maker (`ctx`) still holds Distribute on what it opens: the
    /// folder of an upload link, the folder of every file of a download link. Checked when its
    /// page opens and on every request the page makes: a link made while they held the bit
    /// stops working when it is taken away, as it would if it were made then.
    pub(super) async fn link_distributes(
        &self,
        ctx: &SessionContext,
        target: &ToolTarget,
    ) -> Result<bool> {
        let held = |effective: Permissions| effective.contains(Permissions::DISTRIBUTE);
        match target {
            ToolTarget::Folder(id) => match self.effective(ctx, *id).await {
                Ok(bits) => Ok(held(bits)),
                Err(Error::FolderNotFound) => Ok(false),
                Err(e) => Err(e),
            },
            ToolTarget::Files(ids) => {
                for id in ids {
                    match self.file(ctx, *id).await {
                        Ok(view) if held(view.effective) => {}
                        Ok(_) | Err(Error::FileNotFound | Error::FolderNotFound) => {
                            return Ok(false);
                        }
                        Err(Error::NotPermitted(_)) => return Ok(false),
                        Err(e) => return Err(e),
                    }
                }
                Ok(true)
            }
            ToolTarget::AccessIds(_) => Ok(true),
        }
    }

    /// Whether links can be made (the browser tools have a key).
    pub fn sharing_enabled(&self) -> bool {
        self.config.tools.is_some()
    }

    /// Makes a link: needs Distribute, and what its page will do (Create on an upload link's
    /// folder; Read and Download on a download link's files). Audited as `LinkCreated`.
    pub async fn share(
        &self,
        ctx: &SessionContext,
        req: ShareRequest,
        caller: &Caller,
    ) -> Result<SharedLink> {
        if !self.sharing_enabled() {
            return Err(Error::NotPermitted(
                "links need the browser tools' key ([tools] key)",
            ));
        }
        let now = self.clock.now();
        if req.lasts_ms <= 0 || req.lasts_ms > MAX_LINK_DAYS * 86_400_000 {
            return Err(Error::invalid(format!(
                "a link ends within {MAX_LINK_DAYS} days from now"
            )));
        }
        match (req.max_downloads, &req.target) {
            (None, _) => {}
            (Some(_), ShareTarget::Upload(_)) => {
                return Err(Error::invalid("only a download link counts downloads"));
            }
            (Some(n), ShareTarget::Download(_)) if !(1..=MAX_LINK_DOWNLOADS).contains(&n) => {
                return Err(Error::invalid(format!(
                    "a link allows 1 to {MAX_LINK_DOWNLOADS} downloads, or any number"
                )));
            }
            (Some(_), ShareTarget::Download(_)) => {}
        }
        let email = match req.email.as_deref().map(str::trim) {
            Some(e) if !e.is_empty() => {
                text::email("email", e)?;
                Some(e.to_string())
            }
            _ => None,
        };
        let (folder_id, file_id) = match &req.target {
            ShareTarget::Upload(folder) => {
                let needed = Permissions::DISTRIBUTE.union(Permissions::CREATE);
                self.require(ctx, *folder, needed, Operation::LinkCreated)
                    .await?;
                (Some(*folder), None)
            }
            ShareTarget::Download(files) => {
                if files.is_empty() || files.len() > MAX_TOKEN_FILES {
                    return Err(Error::invalid(format!(
                        "a download link names 1 to {MAX_TOKEN_FILES} files"
                    )));
                }
                let needed = Permissions::DISTRIBUTE.union(Permissions::DOWNLOAD);
                let mut folder = None;
                for id in files {
                    let view = self.readable_file(ctx, *id).await?;
                    if !view.effective.contains(needed) {
                        self.require(ctx, view.file.folder_id, needed, Operation::LinkCreated)
                            .await?;
                    }
                    folder = Some(view.file.folder_id);
                }
                (folder, (files.len() == 1).then(|| files[0]))
            }
        };
        // Checked before anything is stored: a link whose token cannot be issued is no link.
        let settings = self.link_settings()?;
        let id = SessionId::generate();
        let session = Session {
            key: id.key(),
            user_id: ctx.user.id,
            application_id: application::WEB_TOOLS,
            immutable: true,
            created_at: now,
            last_used_at: now,
            expires_at: Some(now.plus_millis(req.lasts_ms)),
            client_version: Some("ferry web client: shared link".into()),
            client_ip: caller.ip_text(),
            impersonator_id: ctx.session.impersonator_id,
            impersonator_application_id: ctx.session.impersonator_application_id,
            external_user: email.clone(),
            ssh_key: None,
        };
        let mut link = ShareLink {
            id: 0,
            user_id: ctx.user.id,
            session: session.key,
            sealed_session: Some(settings.keys.seal_link_session(id.0.as_bytes())),
            target: req.target,
            email,
            created_at: now,
            expires_at: now.plus_millis(req.lasts_ms),
            revoked_at: None,
            max_downloads: req.max_downloads,
            downloads: 0,
        };
        let mut tx = self.store.begin().await?;
        // The link's session is one more of the user's: made after a reset ended the others
        // (an intruder shut out), it would let the intruder back in by the link.
        caller_unchanged(&mut tx, ctx).await?;
        self.room_for_link(&mut tx, ctx.user.id).await?;
        tx.insert_session(&session).await?;
        link.id = tx.insert_share_link(&link).await?;
        let mut e = AuditEntry::new(Operation::LinkCreated, Outcome::Success);
        ctx.stamp(&mut e);
        e.folder_id = folder_id;
        e.file_id = file_id;
        e.external_user = link.email.clone();
        e.detail = Some(format!(
            "{} link {} until {}{}; its session {}",
            link.kind(),
            link.id,
            link.expires_at.to_rfc3339(),
            link.max_downloads
                .map(|n| format!(", at most {n} download{}", if n == 1 { "" } else { "s" }))
                .unwrap_or_default(),
            session.key.tag()
        ));
        tx.append_audit(now, e).await?;
        tx.commit().await?;
        let token = self.link_token(&link, id)?;
        Ok(SharedLink { link, token })
    }

    fn link_settings(&self) -> Result<&super::tools::ToolSettings> {
        self.config.tools.as_deref().ok_or(Error::NotPermitted(
            "links need the browser tools' key ([tools] key)",
        ))
    }

    /// The token of `link`'s page, naming its session `id`.
    fn link_token(&self, link: &ShareLink, id: SessionId) -> Result<String> {
        self.link_settings()?.issue(&ToolClaims {
            version: 2,
            target: match &link.target {
                ShareTarget::Upload(f) => ToolTarget::Folder(*f),
                ShareTarget::Download(ids) => ToolTarget::Files(ids.clone()),
            },
            email: link.email.clone(),
            allowed_ip: None,
            issued_at: self.clock.now(),
            expires_at: Some(link.expires_at),
            session: Some(id),
        })
    }

    /// The links the caller made, the newest first, each with whether it still works (not
    /// revoked, not ended).
    pub async fn my_share_links(&self, ctx: &SessionContext) -> Result<Vec<(ShareLink, bool)>> {
        let now = self.clock.now();
        Ok(self
            .store
            .share_links(ctx.user.id, MAX_LISTED_LINKS)
            .await?
            .into_iter()
            .map(|l| {
                let live = l.revoked_at.is_none() && l.expires_at > now;
                (l, live)
            })
            .collect())
    }

    /// A link of the caller's, with its token issued again (while it lives).
    pub async fn share_link_token(
        &self,
        ctx: &SessionContext,
        id: ShareLinkId,
    ) -> Result<SharedLink> {
        let link = self.own_link(ctx, id).await?;
        if link.revoked_at.is_some() || link.expires_at <= self.clock.now() {
            return Err(Error::invalid("the link has ended"));
        }
        let sealed = link.sealed_session.as_deref().ok_or_else(|| {
            Error::invalid("the link was made before this version of Ferry, which had no tools key to keep it with, and cannot be shown again: make a new one")
        })?;
        let id = self
            .link_settings()?
            .keys
            .open_link_session(sealed)
            .map(|raw| SessionId(uuid::Uuid::from_bytes(raw)))
            .ok_or_else(|| {
                Error::invalid("the link was made under another tools key and cannot be shown again: make a new one")
            })?;
        let token = self.link_token(&link, id)?;
        Ok(SharedLink { link, token })
    }

    async fn own_link(&self, ctx: &SessionContext, id: ShareLinkId) -> Result<ShareLink> {
        match self.store.share_link(id).await? {
            Some(link) if link.user_id == ctx.user.id => Ok(link),
            // Another user's link reads as no link.
            _ => Err(Error::FileNotFound),
        }
    }

    /// Revokes a link of the caller's: its session ends, so its page and any page already
    /// open are refused from now on. Audited as `LinkRevoked`.
    pub async fn revoke_share_link(&self, ctx: &SessionContext, id: ShareLinkId) -> Result<()> {
        let link = self.own_link(ctx, id).await?;
        if link.revoked_at.is_some() {
            return Ok(());
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.delete_session(&link.session).await?;
        tx.revoke_share_link(id, now).await?;
        let mut e = AuditEntry::new(Operation::LinkRevoked, Outcome::Success);
        ctx.stamp(&mut e);
        if let ShareTarget::Upload(f) = link.target {
            e.folder_id = Some(f);
        }
        e.session_tag = Some(link.session.tag());
        e.detail = Some(format!("{} link {id}", link.kind()));
        tx.append_audit(now, e).await?;
        tx.commit().await?;
        Ok(())
    }
}
