//! Files: streaming upload through staging, listing and versions (downloads are in
//! `downloads.rs`, rename, move and delete in `file_changes.rs`, the content store's upkeep in
//! `content_upkeep.rs`).
//!
//! An upload is [`Service::begin_upload`] (checks, staging), any number of
//! [`Upload::write`]s (bounded chunks, hashed as they pass), then [`Service::finish_upload`]:
//! the length and digest are checked, the content is made durable, and only then is the file
//! recorded — as version 1, or as version n+1 of the live file with that name — in one change
//! with its audit record. Nothing is visible before that commit, and a failed or abandoned
//! upload leaves nothing behind.

use std::sync::Arc;

use super::upload::{PendingAppend, Upload, UploadPlace, UploadRequest};
use super::upload_record::NewContent;
use super::{Service, SessionContext};
use crate::domain::{
    AuditEntry, File, FileId, FileVersion, FolderId, Operation, Outcome, Permissions,
};
use crate::error::{Error, Result};
use crate::store::NameInFolder;
use crate::text;

/// Most files one `GetFiles` page returns.
pub const MAX_PAGE: i64 = 1000;

/// A file with the bits the caller holds on its folder (`FTHFileData`).
///
/// Only the Service makes a view (`non_exhaustive`: no other crate can), from the store and the
/// caller's grants, so one handed back to it ([`Service::download_view`]) carries bits it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileView {
    /// The file.
    pub file: File,
    /// `EffectivePermission`: the caller's bits on the file's folder.
    pub effective: Permissions,
    /// The file's bytes, when the store read them with the file ([`Service::file_to_download`]:
    /// content kept in the database, [`crate::inline_content`]). Content under a key never
    /// changes, so they are the bytes of the version this view describes.
    pub(crate) prefetched: Option<Arc<[u8]>>,
}

impl FileView {
    /// A view of `file` with the bits the caller was found to hold on its folder.
    pub(crate) fn checked(file: File, effective: Permissions) -> FileView {
        FileView::checked_with(file, effective, None)
    }

    /// [`FileView::checked`], with the file's bytes if the store read them with it.
    pub(crate) fn checked_with(
        file: File,
        effective: Permissions,
        bytes: Option<Vec<u8>>,
    ) -> FileView {
        FileView {
            file,
            effective,
            prefetched: bytes.map(Arc::from),
        }
    }
}

/// Most versions `GetFileVersions` answers at once without `skip` and `take`.
pub const MAX_WHOLE_VERSIONS: i64 = 10_000;

/// Numbered names tried for an upload that may not replace a file ([`Service::free_name`]).
const MAX_NUMBERED: u32 = 100;

/// What a taken name does to an upload by a caller without Read on the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fresh {
    /// A whole new file: stored under the first free numbered name.
    Numbered,
    /// A rewrite or an append of the stored file: needs Modify, as for anyone.
    Refused,
}

impl Service {
    /// A live file the caller may see (Read on its folder), with their bits on the folder.
    pub(super) async fn readable_file(&self, ctx: &SessionContext, id: FileId) -> Result<FileView> {
        self.readable(ctx, id, false).await
    }

    /// [`Service::readable_file`]; `to_download`: with the file's bytes if the store reads them
    /// in the same query (PostgreSQL, a small file: one round trip fewer per download).
    pub(super) async fn readable(
        &self,
        ctx: &SessionContext,
        id: FileId,
        to_download: bool,
    ) -> Result<FileView> {
        // The file and its folder's chain in one read where the store can (PostgreSQL: one
        // round trip instead of two for every download).
        let found = if to_download {
            self.store.file_to_download(id, ctx.user.id).await?
        } else {
            let found = self.store.file_with_chain(id, ctx.user.id).await?;
            found.map(|(f, chain)| (f, chain, None))
        };
        let (file, chain, prefetched) = match found {
            Some((f, chain, bytes)) if !f.deleted => (f, chain, bytes),
            _ => return Err(Error::FileNotFound),
        };
        let visible = Self::effective_on_chain(ctx, &chain).and_then(|held| {
            if held.contains(Permissions::SHOW) {
                Ok(held)
            } else {
                Err(Error::FolderNotFound)
            }
        });
        let held = match visible {
            Ok(held) if held.contains(Permissions::READ) => held,
            Ok(_) | Err(Error::FolderNotFound) => return Err(Error::FileNotFound),
            Err(e) => return Err(e),
        };
        Ok(FileView::checked_with(file, held, prefetched))
    }

