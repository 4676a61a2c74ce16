//! The SFTP protocol handler: every request resolved on the Service's tree and carried out in
//! the connection's session. Handles are small integers in text form; uploads stream into
//! staging and commit on `close` (a connection that ends first stores nothing, and says so in
//! an `UploadFailed`); downloads are audited once at `open` and then read at whatever offsets
//! the client asks (`reading.rs`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::content::ContentReader;
use ferry_core::domain::{File as FerryFile, FolderType, SessionKey};
use ferry_core::service::{DownloadTally, Recorded, SessionContext, TreeNode, UploadRequest};
use ferry_core::{Caller, Service};
use russh_sftp::protocol::{
    Attrs, Data, ExtendedReply, File, FileAttributes, Handle, Name, OpenFlags, Packet, Status,
    StatusCode, Version,
};

use crate::attrs::{node_attrs, writing_attrs};
use crate::handles::{HandleLimits, Handles};
use crate::listing::Listing;
use crate::paths::{resolve, wire_string};
use crate::reading::read_ahead;
use crate::refusal::{Refusal, refusal};
use crate::writing::{Commit, WriteFlags, Writing};

/// The OpenSSH extensions served.
const POSIX_RENAME: &str = "posix-rename@openssh.com";
const STATVFS: &str = "statvfs@openssh.com";

/// How long a session check stands: requests within it reuse it, so a closed or revoked
/// session stops working within this time, and a download does not ask the store 30,000
/// times per GiB.
pub(crate) const RECHECK: Duration = Duration::from_secs(1);

/// What a handle stands for.
pub(crate) enum Open {
    /// A download: the file, a reader at `position`, and the commit of the download's audit
    /// record, which every reader of the handle waits for before its first byte; `tally`
    /// counts what the client read, and records the download as broken off if the handle
    /// goes (closed, or the connection gone) before the client read to its end.
    Reading {
        file: FerryFile,
        reader: Option<ContentReader>,
        position: u64,
        recorded: Recorded,
        tally: DownloadTally,
        /// When the caller's rights on the file's folder were last asked (`reading.rs`).
        asked_at: Instant,
    },
    /// A file open for writing (see `writing.rs`).
    Writing(Box<Writing>),
    /// A directory listing, sent in turns (see `listing.rs`).
    Listing(Listing),
}

/// The handler of one SFTP session. (Handles sit in mutexes only to make the handler `Sync`,
/// which russh-sftp's futures need; they are reached through `&mut self`, never locked.)
pub struct SftpHandler {
    pub(crate) service: Arc<Service>,
    session: SessionKey,
    /// Where the connection comes from (for the audit).
    caller: Caller,
    pub(crate) handles: Handles,
    /// The last session check and when it was made.
    pub(crate) checked: Option<(SessionContext, Instant)>,
    /// Where relative paths start (the user's home), found on first use.
    start: Option<String>,
}

/// A channel that ends (the client gone, its session ended, the connection cut) with files
/// still open for writing stored none of them: each is audited as `UploadFailed`, as an FTPS
/// or HTTP upload cut short is, so that the log says an upload was tried and not stored.
impl Drop for SftpHandler {
    fn drop(&mut self) {
        let uncommitted = self.handles.uncommitted_uploads();
        if uncommitted.is_empty() {
            return;
        }
        // Outside a runtime only when the process ends: nothing could be written.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let service = Arc::clone(&self.service);
        runtime.spawn(async move {
            for (ctx, req, bytes) in uncommitted {
                let detail = format!(
                    "the SFTP channel ended with the file open for writing ({bytes} bytes \
                     held, no CLOSE); nothing was stored"
                );
                service.audit_upload_failure(&ctx, &req, detail).await;
            }
        });
    }
}

impl SftpHandler {
    /// A handler acting in `session` for a connection from `caller`.
    pub fn new(
        service: Arc<Service>,
        session: SessionKey,
        caller: Caller,
        limits: HandleLimits,
    ) -> Self {
        SftpHandler {
            service,
            session,
            caller,
            handles: Handles::new(limits),
            checked: None,
            start: None,
        }
    }

