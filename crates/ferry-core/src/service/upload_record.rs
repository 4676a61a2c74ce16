//! Recording a finished upload (`files.rs`, [`Service::finish_upload`]): its file, or the
//! next version of the live file with its name, and its audit record, in one grouped change.
//!
//! Where the store can (PostgreSQL), the upload is recorded in one call against what its
//! checks saw at the start (the folder live, the name free or the file at that version), and
//! that call changes nothing if any of it has changed meanwhile; then, as on every store,
//! the change reads the folder and the name and records step by step. Either way the
//! rights are those the checks found, and the change's reads see the batch's earlier
//! members (issue 21: on PostgreSQL an upload's change is one round trip instead of three).

use super::upload::UploadRequest;
use super::{FileView, Service, SessionContext};
use crate::domain::{AuditEntry, File, Operation, Outcome, Permissions};
use crate::error::{Error, Result};
use crate::store::GroupedTx;

/// A committed upload's content, to be recorded.
pub(super) struct NewContent<'a> {
    pub(super) size: u64,
    pub(super) sha256: String,
    pub(super) client_time: Option<crate::clock::Timestamp>,
    pub(super) key: &'a str,
    /// A small file's bytes, kept with the version ([`crate::inline_content`]).
    pub(super) inline: Option<&'a [u8]>,
}

/// An upload being recorded: who, where, with what rights, which bytes, when.
struct Uploaded<'a> {
    ctx: &'a SessionContext,
    req: &'a UploadRequest,
    held: Permissions,
    content: NewContent<'a>,
    now: crate::clock::Timestamp,
}

impl Uploaded<'_> {
    /// The file the upload makes, given the live file with its name (`existing`): that file's
    /// next version (Modify, and the request allows overwriting), or a new file (Create; its
    /// ID 0 until it is inserted).
    fn file(&self, existing: Option<File>, name: String) -> Result<File> {
        let NewContent {
            size,
            sha256,
            client_time,
            key,
            ..
        } = &self.content;
        let size = i64::try_from(*size).map_err(|_| Error::invalid("file too large"))?;
        let by = Some(self.ctx.user.id);
        match existing {
            Some(mut existing) => {
                if !self.req.overwrite {
                    return Err(Error::FileExists);
                }
                if !self.held.contains(Permissions::MODIFY) {
                    return Err(Error::NotPermitted("a new version needs Modify"));
                }
                existing.version += 1;
                existing.size = size;
                existing.sha256 = sha256.clone();
                existing.content_key = key.to_string();
                existing.client_modified_at = *client_time;
                existing.modified_at = self.now;
                existing.modified_by = by;
                Ok(existing)
            }
            None => {
                if !self.held.contains(Permissions::CREATE) {
                    return Err(Error::NotPermitted("a new file needs Create"));
                }
                Ok(File {
                    id: 0,
                    folder_id: self.req.folder_id,
                    name,
                    version: 1,
                    size,
                    sha256: sha256.clone(),
                    content_key: key.to_string(),
                    created_at: self.now,
                    modified_at: self.now,
                    created_by: by,
                    modified_by: by,
                    deleted: false,
                    client_modified_at: *client_time,
                })
            }
        }
    }

    /// The audit record of the upload of `file`.
    fn audit_entry(&self, file: &File) -> AuditEntry {
        let mut e = AuditEntry::new(Operation::FileUploaded, Outcome::Success);
        self.ctx.stamp(&mut e);
        if self.req.external_user.is_some() {
            e.external_user = self.req.external_user.clone();
        }
        e.folder_id = Some(file.folder_id);
        e.file_id = Some(file.id);
        e.path = Some(file.name.clone());
        e.size = Some(file.size);
        e.digest = Some(file.sha256.clone());
        e.detail = Some(format!("version {}", file.version));
        e
    }
}

impl Service {
    /// Records an upload: its file (or the next version) and audit record, in one change.
    /// `seen` is the live file the upload's checks found under its name.
    pub(super) async fn record_upload(
        &self,
        ctx: &SessionContext,
        req: &UploadRequest,
        (name, name_key): (String, &str),
        (held, seen): (Permissions, Option<File>),
        content: NewContent<'_>,
    ) -> Result<FileView> {
        let now = self.clock.now();
        let upload = Uploaded {
            ctx,
            req,
            held,
            content,
            now,
        };
        // Alone, if the store can now (PostgreSQL with nothing else under way): what the
        // checks saw, if it passed them (refused now, it is left to the steps below).
        if let Ok(file) = &upload.file(seen.clone(), name.clone())
            && let Some(id) = self
                .store
                .record_upload_alone(file, upload.content.inline, now, upload.audit_entry(file))
                .await?
        {
            let file = File { id, ..file.clone() };
            return Ok(FileView::checked(file, held));
        }
        // Grouped: concurrent uploads share a commit (issue 21); every way out below ends
        // the change with a commit or a rollback, which wait for the group's commit.
        let mut tx = self.store.begin_grouped().await?;
        let upload = Uploaded {
            now: self.clock.now(),
            ..upload
        };
        let recorded = match Self::record_as_seen(&mut *tx, &upload, &name, seen).await {
            Ok(Some(file)) => Ok(file),
            Ok(None) => Self::record_upload_in(&mut *tx, &upload, name, name_key).await,
            Err(e) => Err(e),
        };
        match recorded {
            Ok(file) => {
                tx.commit().await?;
                Ok(FileView::checked(file, held))
            }
            Err(e) => {
                tx.rollback().await;
                Err(e)
            }
        }
    }

    /// The upload recorded in one call, against what its checks saw, where the store can and
    /// that still holds; `None` (nothing changed) otherwise.
    async fn record_as_seen(
        tx: &mut dyn GroupedTx,
        upload: &Uploaded<'_>,
        name: &str,
        seen: Option<File>,
    ) -> Result<Option<File>> {
        // What the checks saw passed them; refused now, it is left to the reads below.
        let Ok(mut file) = upload.file(seen, name.to_string()) else {
            return Ok(None);
        };
        let entry = upload.audit_entry(&file);
        let id = tx
            .record_upload_as_seen(&file, upload.content.inline, upload.now, entry)
            .await?;
        Ok(id.map(|id| {
            file.id = id;
            file
        }))
    }

    /// The upload recorded step by step, against the folder and name as the change sees them.
    async fn record_upload_in(
        tx: &mut dyn GroupedTx,
        upload: &Uploaded<'_>,
        name: String,
        name_key: &str,
    ) -> Result<File> {
        let folder_id = upload.req.folder_id;
        let (folder, existing) = tx.folder_and_file_by_name(folder_id, name_key).await?;
        if folder.is_none_or(|f| f.deleted) {
            return Err(Error::FolderNotFound);
        }
        let mut file = upload.file(existing, name)?;
        file.id = tx.record_version(&file, upload.content.inline).await?;
        tx.append_audit(upload.now, upload.audit_entry(&file))
            .await?;
        Ok(file)
    }
}