    /// Checks an upload and opens its staging. Needs Create on the folder for a new name, Modify
    /// for a new version of an existing file (checked again at the end, when the name's
    /// existence is certain).
    pub async fn begin_upload(&self, ctx: &SessionContext, req: UploadRequest) -> Result<Upload> {
        Ok(self.start_upload(ctx, req, Fresh::Numbered).await?.0)
    }

    /// Begins the next version of a file that starts with the current version's bytes, for
    /// clients that append (SFTP's `APPEND` flag, which OpenSSH's `put -a` uses to resume an
    /// upload; FTP's `APPE`). Committed content never changes: the current bytes are copied
    /// into the new upload on the server (hashed as they pass), the client's bytes follow, and
    /// the whole is recorded as version n+1 when it completes, like any upload. Needs Modify
    /// (Create where no file has the name: then it is a plain upload). Appending to a version
    /// that another upload supersedes meanwhile still makes a version of its own; nothing is
    /// lost.
    ///
    /// The checks are made here; the copy, which takes as long as the file is large, is
    /// [`PendingAppend::copy_stored`], so that a front end can answer its client first.
    pub async fn begin_append(
        &self,
        ctx: &SessionContext,
        req: UploadRequest,
    ) -> Result<PendingAppend> {
        let req = UploadRequest {
            overwrite: true,
            rename_if_taken: false,
            expected_size: None,
            expected_sha256: None,
            ..req
        };
        self.begin_rewrite(ctx, req, false).await
    }

    /// Begins the next version of a file that a client may change anywhere (an SFTP open
    /// for writing without `TRUNC`): the checks of [`Service::begin_upload`] (an existing name
    /// needs Modify and `req.overwrite`), and the live file whose bytes the front end copies
    /// in ([`PendingAppend::copy_stored`]) when the client first writes, or leaves out
    /// ([`PendingAppend::into_empty`]). `truncate`: the client starts the file empty (SFTP's
    /// `TRUNC` without `APPEND`), so that for a caller who may not read the folder a taken name
    /// is numbered as [`Service::begin_upload`] numbers it; without it a rewrite starts from
    /// the stored bytes, which a numbered new file would not hold, and needs Modify.
    pub async fn begin_rewrite(
        &self,
        ctx: &SessionContext,
        req: UploadRequest,
        truncate: bool,
    ) -> Result<PendingAppend> {
        let blind = if truncate {
            Fresh::Numbered
        } else {
            Fresh::Refused
        };
        let (upload, base) = self.start_upload(ctx, req, blind).await?;
        Ok(PendingAppend {
            upload,
            base,
            content: Arc::clone(&self.content),
        })
    }

    /// [`Service::begin_upload`], and the live file the upload will make a new version of.
    async fn start_upload(
        &self,
        ctx: &SessionContext,
        req: UploadRequest,
        blind: Fresh,
    ) -> Result<(Upload, Option<File>)> {
        let checked = self.upload_checks(ctx, &req, false, blind).await?;
        let staged = self.content.stage().await?;
        let existing = checked.existing.clone();
        let upload = checked.into_upload(
            ctx,
            req,
            (staged, self.upload_watch()),
            sha2_011::Sha256::default(),
            0,
        );
        Ok((upload, existing))
    }

    /// Picks up a checkpointed upload ([`Upload::checkpoint`]) on this node, in `ctx` (the
    /// session of the request that continues it), with every check of
    /// [`Service::begin_upload`] made again: rights taken away meanwhile stop the upload.
    pub async fn resume_upload(
        &self,
        ctx: &SessionContext,
        req: UploadRequest,
        at: &super::UploadCheckpoint,
    ) -> Result<Upload> {
        let mut checked = self.upload_checks(ctx, &req, true, Fresh::Numbered).await?;
        if let Some(q) = checked.place.quota.as_mut() {
            q.grow_to(at.size)?;
        }
        let hasher = Upload::hasher_from(&at.hash_state)?;
        let staged = self.content.resume(&at.staged, at.size).await?;
        Ok(checked.into_upload(ctx, req, (staged, self.upload_watch()), hasher, at.size))
    }

