//! HTTP/2 over TLS: whole TLS records, with the last partial one held until the connection's
//! task is done with its turn.
//!
//! Why: h2 writes each DATA frame, its 9-byte head included, in one write and flushes after
//! every frame. A frame of 16 KiB (curl's and the browsers' largest) is 16,393 bytes, which
//! rustls seals as a full record and a record of 9 bytes: the client opens two records per
//! 16 KiB, one of them all overhead, and on a machine whose cores the client shares that is
//! what a download waits for. nginx avoids it by gathering its output in a 16 KiB buffer before
//! `SSL_write`. Here the writes reach rustls in whole records only; what is left over (less
//! than a record) is held, and goes out with the next write or when the connection's future
//! returns from its poll ([`uncorking`]), so nothing waits past the turn that wrote it.
//! In full flow (the last write was a whole DATA frame) a flush from h2 sends what rustls has
//! sealed and leaves the held remainder for the next write or the end of the turn, which is the
//! point; after a smaller write a flush sends everything, as before. Holding a `WINDOW_UPDATE`
//! until the end of a turn that reads an upload cost uploads 8 % (A/B, twice).
//!
//! Cutting the response into 16,375-byte pieces instead was measured and not kept: each piece
//! is a trip through hyper's body pipe and h2's send queue (bench/README.md).

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// TLS's largest record: 16 KiB of plaintext.
const RECORD: usize = 16 * 1024;

/// Most slices offered to the stream at once.
const OFFER_SLICES: usize = 8;

/// The stream and the bytes held back from it (always fewer than [`RECORD`]).
struct State<S> {
    stream: S,
    held: Vec<u8>,
    /// Whether the last write was a record or more (a DATA frame of a response in full flow):
    /// then a flush keeps the remainder for the next one. After a smaller write (a
    /// `WINDOW_UPDATE`, a `PING` answer, headers, a response's last frame) a flush sends it,
    /// for the peer may be waiting on it (an upload waits for the window).
    streaming: bool,
}

/// The connection's side: an `AsyncRead + AsyncWrite` that hands its stream whole records.
pub(crate) struct Corked<S> {
    state: Arc<Mutex<State<S>>>,
}

/// The other side, for [`uncorking`]: sends what is held.
pub(crate) struct Uncork<S> {
    state: Arc<Mutex<State<S>>>,
}

/// Wraps `stream`; the [`Uncork`] goes to [`uncorking`] around the future that serves it.
pub(crate) fn cork<S>(stream: S) -> (Corked<S>, Uncork<S>) {
    let state = Arc::new(Mutex::new(State {
        stream,
        held: Vec::with_capacity(RECORD),
        streaming: false,
    }));
    (
        Corked {
            state: Arc::clone(&state),
        },
        Uncork { state },
    )
}

/// Runs `serve`, sending what is held each time it returns from a poll.
pub(crate) async fn uncorking<S, F>(serve: F, uncork: Uncork<S>) -> F::Output
where
    S: AsyncWrite + Unpin,
    F: Future,
{
    let mut serve = std::pin::pin!(serve);
    std::future::poll_fn(|cx| {
        let out = serve.as_mut().poll(cx);
        // Even with nothing held: an earlier try that found the socket full left sealed
        // bytes in rustls, and h2 will not flush again for them. Pending: the socket's
        // readiness wakes this task, and the next turn goes on. An error: the connection's
        // next write meets it too. When `serve` is done this is a last try, not a wait: h2
        // ends a connection with a shutdown, which sends what is held first, and a client
        // that stopped reading must not keep the task alive.
        let _ = lock(&uncork.state).uncork(cx);
        out
    })
    .await
}

/// The state, whatever a panic elsewhere left (the bytes are all that is in it).
fn lock<S>(state: &Mutex<State<S>>) -> MutexGuard<'_, State<S>> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<S: AsyncWrite + Unpin> State<S> {
    /// Writes `bufs` as whole records after the held bytes, and holds what is left over.
    fn write(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        self.streaming = total >= RECORD;
        loop {
            let whole = (self.held.len() + total) / RECORD * RECORD;
            if whole == 0 {
                for b in bufs {
                    self.held.extend_from_slice(b);
                }
                return Poll::Ready(Ok(total));
            }
            // `whole` is at least a record and `held` is less than one: the offer is all of
            // `held` and the first bytes of `bufs` (h2 writes one or two slices at a time).
            let mut offer = [IoSlice::new(&[]); OFFER_SLICES];
            let mut len = 0;
            if !self.held.is_empty() {
                offer[0] = IoSlice::new(&self.held);
                len = 1;
            }
            let mut want = whole - self.held.len();
            for b in bufs {
                if want == 0 || len == OFFER_SLICES {
                    break;
                }
                let n = b.len().min(want);
                offer[len] = IoSlice::new(&b[..n]);
                len += 1;
                want -= n;
            }
            // With more slices than fit, the offer is shorter: taken like a partial write.
            let n = ready!(Pin::new(&mut self.stream).poll_write_vectored(cx, &offer[..len]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            if n <= self.held.len() {
                // Only some of the held bytes went: offer again with what is left.
                self.held.drain(..n);
                continue;
            }
            let taken = n - self.held.len();
            self.held.clear();
            if n < whole {
                // The stream took less: the caller offers the rest again.
                return Poll::Ready(Ok(taken));
            }
            let mut skip = taken;
            for b in bufs {
                let from = skip.min(b.len());
                skip -= from;
                self.held.extend_from_slice(&b[from..]);
            }
            return Poll::Ready(Ok(total));
        }
    }

    /// Sends what is held, then flushes.
    fn uncork(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.held.is_empty() {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.held))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.held.drain(..n);
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Corked<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut lock(&self.state).stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Corked<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        lock(&self.state).write(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        lock(&self.state).write(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// Sends what is sealed; in full flow the held remainder waits for the next write or
    /// the end of the turn, else it goes too.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = lock(&self.state);
        if state.streaming {
            Pin::new(&mut state.stream).poll_flush(cx)
        } else {
            state.uncork(cx)
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = lock(&self.state);
        ready!(state.uncork(cx))?;
        Pin::new(&mut state.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