    /// The session, checked within the last [`RECHECK`].
    pub(crate) async fn ctx(&mut self) -> Result<SessionContext, Refusal> {
        if let Some((ctx, at)) = &self.checked
            && at.elapsed() < RECHECK
        {
            return Ok(ctx.clone());
        }
        self.checked = None;
        let ctx = self
            .service
            .authenticate_key(&self.session, &self.caller)
            .await
            .map_err(refusal)?;
        self.checked = Some((ctx.clone(), Instant::now()));
        Ok(ctx)
    }

    /// The session, and `raw` (a client's path) as an absolute tree path.
    pub(crate) async fn at(&mut self, raw: &str) -> Result<(SessionContext, String), Refusal> {
        let ctx = self.ctx().await?;
        if self.start.is_none() && !raw.starts_with('/') {
            self.start = Some(self.service.tree_start(&ctx).await);
        }
        let path = resolve(self.start.as_deref().unwrap_or("/"), raw)?;
        Ok((ctx, path))
    }

    /// Writes `data` at `offset` of a write handle (see `writing.rs`). A write that fails
    /// abandons the handle: what it staged is discarded, nothing is committed.
    pub async fn write_at(
        &mut self,
        handle: &str,
        offset: u64,
        data: &[u8],
    ) -> Result<(), Refusal> {
        let Some(Open::Writing(w)) = self.handles.get_mut(handle) else {
            return Err(StatusCode::Failure.into());
        };
        if let Err(e) = w.write(offset, data).await {
            if let Some((ctx, req, _)) = w.uncommitted() {
                self.service.audit_failed_upload(&ctx, &req, &e).await;
            }
            self.handles.take(handle);
            return Err(refusal(e));
        }
        Ok(())
    }

    /// The write handle of this channel on `path`, if one is open (the newest).
    pub(crate) fn writing_at(&mut self, path: &str) -> Option<&mut Writing> {
        self.handles.writing_at(path)
    }
}

fn ok(id: u32) -> Status {
    Status {
        id,
        status_code: StatusCode::Ok,
        error_message: "Ok".into(),
        language_tag: "en-US".into(),
    }
}

impl russh_sftp::server::Handler for SftpHandler {
    type Error = Refusal;

    fn unimplemented(&self) -> Self::Error {
        StatusCode::OpUnsupported.into()
    }

    async fn init(
        &mut self,
        _version: u32,
        _extensions: HashMap<String, String>,
    ) -> Result<Version, Self::Error> {
        let mut version = Version::new();
        for (name, revision) in [(POSIX_RENAME, "1"), (STATVFS, "2")] {
            version.extensions.insert(name.into(), revision.into());
        }
        Ok(version)
    }

    /// `posix-rename@openssh.com` (rename, replacing a file at the new name) and
    /// `statvfs@openssh.com` (the room the user has: the content store's, within their quota); anything else is unsupported.
    async fn extended(
        &mut self,
        id: u32,
        request: String,
        data: Vec<u8>,
    ) -> Result<Packet, Self::Error> {
        let mut fields = data.as_slice();
        match request.as_str() {
            POSIX_RENAME => {
                let from = wire_string(&mut fields)?;
                let to = wire_string(&mut fields)?;
                let (_, to) = self.at(&to).await?;
                let (ctx, from) = self.at(&from).await?;
                self.service
                    .tree_rename_replacing(&ctx, &from, &to)
                    .await
                    .map_err(refusal)?;
                Ok(ok(id).into())
            }
            STATVFS => {
                let path = wire_string(&mut fields)?;
                let (ctx, path) = self.at(&path).await?;
                self.service
                    .tree_resolve(&ctx, &path)
                    .await
                    .map_err(refusal)?;
                let Some(c) = self.service.storage_capacity(&ctx).await.map_err(refusal)? else {
                    return Err(StatusCode::OpUnsupported.into());
                };
                // struct statvfs as OpenSSH sends it: eleven big-endian u64s.
                let files_unknown = 0u64;
                let fields = [
                    c.block_size,
                    c.block_size,
                    c.blocks,
                    c.free_blocks,
                    c.available_blocks,
                    files_unknown,
                    files_unknown,
                    files_unknown,
                    0,   // fsid
                    0,   // flags
                    255, // longest name, in bytes
                ];
                let data = fields.iter().flat_map(|v| v.to_be_bytes()).collect();
                Ok(Packet::ExtendedReply(ExtendedReply { id, data }))
            }
            _ => Err(StatusCode::OpUnsupported.into()),
        }
    }