    /// The first of `name (2).ext`, `name (3).ext`, … that no file or folder in `folder`
    /// has, for an upload that may not replace anything nor tell its sender what is there
    /// ([`UploadRequest::rename_if_taken`]); [`Error::FileExists`] past [`MAX_NUMBERED`].
    async fn free_name(
        &self,
        ctx: &SessionContext,
        folder: FolderId,
        name: &str,
    ) -> Result<(String, String)> {
        let (stem, ext) = match name.rfind('.') {
            Some(dot) if dot > 0 => name.split_at(dot),
            _ => (name, ""),
        };
        for n in 2..=MAX_NUMBERED {
            let Ok((candidate, key)) = text::item_name("name", &format!("{stem} ({n}){ext}"))
            else {
                break; // too long with the number: no numbered name fits
            };
            let taken = self
                .store
                .chain_and_file_by_name(folder, ctx.user.id, &key)
                .await?;
            if taken.file.is_none() && !taken.folder_has_it {
                return Ok((candidate, key));
            }
        }
        Err(Error::FileExists)
    }

    /// What an upload must pass before its bytes are taken: a good name (and digest, if one
    /// is declared), the folder visible, Create (or Modify and `overwrite` where a file has
    /// the name), room in its user's quota. `resuming`: a resumable upload continued, whose
    /// own reservation is already counted. `blind`: what a taken name does to the upload of
    /// a caller who may not read the folder.
    async fn upload_checks(
        &self,
        ctx: &SessionContext,
        req: &UploadRequest,
        resuming: bool,
        blind: Fresh,
    ) -> Result<Checked> {
        let (mut name, mut name_key) = text::item_name("name", &req.name)?;
        if let Some(d) = &req.expected_sha256
            && (d.len() != 64 || !d.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(Error::invalid("the declared SHA-256 must be 64 hex digits"));
        }
        // The chain and the name in one read where the store can (PostgreSQL: one round trip).
        let NameInFolder {
            chain,
            file: mut existing,
            mut folder_has_it,
        } = self
            .store
            .chain_and_file_by_name(req.folder_id, ctx.user.id, &name_key)
            .await?;
        let held = Self::effective_on_chain(ctx, &chain)?;
        // A navigation folder is known to everyone: the `require` below refuses the write as
        // not permitted.
        if !crate::domain::is_navigation(req.folder_id) && !held.contains(Permissions::SHOW) {
            return Err(Error::FolderNotFound);
        }
        // A caller who may not read the folder (a drop box: Create without Read) is not
        // told what it holds, nor refused because another sender took a name first: a taken
        // name is numbered, as a shared link's upload's is.
        let numbered =
            req.rename_if_taken || (blind == Fresh::Numbered && !held.contains(Permissions::READ));
        if numbered && (existing.is_some() || folder_has_it) {
            (name, name_key) = self.free_name(ctx, req.folder_id, &name).await?;
            (existing, folder_has_it) = (None, false);
        }
        if existing.is_some() && !req.overwrite {
            return Err(Error::FileExists);
        }
        let needed = if existing.is_some() {
            Permissions::MODIFY
        } else {
            Permissions::CREATE
        };
        // `held` is what `require` would read again: it is asked only to refuse (and audit).
        if !held.contains(needed) {
            self.require(ctx, req.folder_id, needed, Operation::FileUploaded)
                .await?;
        }
        // A folder's name, once the rights allow the upload: refused before the bytes are
        // taken (SFTP's `OPEN`, FTPS's `STOR`). The record would be refused anyway (migration
        // 0022), but only at the end, and paramiko ignores a failed `CLOSE`.
        if existing.is_none() && folder_has_it {
            return Err(Error::AlreadyExists(
                "a folder with that name in the folder".into(),
            ));
        }
        // Counted once it would go ahead, so that a refused upload takes no place. Through a
        // browser tool's page (a shared link, a token: whoever holds it uploads as its user),
        // in the page's count as well as the user's.
        let page = match &ctx.tool_page {
            Some(digest) => Some(
                self.page_uploads
                    .admit(digest.clone())
                    .ok_or(Error::TooManyUploads(self.page_uploads.max()))?,
            ),
            None => None,
        };
        let user = self
            .uploads
            .admit(ctx.user.id)
            .ok_or(Error::TooManyUploads(self.uploads.max()))?;
        // Weighed last, once the upload would otherwise go ahead: a refusal above takes
        // no read of the user's stored bytes.
        let quota = self.quota_hold(ctx, req, resuming).await?;
        let place = UploadPlace {
            _user: user,
            _page: page,
            quota,
        };
        Ok(Checked {
            name,
            name_key,
            held,
            existing,
            place,
        })
    }

