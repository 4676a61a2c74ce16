//! `SETSTAT` and `FSETSTAT`: what of a file's attributes a client may set.
//!
//! - Times: the modification time is stored with the version (`Service::set_file_time`, or
//!   with the upload when set on a file being written, as `put -p` does before `CLOSE`) and
//!   shown from then on, so that `rclone sync` finds unchanged files unchanged. Folders' times
//!   are accepted and not stored.
//! - Modes: accepted and ignored, as SFTPGo's `setstat_mode` does: Ferry's permission bits
//!   decide, and `put -r`, `scp -r` and `pscp -r` set directory modes and would otherwise
//!   report every folder as failed.
//! - Sizes: only on a file being written (`ftruncate`, sshfs's `truncate`).
//! - Owners: refused.

use ferry_core::Timestamp;
use ferry_core::service::TreeNode;
use russh_sftp::protocol::{FileAttributes, StatusCode};

use crate::refusal::{Refusal, refusal};
use crate::sftp::{Open, SftpHandler};

/// The modification time in `attrs`, if it carries one.
fn modified(attrs: &FileAttributes) -> Option<Timestamp> {
    attrs.mtime.map(|t| Timestamp(i64::from(t) * 1000))
}

impl SftpHandler {
    /// `SETSTAT` of `raw`, a client's path.
    pub(crate) async fn set_path_attrs(
        &mut self,
        raw: &str,
        attrs: FileAttributes,
    ) -> Result<(), Refusal> {
        let (ctx, path) = self.at(raw).await?;
        if attrs.uid.is_some() || attrs.gid.is_some() {
            return Err(StatusCode::OpUnsupported.into());
        }
        if let Some(w) = self.writing_at(&path) {
            if let Some(len) = attrs.size {
                w.set_size(len).await.map_err(refusal)?;
            }
            if let Some(at) = modified(&attrs) {
                w.set_client_time(at);
            }
            return Ok(());
        }
        let node = self
            .service
            .tree_resolve(&ctx, &path)
            .await
            .map_err(refusal)?;
        if attrs.size.is_some() {
            return Err(StatusCode::OpUnsupported.into());
        }
        if let (TreeNode::File(f), Some(at)) = (node, modified(&attrs)) {
            self.service
                .set_file_time(&ctx, f.file.id, at)
                .await
                .map_err(refusal)?;
        }
        Ok(())
    }

    /// `FSETSTAT` of an open handle.
    pub(crate) async fn set_handle_attrs(
        &mut self,
        handle: &str,
        attrs: FileAttributes,
    ) -> Result<(), Refusal> {
        if attrs.uid.is_some() || attrs.gid.is_some() {
            return Err(StatusCode::OpUnsupported.into());
        }
        let at = modified(&attrs);
        let file = match self.handles.get_mut(handle) {
            Some(Open::Writing(w)) => {
                if let Some(len) = attrs.size {
                    w.set_size(len).await.map_err(refusal)?;
                }
                if let Some(at) = at {
                    w.set_client_time(at);
                }
                return Ok(());
            }
            None => return Err(StatusCode::Failure.into()),
            Some(_) if attrs.size.is_some() => return Err(StatusCode::OpUnsupported.into()),
            Some(Open::Reading { file, .. }) => file.id,
            Some(Open::Listing(_)) => return Ok(()),
        };
        if let Some(at) = at {
            let ctx = self.ctx().await?;
            self.service
                .set_file_time(&ctx, file, at)
                .await
                .map_err(refusal)?;
        }
        Ok(())
    }
}
