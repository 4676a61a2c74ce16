//! A download's content read ahead on a task of its own: the content store is read in 256 KiB
//! chunks on another task, a couple of chunks ahead, so the disk stays busy while the
//! connection's task encrypts and sends, instead of the two taking turns. Used by SFTP (whose
//! clients ask for 32 KiB at a time) and the HTTP downloads. Memory: [`DEPTH`] + 1 chunks per
//! open download.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::content::ContentReader;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::sync::mpsc;

/// Bytes per read of the content store.
const CHUNK: usize = 256 * 1024;
/// Chunks read ahead of the client.
const DEPTH: usize = 2;

/// A reader fed by a prefetching task; dropping it stops the task.
pub struct Prefetch {
    rx: mpsc::Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    taken: usize,
}

/// Starts reading `reader` ahead.
pub fn prefetch(reader: ContentReader) -> ContentReader {
    let (tx, rx) = mpsc::channel(DEPTH);
    tokio::spawn(read_ahead(reader, tx));
    Box::pin(Prefetch {
        rx,
        current: Vec::new(),
        taken: 0,
    })
}

async fn read_ahead(mut reader: ContentReader, tx: mpsc::Sender<io::Result<Vec<u8>>>) {
    loop {
        let mut chunk = Vec::with_capacity(CHUNK);
        let result = (&mut reader)
            .take(CHUNK as u64)
            .read_to_end(&mut chunk)
            .await;
        let end = match &result {
            Ok(n) => *n < CHUNK,
            Err(_) => true,
        };
        if !chunk.is_empty() && tx.send(Ok(chunk)).await.is_err() {
            return; // the download was closed
        }
        if let Err(e) = result {
            let _ = tx.send(Err(e)).await;
        }
        if end {
            return;
        }
    }
}

impl AsyncRead for Prefetch {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.taken == this.current.len() {
            match this.rx.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                // The end: the task has sent everything.
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(Some(Ok(chunk))) => {
                    this.current = chunk;
                    this.taken = 0;
                }
            }
        }
        let n = (this.current.len() - this.taken).min(buf.remaining());
        buf.put_slice(&this.current[this.taken..this.taken + n]);
        this.taken += n;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_everything_in_order() {
        let data: Vec<u8> = (0..(3 * CHUNK + 12_345) as u32)
            .map(|i| (i % 253) as u8)
            .collect();
        let mut r = prefetch(Box::pin(std::io::Cursor::new(data.clone())));
        let mut back = Vec::new();
        let mut small = [0u8; 32 * 1024 + 7];
        loop {
            let n = r.read(&mut small).await.unwrap();
            if n == 0 {
                break;
            }
            back.extend_from_slice(&small[..n]);
        }
        assert_eq!(back, data);
    }

    #[tokio::test]
    async fn errors_come_through() {
        struct Broken;
        impl AsyncRead for Broken {
            fn poll_read(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
                _: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                Poll::Ready(Err(io::Error::other("disk on fire")))
            }
        }
        let mut r = prefetch(Box::pin(Broken));
        let mut buf = [0u8; 10];
        assert!(r.read(&mut buf).await.is_err());
    }
}