    /// Completes an upload: checks length and digest, makes the content durable, records the
    /// file (or its next version) and the audit record in one change.
    pub async fn finish_upload(&self, mut up: Upload) -> Result<FileView> {
        let sha256 = up.digest().await?;
        let Upload {
            ctx,
            req,
            name,
            name_key,
            held,
            mut staged,
            size,
            client_time,
            seen,
            // Held until the upload is recorded or refused: its buffers live until then, and
            // its bytes count toward its user's quota until they count as stored.
            mut place,
            checked_at,
            ..
        } = up;
        if req.expected_size.is_some_and(|n| n != size) {
            return Err(Error::ContentMismatch("length"));
        }
        if req.expected_sha256.as_ref().is_some_and(|d| {
            !ferry_crypto::constant_time_eq(d.to_ascii_lowercase().as_bytes(), sha256.as_bytes())
        }) {
            return Err(Error::ContentMismatch("SHA-256 digest"));
        }
        if let Some(q) = place.quota.as_mut() {
            self.quota_final(q, size).await?;
        }
        // A small file goes into the database with its version: one commit, no content fsync.
        let small = match self.config.inline_max_bytes {
            0 => None,
            max => staged.take_small(max),
        };
        let key = match &small {
            Some(_) => {
                drop(staged);
                crate::inline_content::new_inline_key()
            }
            None => staged.commit().await?,
        };
        // The bytes may have taken hours to arrive: a session ended meanwhile (the user
        // disabled, a new password, a revocation, `Close`) ends the upload, as it closes SFTP
        // and FTPS connections, and nothing is recorded. Checked as late as it can be before
        // the change: an end that races the commit itself lands either side of it.
        // So may the rights it was checked with: a grant taken away while the bytes arrived
        // (a partner's access withdrawn mid-upload) refuses the record, as an ended session
        // does, instead of a `FileUploaded` after the trail's `PermissionsChanged`. An upload
        // that took less than a second keeps its checks' reading (the record's change checks
        // the folder and the name). In a block of its own: every failure below must reach
        // the clean-up after it.
        let recorded = async {
            if !self.context_alive(&ctx).await? {
                return Err(Error::SessionNotFound);
            }
            let held = if checked_at.elapsed() >= super::SESSION_RECHECK {
                self.effective(&ctx, req.folder_id).await?
            } else {
                held
            };
            self.record_upload(
                &ctx,
                &req,
                (name, &name_key),
                (held, seen),
                NewContent {
                    size,
                    sha256,
                    client_time,
                    key: &key,
                    inline: small.as_deref(),
                },
            )
            .await
        }
        .await;
        match recorded {
            Ok(view) => Ok(view),
            // Inline bytes went with the change that failed.
            Err(e) if small.is_some() => Err(e),
            Err(e) => {
                // The content is durable but unrecorded: remove it so nothing is left behind.
                if let Err(ce) = self.content.delete(&key).await {
                    tracing::warn!(error = %ce, "could not remove the content of a failed upload");
                }
                Err(e)
            }
        }
    }

    /// Audits a failed upload (the bytes were discarded).
    pub async fn audit_failed_upload(
        &self,
        ctx: &SessionContext,
        req: &UploadRequest,
        error: &Error,
    ) {
        self.audit_upload_failure(ctx, req, error.to_string()).await
    }

    /// Audits an upload that failed for a reason of the front end's (`detail`: a client gone
    /// before it closed the file), the bytes discarded.
    pub async fn audit_upload_failure(
        &self,
        ctx: &SessionContext,
        req: &UploadRequest,
        detail: String,
    ) {
        let mut e = AuditEntry::new(Operation::UploadFailed, Outcome::Failure);
        ctx.stamp(&mut e);
        e.folder_id = Some(req.folder_id);
        e.path = Some(req.name.clone());
        e.detail = Some(detail);
        if let Err(err) = self.audit_alone(e).await {
            tracing::warn!(error = %err, "could not audit a failed upload");
        }
    }

