//! A download's audit record, committed while the download is being set up, and the gate
//! that holds back its bytes until then (issue 21).
//!
//! The rule is that no byte of a file goes out before its download's record is durable. It
//! does not need the caller to wait for the commit before anything else: an SFTP `OPEN` can
//! be answered and an FTPS data connection accepted (its TLS handshake is the longest step)
//! while the record commits. So the Service starts the commit as a task of its own and hands
//! out readers that wait for it ([`Gated`]); every reader of the download, including those
//! SFTP opens later at other offsets ([`crate::service::Service::download_continued`]), is
//! gated by the same [`Recorded`], so no front end can send a byte early, whatever it awaits.
//! A record that fails makes every read fail, with the store's error.
//!
//! Cost: a spawned task per download, and a read that fails (rather than an open that
//! fails) when the record cannot be written, for the fronts that do not wait
//! ([`Recorded::wait`]): SFTP answers the read with a failure, FTPS aborts the transfer.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::watch;

use crate::content::ContentReader;
use crate::error::{Error, Result};
use crate::store::StoreError;

/// The commit of one download's audit record: cloned into every reader of the download.
#[derive(Clone)]
pub struct Recorded(Commit);

#[derive(Clone)]
enum Commit {
    /// Committed before the download was handed out (HTTP's downloads): nothing to wait for,
    /// and no channel made for every `GET`.
    Done,
    /// Committing in a task of its own; `Some` once it has ended.
    Running(watch::Receiver<Option<std::result::Result<(), StoreError>>>),
}

impl Recorded {
    /// Starts committing `record` (the store's append, already bound to its entry) as a task
    /// of its own.
    pub(crate) fn start<F>(record: F) -> Recorded
    where
        F: Future<Output = std::result::Result<(), StoreError>> + Send + 'static,
    {
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            let outcome = record.await;
            let _ = tx.send(Some(outcome));
        });
        Recorded(Commit::Running(rx))
    }

    /// A record already committed (by the caller, before it made the download).
    pub(crate) fn committed() -> Recorded {
        Recorded(Commit::Done)
    }

    /// Waits until the record is committed (durable); its error if it could not be.
    pub async fn wait(&self) -> Result<()> {
        let Commit::Running(rx) = &self.0 else {
            return Ok(());
        };
        let mut rx = rx.clone();
        let outcome = match rx.wait_for(Option::is_some).await {
            Ok(done) => done.clone(),
            // The task ended without an answer: the runtime is shutting down.
            Err(_) => Some(Err(StoreError::Unavailable(
                "the download's audit record was not committed".into(),
            ))),
        };
        Ok(outcome.expect("waited for Some")?)
    }

    /// `reader`, held back until the record is committed.
    pub(crate) fn gate(&self, reader: ContentReader) -> ContentReader {
        match &self.0 {
            Commit::Done => return reader,
            Commit::Running(rx) if matches!(*rx.borrow(), Some(Ok(()))) => return reader,
            Commit::Running(_) => {}
        }
        let waiting = self.clone();
        Box::pin(Gated {
            state: State::Waiting(Box::pin(async move { waiting.wait().await })),
            inner: reader,
        })
    }
}

/// A reader whose first read waits for the download's record.
struct Gated {
    state: State,
    inner: ContentReader,
}

enum State {
    Waiting(Pin<Box<dyn Future<Output = Result<()>> + Send>>),
    Open,
    /// The record failed: every read fails, with this.
    Refused(String),
}

impl AsyncRead for Gated {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let State::Waiting(wait) = &mut this.state {
            this.state = match wait.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) => State::Open,
                Poll::Ready(Err(e)) => State::Refused(refusal(&e)),
            };
        }
        match &this.state {
            State::Refused(why) => Poll::Ready(Err(io::Error::other(why.clone()))),
            _ => this.inner.as_mut().poll_read(cx, buf),
        }
    }
}

fn refusal(e: &Error) -> String {
    format!("the download could not be recorded, so nothing is sent: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::sync::oneshot;

    fn content(bytes: &'static [u8]) -> ContentReader {
        Box::pin(bytes)
    }

    #[tokio::test]
    async fn no_byte_is_read_before_the_record_is_committed() {
        let (commit, committed) = oneshot::channel::<()>();
        let recorded = Recorded::start(async move {
            committed.await.unwrap();
            Ok(())
        });
        let mut reader = recorded.gate(content(b"payload"));
        let mut buf = [0u8; 16];
        let early =
            tokio::time::timeout(std::time::Duration::from_millis(100), reader.read(&mut buf))
                .await;
        assert!(early.is_err(), "a read returned before the commit");
        commit.send(()).unwrap();
        let n = reader.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"payload");
        recorded.wait().await.unwrap();
        // Once committed, later readers are not wrapped at all.
        let mut later = recorded.gate(content(b"more"));
        let mut out = Vec::new();
        later.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"more");
    }

    #[tokio::test]
    async fn a_record_committed_beforehand_gates_nothing() {
        let recorded = Recorded::committed();
        recorded.wait().await.unwrap();
        let mut out = Vec::new();
        recorded
            .gate(content(b"at once"))
            .read_to_end(&mut out)
            .await
            .unwrap();
        assert_eq!(out, b"at once");
    }

    #[tokio::test]
    async fn a_record_that_fails_fails_every_read_and_the_wait() {
        let recorded =
            Recorded::start(async { Err(StoreError::Unavailable("the disk is full".into())) });
        let mut reader = recorded.gate(content(b"secret"));
        let mut buf = [0u8; 16];
        for _ in 0..2 {
            let err = reader.read(&mut buf).await.unwrap_err();
            assert!(err.to_string().contains("could not be recorded"), "{err}");
        }
        assert!(matches!(recorded.wait().await, Err(Error::Unavailable)));
        // A reader made after the failure is refused as well.
        let mut late = recorded.gate(content(b"secret"));
        assert!(late.read(&mut buf).await.is_err());
    }
}
