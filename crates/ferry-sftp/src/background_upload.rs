//! An upload written on a task of its own. SFTP clients send many `WRITE` requests ahead of
//! the replies; answering each only after its bytes were hashed and written would keep
//! decryption (the session's task) and writing on one core in turn. Here the session's task
//! checks the order and queues the bytes, and a writer task hashes and writes them. A write
//! error is answered to the next `WRITE` or to `CLOSE`, and `CLOSE` waits for the last byte
//! before the file is committed, so a file still appears only complete (a client that checks
//! `CLOSE`'s status, as every client does, learns of any failure).

use bytes::Bytes;
use ferry_core::Error;
use ferry_core::service::Upload;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Writes queued between the session and the writer. Memory: at most this many requests of
/// at most 256 KiB each (32 KiB from OpenSSH, WinSCP and rclone).
const QUEUE: usize = 16;

/// An upload whose bytes are written in the background.
pub struct BackgroundUpload {
    tx: Option<mpsc::Sender<Bytes>>,
    writer: JoinHandle<ferry_core::Result<Upload>>,
    accepted: u64,
}

impl BackgroundUpload {
    /// Starts the writer task of `upload`.
    pub fn start(upload: Upload) -> BackgroundUpload {
        let (tx, rx) = mpsc::channel(QUEUE);
        BackgroundUpload {
            tx: Some(tx),
            writer: tokio::spawn(write_all(upload, rx)),
            accepted: 0,
        }
    }

    /// Bytes accepted so far (the offset the next write must have).
    pub fn size(&self) -> u64 {
        self.accepted
    }

    /// Queues the next bytes; an error is the writer's, from an earlier write (the upload is
    /// then lost and the handle must be dropped).
    pub async fn write(&mut self, data: Bytes) -> Result<(), Error> {
        let len = data.len() as u64;
        let sent = match &self.tx {
            Some(tx) => tx.send(data).await.is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.failure().await);
        }
        self.accepted += len;
        Ok(())
    }

    /// Waits until every queued byte is written; the upload, ready to be committed.
    pub async fn finish(mut self) -> Result<Upload, Error> {
        self.tx = None;
        (&mut self.writer)
            .await
            .map_err(|e| Error::Internal(format!("the upload writer failed: {e}")))?
    }

    /// Why the writer stopped.
    async fn failure(&mut self) -> Error {
        self.tx = None;
        match (&mut self.writer).await {
            Ok(Err(e)) => e,
            Ok(Ok(_)) => Error::Internal("the upload writer stopped early".into()),
            Err(e) => Error::Internal(format!("the upload writer failed: {e}")),
        }
    }
}

/// The writer: every queued chunk in order; the upload when the queue closes. Dropped without
/// `finish`, the queue closes, the upload comes back to no one and its staged bytes go.
async fn write_all(
    mut upload: Upload,
    mut rx: mpsc::Receiver<Bytes>,
) -> ferry_core::Result<Upload> {
    while let Some(chunk) = rx.recv().await {
        upload.write(&chunk).await?;
    }
    Ok(upload)
}