    /// `GetFile`. Needs Read on the file's folder.
    pub async fn file(&self, ctx: &SessionContext, id: FileId) -> Result<FileView> {
        self.readable_file(ctx, id).await
    }

    /// [`Service::file`] for a front end about to download the file
    /// ([`Service::download_view`]): the same checks, and the view may carry the file's bytes,
    /// read with it.
    pub async fn file_to_download(&self, ctx: &SessionContext, id: FileId) -> Result<FileView> {
        self.readable(ctx, id, true).await
    }

    /// `GetFileByName`. Needs Read on the folder.
    pub async fn file_by_name(
        &self,
        ctx: &SessionContext,
        folder: FolderId,
        name: &str,
    ) -> Result<FileView> {
        let (_, key) = text::item_name("name", name)?;
        let held = self
            .require(ctx, folder, Permissions::READ, Operation::AccessDenied)
            .await?;
        let file = self
            .store
            .file_by_name(folder, &key)
            .await?
            .ok_or(Error::FileNotFound)?;
        Ok(FileView::checked(file, held))
    }

    /// `GetFiles`: one page of a folder's files by name. Needs Read.
    pub async fn files(
        &self,
        ctx: &SessionContext,
        folder: FolderId,
        skip: i64,
        take: i64,
    ) -> Result<Vec<FileView>> {
        if skip < 0 || !(1..=MAX_PAGE).contains(&take) {
            return Err(Error::invalid(format!(
                "skip must be 0 or more and take between 1 and {MAX_PAGE}"
            )));
        }
        let held = self
            .require(ctx, folder, Permissions::READ, Operation::AccessDenied)
            .await?;
        Ok(self
            .store
            .files(folder, skip, take)
            .await?
            .into_iter()
            .map(|file| FileView::checked(file, held))
            .collect())
    }

    /// `GetFileVersions`: a file's versions, oldest first. Needs Read. With `page` (skip,
    /// take), that page of them; without, all of them, refused when there are more than
    /// [`MAX_WHOLE_VERSIONS`] (anyone with Modify can make a file's versions as many as
    /// its uploads, and a whole answer of 100,000 would be held until the caller read it).
    pub async fn file_versions(
        &self,
        ctx: &SessionContext,
        id: FileId,
        page: Option<(i64, i64)>,
    ) -> Result<Vec<FileVersion>> {
        self.readable_file(ctx, id).await?;
        let (skip, take) = page.unwrap_or((0, MAX_WHOLE_VERSIONS + 1));
        let versions = self
            .store
            .file_versions_page(id, false, skip.max(0), take.max(0))
            .await?;
        if page.is_none() && versions.len() as i64 > MAX_WHOLE_VERSIONS {
            return Err(Error::invalid(format!(
                "the file has more than {MAX_WHOLE_VERSIONS} versions: \
                 ask for them a page at a time with skip and take"
            )));
        }
        Ok(versions)
    }
}

/// An upload's name and rights, checked.
struct Checked {
    name: String,
    name_key: String,
    held: Permissions,
    existing: Option<File>,
    place: UploadPlace,
}

impl Checked {
    /// The upload, its first `size` bytes staged in `staged` and hashed into `hasher`, its
    /// session and rights read through `watch` while its bytes arrive.
    fn into_upload(
        self,
        ctx: &SessionContext,
        req: UploadRequest,
        (staged, watch): (
            Box<dyn crate::content::StagedContent>,
            super::upload::UploadWatch,
        ),
        hasher: sha2_011::Sha256,
        size: u64,
    ) -> Upload {
        Upload {
            ctx: ctx.clone(),
            req,
            name: self.name,
            name_key: self.name_key,
            held: self.held,
            staged,
            hasher: Some(hasher),
            size,
            written: size,
            client_time: None,
            seen: self.existing,
            place: self.place,
            checked_at: std::time::Instant::now(),
            asked_at: std::time::Instant::now(),
            watch,
        }
    }
}
