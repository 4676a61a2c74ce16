//! SARG 2.7.2.2's session-less download token: `RetrieveUploadInfo` gives a file's access ID
//! (`AccessID`) to a session that may download it, and a download token without `Session`
//! names its files by those IDs (`FilePublicID`). An access ID names the file and the user
//! who asked for it and is made with the tools' key ([`ferry_crypto::access_id`]); the page
//! then acts as that user, whose rights are checked as they are when the page opens and on
//! every use of its grant: a user disabled, or no longer allowed to download, ends it.
//! Nothing is stored; changing the tools' key voids every access ID.
//!
//! One asked for by an administrator's impersonated session (`OpenImmutableImpersonate`, as
//! an integrator's portal acting for its users does) also names the administrator: the page
//! acts on their behalf, and its records say so as the impersonated session's own would.
//! Before, they named the user alone. It works only while the administrator could still
//! impersonate (active, of a role that may).

use ferry_crypto::access_id::AccessIdNames;

use super::{Caller, FileView, Service, SessionContext};
use crate::domain::{FileId, Permissions, Session, UserId, application};
use crate::error::{Error, Result};

/// Who a session-less page acts as: the user its access IDs were given to, and the
/// administrator on whose behalf, if an impersonated session asked for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Acting {
    /// The user whose rights the page has.
    pub user: UserId,
    /// The administrator whose impersonation asked for the access IDs.
    pub on_behalf_of: Option<UserId>,
}

impl Service {
    /// `RetrieveUploadInfo`: the file (which the session's user may read) and its access ID
    /// for a download token. Needs Download on the file's folder and the browser tools on.
    pub async fn retrieve_upload_info(
        &self,
        ctx: &SessionContext,
        file: FileId,
    ) -> Result<(FileView, String)> {
        let settings = self.config.tools.as_deref().ok_or(Error::NotPermitted(
            "the browser tools are not configured on this server",
        ))?;
        let view = self.file(ctx, file).await?;
        if !view.effective.contains(Permissions::DOWNLOAD) {
            return Err(Error::NotPermitted(
                "the file may not be downloaded by this user",
            ));
        }
        let access = settings.keys.access_id(&AccessIdNames {
            file: view.file.id,
            user: ctx.user.id,
            on_behalf_of: ctx.session.impersonator_id,
        });
        Ok((view, access))
    }

    /// Who a token's access IDs act as and the files they name: every one made by this
    /// server, all for the same user on the same behalf. The error is a reason for the log.
    pub(super) fn resolve_access_ids(
        &self,
        ids: &[String],
    ) -> std::result::Result<(Acting, Vec<FileId>), String> {
        let settings = self
            .config
            .tools
            .as_deref()
            .ok_or("browser tools are not configured (no token key)")?;
        let mut acting = None;
        let mut files = Vec::with_capacity(ids.len());
        for id in ids {
            let names = settings
                .keys
                .open_access_id(id)
                .ok_or("token FilePublicID is not an access ID made by this server")?;
            let this = Acting {
                user: names.user,
                on_behalf_of: names.on_behalf_of,
            };
            if acting.is_some_and(|a| a != this) {
                return Err("token FilePublicIDs were given to different users".into());
            }
            acting = Some(this);
            files.push(names.file);
        }
        acting
            .map(|a| (a, files))
            .ok_or_else(|| "token names no file".to_string())
    }

    /// The context a session-less page acts in: the access IDs' user, if still active (and
    /// the administrator on whose behalf, if still one who may impersonate), in a stand-in
    /// session of the tools' application that nothing stores. Its ID comes from the token's
    /// digest, so that the audit ties the page's records together.
    pub(super) async fn acting_context(
        &self,
        acting: Acting,
        token_digest: &str,
        caller: &Caller,
    ) -> Result<SessionContext> {
        let user_id = acting.user;
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .filter(|u| u.active && !u.deleted)
            .ok_or(Error::SessionNotFound)?;
        if let Some(admin) = acting.on_behalf_of {
            self.store
                .user_by_id(admin)
                .await?
                .filter(|a| a.active && !a.deleted && a.role.may_impersonate())
                .ok_or(Error::SessionNotFound)?;
        }
        let stand_in = stand_in_session(token_digest)
            .ok_or_else(|| Error::Internal("a token digest is not hex".into()))?;
        let now = self.clock.now();
        Ok(SessionContext {
            session: Session {
                key: stand_in,
                user_id,
                application_id: application::WEB_TOOLS,
                immutable: true,
                created_at: now,
                last_used_at: now,
                expires_at: None,
                client_version: None,
                client_ip: caller.ip_text(),
                impersonator_id: acting.on_behalf_of,
                impersonator_application_id: None,
                external_user: None,
                ssh_key: None,
            },
            user,
            client_ip: caller.ip_text(),
            tool_page: Some(token_digest.to_string()),
        })
    }
}

/// The key of the stand-in session a page of access IDs acts in: that of an ID taken from its
/// token's digest, never stored, so it is told from a stored session by being this.
pub(super) fn stand_in_session(token_digest: &str) -> Option<crate::domain::SessionKey> {
    token_digest
        .get(..32)
        .and_then(|hex| u128::from_str_radix(hex, 16).ok())
        .map(|n| crate::domain::SessionId(uuid::Uuid::from_u128(n)).key())
}
