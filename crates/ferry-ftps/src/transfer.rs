//! The commands that use a data connection: `LIST`, `NLST`, `MLSD`, `RETR`, `STOR`, `APPE`. Each one
//! checks everything it can (path, permission bits, offsets) *before* its `150` reply, so a
//! refusal is one clear `5xx` and no data connection is opened for nothing.
//!
//! Uploads stream into staging through the Service's `Upload`: TLS decrypts straight into the
//! staged block (no buffer of ours, no copy), where it is hashed; the content store writes
//! full blocks on a blocking thread. The file is committed only after the client's
//! close_notify; a connection cut without it drops the staged bytes and is audited as a failed
//! upload.

use std::sync::Arc;

use ferry_core::Error;
use ferry_core::service::{
    PendingAppend, SESSION_RECHECK, TreeListing, TreeNode, Upload, UploadRequest,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::data::DataError;
use crate::listing::Entry;
use crate::reply::Reply;
use crate::session::{ControlSession, Outcome};
use crate::stream::Stream;

/// Bytes a download reads from the content store and writes to the data connection at once
/// (uploads are read straight into the staged block).
const TRANSFER_CHUNK: usize = 256 * 1024;

impl ControlSession {
    /// Takes the prepared data connection plan, if the protection rules allow a transfer.
    fn take_plan(&mut self) -> Result<crate::data::DataPlan, Reply> {
        if !self.protect_data && !self.shared.settings.allow_plain_data {
            self.set_plan(None);
            return Err(Reply::new(
                521,
                "Data connections must be protected: send PBSZ 0 and PROT P first",
            ));
        }
        let plan = self.plan.take();
        self.set_plan(None);
        plan.ok_or_else(|| Reply::new(425, "Use PASV, EPSV, PORT or EPRT first"))
    }

    /// Opens the data connection of a transfer whose `150` was sent.
    async fn open_data(&self, plan: crate::data::DataPlan) -> Result<Stream, Reply> {
        let tls = if self.protect_data {
            self.tls.as_ref()
        } else {
            None
        };
        plan.open(tls, self.shared.settings.require_tls_session_reuse)
            .await
            .map_err(|e| {
                tracing::warn!(peer = %self.peer, error = %e, "FTPS data connection refused");
                data_reply(e)
            })
    }

    /// `LIST`, `NLST` and `MLSD` of a folder (`LIST` and `NLST` also of a single file).
    pub(crate) async fn list(&mut self, verb: &str, arg: &str) -> Outcome {
        let plan = self.take_plan()?;
        // `LIST -la dir`: options are ls's, which the listing does not need.
        let target = if verb == "MLSD" {
            arg.to_string()
        } else {
            arg.split(' ')
                .filter(|w| !w.starts_with('-'))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let ctx = self.ctx().await?;
        let path = self.path(&target)?;
        let service = Arc::clone(&self.shared.service);
        let node = service
            .tree_resolve(&ctx, &path)
            .await
            .map_err(|e| Reply::from_error(&e))?;
        let (mut sent, mut listing) = (0, None);
        let single = match node {
            TreeNode::Folder(f) => {
                listing = Some(TreeListing::of(&f));
                Vec::new()
            }
            TreeNode::File(_) if verb == "MLSD" => {
                return Err(Reply::new(501, "MLSD lists folders; use MLST for a file"));
            }
            file => vec![Entry::node(&file)],
        };
        let now = time::OffsetDateTime::now_utc();
        self.send_mark(Reply::new(150, "Here comes the listing"))
            .await?;
        let mut data = self.open_data(plan).await?;
        if !single.is_empty() {
            sent = single.len();
            if send_lines(&mut data, verb, &single, now).await.is_err() {
                return Err(aborted());
            }
        }
        // A folder a page at a time, each page written before the next is read: a listing of
        // a folder of 100,000 files or subfolders holds one page, not the folder.
        while let Some(items) = listing.as_mut() {
            let page = match items.next(&service, &ctx).await {
                Ok(page) if page.is_empty() => break,
                Ok(page) => page,
                Err(e) => {
                    data.finish().await;
                    return Err(Reply::new(451, format!("The listing ended early: {e}")));
                }
            };
            let entries: Vec<Entry> = page.iter().map(Entry::node).collect();
            sent += entries.len();
            if send_lines(&mut data, verb, &entries, now).await.is_err() {
                return Err(aborted());
            }
        }
        if data.flush().await.is_err() {
            return Err(aborted());
        }
        data.finish().await;
        Ok(Reply::new(226, format!("Listing sent ({sent} entries)")))
    }

    /// `RETR`, from the `REST` offset if one was given.
    pub(crate) async fn retr(&mut self, arg: &str, rest: u64) -> Outcome {
        let plan = self.take_plan()?;
        let ctx = self.ctx().await?;
        let path = self.path(arg)?;
        let service = Arc::clone(&self.shared.service);
        let file = match service.tree_resolve_to_download(&ctx, &path).await {
            Ok(TreeNode::File(f)) => f,
            Ok(TreeNode::Folder(_)) => return Err(Reply::new(550, "That is a folder, not a file")),
            Err(e) => return Err(Reply::from_error(&e)),
        };
        let size = file.file.size.max(0) as u64;
        if rest > size {
            return Err(Reply::new(
                554,
                format!("REST offset {rest} is beyond the end of the file ({size} bytes)"),
            ));
        }
        let range = (rest > 0 && rest < size).then(|| (rest, size - 1));
        // Audited here, before any byte goes out: the record commits while the data
        // connection is accepted, and the reader waits for it.
        let mut download = service
            .download_view_pipelined(&ctx, file, range)
            .await
            .map_err(|e| Reply::from_error(&e))?;
        let length = if rest == size {
            // Nothing is left to send, and nothing sent is the whole of it.
            download.reader.tally_mut().settle();
            0
        } else {
            download.length
        };
        self.send_mark(Reply::new(
            150,
            format!("Sending {} ({length} bytes)", download.file.name),
        ))
        .await?;
        let mut data = self.open_data(plan).await?;
        // The record committed while the data connection was accepted. Waited for here, not
        // only by the reader, so that a record that fails closes the data connection in
        // order with nothing sent, and an empty transfer is complete only once recorded.
        if let Err(e) = download.recorded.wait().await {
            tracing::error!(error = %e, file = download.file.id, "FTPS: the download was not recorded");
            data.finish().await;
            return Err(Reply::new(
                451,
                "The download could not be recorded; nothing was sent",
            ));
        }
        let mut reader = download.reader.take(length);
        let mut buf = vec![0u8; TRANSFER_CHUNK];
        let mut sent = 0u64;
        let mut asked_at = std::time::Instant::now();
        loop {
            // The control connection's watch sleeps while a transfer runs: the session, and
            // the rights the download began with, are asked here each second, so a user
            // disabled or a grant taken away stops a large download under way.
            if asked_at.elapsed() >= SESSION_RECHECK {
                asked_at = std::time::Instant::now();
                match service
                    .download_may_go_on(&ctx, download.file.folder_id)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(Reply::new(
                            426,
                            "Transfer aborted: the session ended or the download is no longer permitted",
                        ));
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "FTPS: a download's rights could not be asked")
                    }
                }
            }
            let n = match reader.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, file = download.file.id, "FTPS: reading content failed");
                    return Err(Reply::new(451, "Reading the file failed; transfer aborted"));
                }
            };
            if data.write_all(&buf[..n]).await.is_err() {
                return Err(aborted());
            }
            sent += n as u64;
        }
        if data.flush().await.is_err() {
            return Err(aborted());
        }
        data.finish().await;
        Ok(Reply::new(226, format!("Transfer complete ({sent} bytes)")))
    }

    /// `STOR` (a new file, or a new version of an existing one) and `APPE` (a new version that
    /// starts with the current one's bytes, `append`). `REST n` before `STOR` resumes an upload
    /// at the end of the stored file, so `n` must be its size; it is then an append.
    pub(crate) async fn stor(&mut self, arg: &str, rest: u64, append: bool) -> Outcome {
        let plan = self.take_plan()?;
        let ctx = self.ctx().await?;
        let path = self.path(arg)?;
        let service = Arc::clone(&self.shared.service);
        let resume_refused = |size: u64| {
            Reply::new(
                554,
                format!(
                    "REST before STOR must be the stored file's size ({size} bytes): \
                     an upload resumes at its end"
                ),
            )
        };
        if rest != 0 {
            let size = match service.tree_resolve(&ctx, &path).await {
                Ok(TreeNode::File(f)) => f.file.size.max(0) as u64,
                Ok(TreeNode::Folder(_)) => {
                    return Err(Reply::new(550, "That is a folder, not a file"));
                }
                Err(e) => return Err(Reply::from_error(&e)),
            };
            if rest != size {
                return Err(resume_refused(size));
            }
        }
        let append = append || rest != 0;
        let (folder, name) = service
            .tree_parent(&ctx, &path)
            .await
            .map_err(|e| Reply::from_error(&e))?;
        let req = UploadRequest {
            folder_id: folder.folder.id,
            name,
            overwrite: true,
            rename_if_taken: false,
            expected_size: None,
            expected_sha256: None,
            external_user: None,
        };
        // An append's checks come before 150; its copy of the stored bytes comes after 150
        // and the data connection, so that a large file does not hold the reply past the
        // client's patience (curl waits 60 seconds for a reply by default). Meanwhile the
        // client's bytes wait in the data connection.
        let start = if append {
            service
                .begin_append(&ctx, req.clone())
                .await
                .map(Start::Append)
        } else {
            service
                .begin_upload(&ctx, req.clone())
                .await
                .map(Start::New)
        }
        .map_err(|e| Reply::from_error(&e))?;
        if let Start::Append(pending) = &start
            && rest != 0
            && pending.base_size() != rest
        {
            // Another upload made a new version since the check above.
            return Err(resume_refused(pending.base_size()));
        }
        self.send_mark(Reply::new(150, format!("Ready to receive {}", req.name)))
            .await?;
        let mut data = match self.open_data(plan).await {
            Ok(d) => d,
            Err(reply) => {
                let why = Error::invalid("no usable data connection; nothing was stored");
                service.audit_failed_upload(&ctx, &req, &why).await;
                return Err(reply);
            }
        };
        let mut upload = match start {
            Start::New(upload) => upload,
            Start::Append(pending) => match pending.copy_stored().await {
                Ok(upload) => upload,
                Err(e) => {
                    drop(data);
                    service.audit_failed_upload(&ctx, &req, &e).await;
                    return Err(Reply::from_error(&e));
                }
            },
        };
        // TLS hands out the plaintext straight into the staged upload's block (no buffer
        // of our own, no copy), one record at a time; the upload hashes it there.
        // The control connection's watch sleeps while a transfer runs: the upload itself asks
        // each second whether its session lives and its rights hold (`Upload::advance`), so
        // that an upload whose user was disabled, or whose grant was taken away, stops taking
        // bytes.
        let mut received = 0u64;
        let step = loop {
            match data.read(upload.room()).await {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    received += n as u64;
                    if let Err(e) = upload.advance(n).await {
                        break Err(Ok(e));
                    }
                }
                Err(e) => break Err(Err(e)),
            }
        };
        let outcome = match step {
            Ok(()) => {
                // Our close_notify now: clients such as ftplib wait for it before reading 226.
                data.finish().await;
                service.finish_upload(upload).await
            }
            // The session ended, or the rights were taken away: the connection is dropped, not
            // drained (draining would take the client's bytes for seconds more).
            Err(Ok(e @ (Error::SessionNotFound | Error::NotPermitted(_)))) => {
                drop(upload);
                drop(data);
                Err(e)
            }
            // Storing failed (the disk is full, say): the staged bytes go with the upload.
            Err(Ok(e)) => {
                drop(upload);
                data.finish().await;
                Err(e)
            }
            Err(Err(e)) => {
                drop(upload);
                tracing::info!(peer = %self.peer, error = %e, received, "FTPS upload cut");
                // A data connection that ends without TLS's close_notify was cut.
                let why = Error::invalid(format!(
                    "the data connection was cut after {received} bytes ({e}); nothing was stored"
                ));
                service.audit_failed_upload(&ctx, &req, &why).await;
                return Err(Reply::new(
                    426,
                    "The data connection was cut before the end of the file; nothing was stored",
                ));
            }
        };
        match outcome {
            Ok(view) => Ok(Reply::new(
                226,
                format!(
                    "Stored {} ({} bytes, SHA-256 {})",
                    view.file.name,
                    view.file.size,
                    view.file.sha256.to_ascii_lowercase()
                ),
            )),
            Err(e) => {
                service.audit_failed_upload(&ctx, &req, &e).await;
                Err(Reply::from_error(&e))
            }
        }
    }
}

