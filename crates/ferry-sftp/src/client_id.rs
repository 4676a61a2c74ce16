//! The client's SSH identification string (`SSH-2.0-OpenSSH_9.2p1 Debian-2`), read as it
//! passes to russh, for the session's `clientVersion` (issue 6: "audited with the client's SSH
//! version string"). russh's authentication callbacks do not see the session, so the stream
//! is tapped instead: the first line beginning with `SSH-` is kept, then bytes flow untouched.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// RFC 4253 §4.2: the identification line is at most 255 characters with its CR LF.
const MAX_LINE: usize = 255;
/// Lines a server may see before the identification (RFC 4253 allows a client none, but
/// tolerate a few) and bytes in all, after which nothing more is looked at.
const MAX_SCANNED: usize = 4096;

/// The identification, once seen; shared with the connection's handler.
pub type ClientId = Arc<OnceLock<String>>;

/// A stream that records the client's identification line.
pub struct IdTap<S> {
    inner: S,
    id: ClientId,
    line: Vec<u8>,
    scanned: usize,
    done: bool,
}

impl<S> IdTap<S> {
    /// Wraps `inner`; the identification appears in `id`.
    pub fn new(inner: S, id: ClientId) -> Self {
        IdTap {
            inner,
            id,
            line: Vec::with_capacity(64),
            scanned: 0,
            done: false,
        }
    }

    fn scan(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.scanned += 1;
            if b == b'\n' {
                let text = String::from_utf8_lossy(&self.line);
                let text = text.trim_end_matches('\r');
                if text.starts_with("SSH-") {
                    let clean: String = text
                        .chars()
                        .map(|c| {
                            if c.is_ascii_graphic() || c == ' ' {
                                c
                            } else {
                                '?'
                            }
                        })
                        .collect();
                    let _ = self.id.set(clean);
                    self.done = true;
                    return;
                }
                self.line.clear();
            } else if self.line.len() < MAX_LINE {
                self.line.push(b);
            }
            if self.scanned >= MAX_SCANNED {
                self.done = true;
                return;
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdTap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if !self.done && matches!(polled, Poll::Ready(Ok(()))) {
            let fresh = buf.filled()[before..].to_vec();
            self.scan(&fresh);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdTap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn keeps_the_identification_line_and_passes_every_byte() {
        let input = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n\x00\x00\x01\x0c binary";
        let id = ClientId::default();
        let mut tap = IdTap::new(&input[..], Arc::clone(&id));
        let mut out = Vec::new();
        tap.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, input);
        assert_eq!(id.get().unwrap(), "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
    }

    #[tokio::test]
    async fn ignores_lines_before_it_and_bounds_what_it_keeps() {
        let mut input = b"hello\r\nSSH-2.0-".to_vec();
        input.extend(std::iter::repeat_n(b'x', 1000));
        input.extend(b"\x07\r\n");
        let id = ClientId::default();
        let mut tap = IdTap::new(&input[..], Arc::clone(&id));
        tokio::io::copy(&mut tap, &mut tokio::io::sink())
            .await
            .unwrap();
        let seen = id.get().unwrap();
        assert!(
            seen.starts_with("SSH-2.0-xxx") && seen.len() == MAX_LINE,
            "{seen}"
        );
        let id = ClientId::default();
        let garbage = vec![b'z'; MAX_SCANNED * 2];
        let mut tap = IdTap::new(&garbage[..], Arc::clone(&id));
        tokio::io::copy(&mut tap, &mut tokio::io::sink())
            .await
            .unwrap();
        assert!(id.get().is_none());
    }
}
