//! SARG 2.7.2.2's session-less download token: `RetrieveUploadInfo` gives a file's access ID
//! (`AccessID`) to a session that may download it, and a download token without `Session`
//! names its files by those IDs (`FilePublicID`). An access ID names the file and the user
//! who asked for it and is made with the tools' key ([`ferry_crypto::access_id`]); the page
//! then acts as that user, whose rights are checked as they are when the page opens and on
//! every use of its grant: a user disabled, or no longer allowed to download, ends it.
//! Nothing is stored; changing the tools' key voids every access ID.

use super::{Caller, FileView, Service, SessionContext};
use crate::domain::{FileId, Permissions, Session, UserId, application};
use crate::error::{Error, Result};

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
        let access = settings.keys.access_id(view.file.id, ctx.user.id);
        Ok((view, access))
    }

    /// The user and files that a token's access IDs name: every one made by this server, all
    /// for the same user. The error is a reason for the log.
    pub(super) fn resolve_access_ids(
        &self,
        ids: &[String],
    ) -> std::result::Result<(UserId, Vec<FileId>), String> {
        let settings = self
            .config
            .tools
            .as_deref()
            .ok_or("browser tools are not configured (no token key)")?;
        let mut user = None;
        let mut files = Vec::with_capacity(ids.len());
        for id in ids {
            let (file, owner) = settings
                .keys
                .open_access_id(id)
                .ok_or("token FilePublicID is not an access ID made by this server")?;
            if user.is_some_and(|u| u != owner) {
                return Err("token FilePublicIDs were given to different users".into());
            }
            user = Some(owner);
            files.push(file);
        }
        user.map(|u| (u, files))
            .ok_or_else(|| "token names no file".to_string())
    }

    /// The context a session-less page acts in: the access IDs' user, if still active, in a
    /// stand-in session of the tools' application that nothing stores. Its ID comes from the
    /// token's digest, so that the audit ties the page's records together.
    pub(super) async fn acting_context(
        &self,
        user_id: UserId,
        token_digest: &str,
        caller: &Caller,
    ) -> Result<SessionContext> {
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .filter(|u| u.active && !u.deleted)
            .ok_or(Error::SessionNotFound)?;
        let stand_in = token_digest
            .get(..32)
            .and_then(|hex| u128::from_str_radix(hex, 16).ok())
            .map(uuid::Uuid::from_u128)
            .ok_or_else(|| Error::Internal("a token digest is not hex".into()))?;
        let now = self.clock.now();
        Ok(SessionContext {
            session: Session {
                id: crate::domain::SessionId(stand_in),
                user_id,
                application_id: application::WEB_TOOLS,
                immutable: true,
                created_at: now,
                last_used_at: now,
                expires_at: None,
                client_version: None,
                client_ip: caller.ip_text(),
                impersonator_id: None,
                external_user: None,
                ssh_key: None,
            },
            user,
            client_ip: caller.ip_text(),
        })
    }
}