/// How a `STOR` or `APPE` begins: a new version from nothing, or an append whose copy of the
/// stored bytes is still to be made.
enum Start {
    New(Upload),
    Append(PendingAppend),
}

/// Writes `entries` as `verb`'s lines.
async fn send_lines(
    data: &mut Stream,
    verb: &str,
    entries: &[Entry],
    now: time::OffsetDateTime,
) -> std::io::Result<()> {
    let mut body = String::new();
    for e in entries {
        let line = match verb {
            "MLSD" => e.facts_line(),
            "NLST" => e.name.clone(),
            _ => e.list_line(now),
        };
        body.push_str(&line);
        body.push_str("\r\n");
    }
    data.write_all(body.as_bytes()).await
}

fn aborted() -> Reply {
    Reply::new(426, "The data connection closed; transfer aborted")
}

fn data_reply(e: DataError) -> Reply {
    match e {
        DataError::NotResumed => Reply::new(
            522,
            "The data connection must resume the control connection's TLS session \
             (a client setting; see Ferry's FTPS documentation)",
        ),
        DataError::Timeout => Reply::new(425, "No data connection was opened in time"),
        DataError::ProtectionChanged => Reply::new(
            425,
            "PROT changed after the passive port was opened; send PASV or EPSV again",
        ),
        DataError::Io(_) => Reply::new(425, "Cannot open the data connection"),
    }
}