    async fn realpath(&mut self, id: u32, path: String) -> Result<Name, Self::Error> {
        let (_, path) = self.at(&path).await?;
        Ok(Name {
            id,
            files: vec![File::dummy(path)],
        })
    }

    async fn stat(&mut self, id: u32, path: String) -> Result<Attrs, Self::Error> {
        let (ctx, path) = self.at(&path).await?;
        if let Some(w) = self.writing_at(&path) {
            return Ok(Attrs {
                id,
                attrs: writing_attrs(w.size()),
            });
        }
        let node = self
            .service
            .tree_resolve(&ctx, &path)
            .await
            .map_err(refusal)?;
        Ok(Attrs {
            id,
            attrs: node_attrs(&node),
        })
    }

    async fn lstat(&mut self, id: u32, path: String) -> Result<Attrs, Self::Error> {
        self.stat(id, path).await
    }

    async fn fstat(&mut self, id: u32, handle: String) -> Result<Attrs, Self::Error> {
        let mut a = FileAttributes::empty();
        match self.handles.get_mut(&handle) {
            Some(Open::Reading { file, .. }) => a.size = Some(file.size.max(0) as u64),
            Some(Open::Writing(w)) => a = writing_attrs(w.size()),
            Some(Open::Listing(_)) => a.permissions = Some(0o040555),
            None => return Err(StatusCode::Failure.into()),
        }
        Ok(Attrs { id, attrs: a })
    }

    async fn setstat(
        &mut self,
        id: u32,
        path: String,
        attrs: FileAttributes,
    ) -> Result<Status, Self::Error> {
        self.set_path_attrs(&path, attrs).await?;
        Ok(ok(id))
    }

    async fn fsetstat(
        &mut self,
        id: u32,
        handle: String,
        attrs: FileAttributes,
    ) -> Result<Status, Self::Error> {
        self.set_handle_attrs(&handle, attrs).await?;
        Ok(ok(id))
    }

    async fn opendir(&mut self, id: u32, path: String) -> Result<Handle, Self::Error> {
        let (ctx, path) = self.at(&path).await?;
        let place = self.handles.place()?;
        let folder = match self
            .service
            .tree_resolve(&ctx, &path)
            .await
            .map_err(refusal)?
        {
            TreeNode::Folder(f) => f,
            TreeNode::File(_) => return Err(StatusCode::NoSuchFile.into()),
        };
        let listing = Listing::new(&folder);
        Ok(Handle {
            id,
            handle: self.handles.add(Open::Listing(listing), place),
        })
    }

    async fn readdir(&mut self, id: u32, handle: String) -> Result<Name, Self::Error> {
        let ctx = self.ctx().await?;
        match self.handles.get_mut(&handle) {
            Some(Open::Listing(listing)) => {
                let files = listing.next_batch(&self.service, &ctx).await?;
                if files.is_empty() {
                    Err(StatusCode::Eof.into())
                } else {
                    Ok(Name { id, files })
                }
            }
            _ => Err(StatusCode::Failure.into()),
        }
    }

    async fn open(
        &mut self,
        id: u32,
        filename: String,
        pflags: OpenFlags,
        _attrs: FileAttributes,
    ) -> Result<Handle, Self::Error> {
        let (ctx, filename) = self.at(&filename).await?;
        let place = self.handles.place()?;
        if pflags.contains(OpenFlags::WRITE) {
            let (folder, name) = self
                .service
                .tree_parent(&ctx, &filename)
                .await
                .map_err(refusal)?;
            let req = UploadRequest {
                folder_id: folder.folder.id,
                name,
                overwrite: !pflags.contains(OpenFlags::EXCLUDE),
                rename_if_taken: false,
                expected_size: None,
                expected_sha256: None,
                external_user: None,
            };
            let pending = self
                .service
                .begin_rewrite(
                    &ctx,
                    req,
                    pflags.contains(OpenFlags::TRUNCATE) && !pflags.contains(OpenFlags::APPEND),
                )
                .await
                .map_err(refusal)?;
            if pending.base().is_none() && !pflags.contains(OpenFlags::CREATE) {
                return Err(StatusCode::NoSuchFile.into());
            }
            let flags = WriteFlags {
                truncate: pflags.contains(OpenFlags::TRUNCATE),
                append: pflags.contains(OpenFlags::APPEND),
                read: pflags.contains(OpenFlags::READ),
            };
            let writing = Writing::new(filename, pending, flags);
            return Ok(Handle {
                id,
                handle: self.handles.add(Open::Writing(Box::new(writing)), place),
            });
        }
        let file = match self
            .service
            .tree_resolve_to_download(&ctx, &filename)
            .await
            .map_err(refusal)?
        {
            TreeNode::File(f) => f,
            TreeNode::Folder(_) => return Err(StatusCode::Failure.into()),
        };
        // Answered while the download's record commits: the client's first read waits for it.
        let download = self
            .service
            .download_view_pipelined(&ctx, file, None)
            .await
            .map_err(refusal)?;
        // The client reads where it likes (read ahead of it here): counted as it reads.
        let (reader, tally) = download.reader.into_parts();
        Ok(Handle {
            id,
            handle: self.handles.add(
                Open::Reading {
                    file: download.file,
                    reader: Some(read_ahead(reader)),
                    position: 0,
                    recorded: download.recorded,
                    tally,
                    asked_at: Instant::now(),
                },
                place,
            ),
        })
    }

