//! What a download that ends short leaves in the audit log.
//!
//! A download's `FileDownloaded` record is committed before its first byte goes out
//! (`download_record.rs`), so it says what was asked, not what was received. A transfer
//! broken off halfway (the client gone, its session ended, a ZIP abandoned) would otherwise
//! read in the log as a whole file delivered: the question an MFT audit is asked ("did the
//! partner get it?") answered wrongly. So each download carries a [`DownloadTally`] of how far
//! it got; dropped short of its end, it appends a `DownloadBrokenOff` record (failure, `size`
//! the bytes sent, the detail how far of how many) after the download's own record.
//!
//! "Sent" is what the front end took from the content: at most one buffer more than what
//! went into the connection, and what the kernel then delivered is not known to any server.
//! A download that reached its end is not recorded again, whatever the client did with the
//! last bytes. Costs: a copy of the audit entry per download, and one more record (its own
//! transaction) per download broken off.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

use super::download_record::Recorded;
use crate::clock::Clock;
use crate::content::ContentReader;
use crate::domain::{AuditEntry, Operation, Outcome};
use crate::store::MetadataStore;

/// How far one download got: the bytes taken of its range, and the furthest byte reached.
/// Dropped short of the range's end, it records the download as broken off.
pub struct DownloadTally {
    /// Boxed: one pointer in every download and SFTP handle.
    owed: Option<Box<Owed>>,
}

/// What a short end records, and where.
struct Owed {
    store: Arc<dyn MetadataStore>,
    clock: Arc<dyn Clock>,
    /// The download's own record (its session, file, folder and path), to be turned into
    /// the broken-off one.
    entry: AuditEntry,
    recorded: Recorded,
    first: u64,
    end: u64,
    taken: u64,
    reached: u64,
}

impl DownloadTally {
    pub(crate) fn new(
        store: Arc<dyn MetadataStore>,
        clock: Arc<dyn Clock>,
        entry: AuditEntry,
        recorded: Recorded,
        first: u64,
        length: u64,
    ) -> DownloadTally {
        DownloadTally {
            owed: Some(Box::new(Owed {
                store,
                clock,
                entry,
                recorded,
                first,
                end: first + length,
                taken: 0,
                reached: first,
            })),
        }
    }

    /// `n` more bytes taken in order from the range's start (HTTP, FTPS, a ZIP's entry).
    pub fn took(&mut self, n: u64) {
        if let Some(o) = &self.owed {
            let at = o.first + o.taken;
            self.took_at(at, n);
        }
    }

    /// `n` bytes taken from `offset` (SFTP, whose client reads where it likes).
    pub fn took_at(&mut self, offset: u64, n: u64) {
        if let Some(o) = &mut self.owed {
            o.taken += n;
            o.reached = o.reached.max(offset + n);
        }
    }

    /// The front end sent all it was asked for although it took less than the range (FTPS's
    /// `REST` at the end of the file sends nothing): nothing to record.
    pub fn settle(&mut self) {
        self.owed = None;
    }
}

impl Drop for DownloadTally {
    fn drop(&mut self) {
        let Some(o) = self.owed.take() else { return };
        if o.reached >= o.end {
            return;
        }
        // Dropped outside a runtime only when the process ends: nothing could be written.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            // After the download's own record, and never for a download that has none.
            if o.recorded.wait().await.is_err() {
                return;
            }
            let o = *o;
            let mut e = o.entry;
            e.operation = Operation::DownloadBrokenOff.as_str().into();
            e.status = Outcome::Failure.as_str().into();
            e.size = Some(o.taken as i64);
            e.detail = Some(format!(
                "broken off after {} of {} bytes (reached byte {} of bytes {}-{})",
                o.taken,
                o.end - o.first,
                o.reached,
                o.first,
                o.end.saturating_sub(1)
            ));
            if let Err(err) = o.store.append_audit_alone(o.clock.now(), e).await {
                tracing::warn!(error = %err, "a broken-off download could not be recorded");
            }
        });
    }
}

/// A download's reader that keeps its [`DownloadTally`]: every byte read out of it is
/// counted, and dropping it short of the range records the download as broken off.
pub struct TalliedReader {
    inner: ContentReader,
    tally: DownloadTally,
}

impl TalliedReader {
    pub(crate) fn new(inner: ContentReader, tally: DownloadTally) -> TalliedReader {
        TalliedReader { inner, tally }
    }

    /// The reader and its tally apart, for a front end whose client reads at offsets of its
    /// choosing (SFTP): it counts with [`DownloadTally::took_at`].
    pub fn into_parts(self) -> (ContentReader, DownloadTally) {
        (self.inner, self.tally)
    }

    /// The tally, to settle it ([`DownloadTally::settle`]).
    pub fn tally_mut(&mut self) -> &mut DownloadTally {
        &mut self.tally
    }
}

impl AsyncRead for TalliedReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = this.inner.as_mut().poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.tally.took((buf.filled().len() - before) as u64);
        }
        polled
    }
}
