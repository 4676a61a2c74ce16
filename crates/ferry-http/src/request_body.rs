//! The request body every handler gets (`server.rs` wraps hyper's): it fails when the client
//! pauses for longer than the body read timeout, so that a stalled upload ends (and is dropped,
//! as any interrupted upload) instead of holding its connection; and one its handler drops
//! without reading a byte of it is not simply dropped.
//!
//! Most answers that need no body never read it: a 405 for a method the route does not take,
//! a path or query refused by an extractor, a route that takes no body. Dropped unread, the
//! body ended the exchange before the client had its answer (over HTTP/2 a reset stream, over
//! HTTP/1.1 a close with unread bytes; `drain.rs`), so curl sending 20 MB with `PUT` to a
//! download's address got "(92) Stream error" instead of its 405. Such a body goes to
//! [`crate::drain::untouched`] instead, which reads and drops it (bounded) or holds it while
//! the answer goes out. Bodies a handler has read from keep to that handler's own handling
//! (`drain::discard`, `drain::refusal`), and a body already at its end costs nothing here.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::Version;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};

/// hyper's request body with a read timeout, and what becomes of it if dropped unread.
pub(crate) struct RequestBody {
    /// Always `Some` until dropped.
    inner: Option<Incoming>,
    limit: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// Whether a handler ever asked for a frame.
    polled: bool,
    version: Version,
    /// The client sent `Expect: 100-continue`.
    holds_back: bool,
}

impl RequestBody {
    /// `inner` with `limit` as the longest pause between its bytes.
    pub(crate) fn new(
        inner: Incoming,
        limit: Duration,
        version: Version,
        holds_back: bool,
    ) -> Self {
        RequestBody {
            inner: Some(inner),
            limit,
            sleep: Box::pin(tokio::time::sleep(limit)),
            polled: false,
            version,
            holds_back,
        }
    }
}

impl hyper::body::Body for RequestBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.polled = true;
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = tokio::time::Instant::now() + self.limit;
                self.sleep.as_mut().reset(deadline);
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(format!(
                    "no request body bytes for {} s",
                    self.limit.as_secs()
                )
                .into()))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), |b| b.size_hint())
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        if self.polled || inner.is_end_stream() {
            return;
        }
        crate::drain::untouched(Body::new(inner), self.version, self.holds_back);
    }
}