    async fn read(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        len: u32,
    ) -> Result<Data, Self::Error> {
        let mut data = bytes::BytesMut::new();
        self.read_into(&handle, offset, len, &mut data).await?;
        Ok(Data {
            id,
            data: data.to_vec(),
        })
    }

    async fn write(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        data: Vec<u8>,
    ) -> Result<Status, Self::Error> {
        self.write_at(&handle, offset, &data).await?;
        Ok(ok(id))
    }

    async fn close(&mut self, id: u32, handle: String) -> Result<Status, Self::Error> {
        match self.handles.take(&handle) {
            Some(Open::Writing(w)) => {
                let opened = w.opened;
                match w.into_commit() {
                    Commit::Upload(upload) => {
                        let failed = (upload.context().clone(), upload.request().clone());
                        if let Err(e) = self.service.finish_upload(*upload).await {
                            self.service
                                .audit_failed_upload(&failed.0, &failed.1, &e)
                                .await;
                            return Err(refusal(e));
                        }
                        metrics::histogram!("ferry_sftp_upload_seconds")
                            .record(opened.elapsed().as_secs_f64());
                    }
                    Commit::Time(file, at) => {
                        let ctx = self.ctx().await?;
                        self.service
                            .set_file_time(&ctx, file, at)
                            .await
                            .map_err(refusal)?;
                    }
                    Commit::Nothing => {}
                }
                Ok(ok(id))
            }
            Some(_) => Ok(ok(id)),
            None => Err(StatusCode::Failure.into()),
        }
    }

    async fn remove(&mut self, id: u32, filename: String) -> Result<Status, Self::Error> {
        let (ctx, filename) = self.at(&filename).await?;
        match self
            .service
            .tree_resolve(&ctx, &filename)
            .await
            .map_err(refusal)?
        {
            TreeNode::File(f) => {
                self.service
                    .delete_file(&ctx, f.file.id)
                    .await
                    .map_err(refusal)?;
                Ok(ok(id))
            }
            TreeNode::Folder(_) => Err(StatusCode::Failure.into()),
        }
    }

    async fn mkdir(
        &mut self,
        id: u32,
        path: String,
        _attrs: FileAttributes,
    ) -> Result<Status, Self::Error> {
        let (ctx, path) = self.at(&path).await?;
        let (parent, name) = self
            .service
            .tree_parent(&ctx, &path)
            .await
            .map_err(refusal)?;
        self.service
            .create_folder(&ctx, parent.folder.id, &name, FolderType::Regular)
            .await
            .map_err(refusal)?;
        Ok(ok(id))
    }

    async fn rmdir(&mut self, id: u32, path: String) -> Result<Status, Self::Error> {
        let (ctx, path) = self.at(&path).await?;
        self.service
            .tree_remove_empty_folder(&ctx, &path)
            .await
            .map_err(refusal)?;
        Ok(ok(id))
    }

    async fn rename(
        &mut self,
        id: u32,
        oldpath: String,
        newpath: String,
    ) -> Result<Status, Self::Error> {
        let (_, newpath) = self.at(&newpath).await?;
        let (ctx, oldpath) = self.at(&oldpath).await?;
        self.service
            .tree_rename(&ctx, &oldpath, &newpath)
            .await
            .map_err(refusal)?;
        Ok(ok(id))
    }
}
