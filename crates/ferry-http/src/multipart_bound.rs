//! A bound on what multer holds while it looks for a delimiter or the end of a part's headers.
//!
//! multer 3 keeps every byte it is given until it finds what it waits for: before the first
//! part, the first `--boundary`; after each delimiter, the `CRLF CRLF` that ends the part's
//! headers. It has no limit of its own there but the whole stream's, so a form whose preamble
//! never reaches a delimiter, or a part whose headers never end, was held in memory whole, and
//! before anything was checked, the session included: 600 MiB sent to `/upload.aspx` without a
//! session took 600 MiB of the server's memory. [`HeadBound`] sits between the body and multer,
//! follows the same bytes multer reads (never changing them), and ends the body with
//! [`HeadTooLong`] once [`MAX_HEAD_BYTES`] pass in either of those two places. A part's data is
//! not bounded here: multer streams it.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use futures_lite::Stream;

/// Most bytes of a preamble, or of one part's headers (multer reads at most 32 headers).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The error a [`HeadBound`] ends a body with.
#[derive(Debug, thiserror::Error)]
#[error("the multipart form has a preamble or a part's headers longer than {MAX_HEAD_BYTES} bytes")]
pub struct HeadTooLong;

/// Where in the form the bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Before the first `--boundary` (bounded).
    Preamble,
    /// Just after a delimiter: `--` ends the form, anything else begins a part's headers.
    AfterDelimiter,
    /// A part's headers, up to `CRLF CRLF` (bounded).
    Headers,
    /// A part's data, up to the next `CRLF --boundary` (not bounded: multer streams it).
    Data,
    /// After the closing delimiter: multer reads no further.
    Epilogue,
}

/// A body stream that ends with [`HeadTooLong`] where multer would hold too much of it.
pub struct HeadBound<S> {
    inner: S,
    /// `--boundary`, as the first delimiter is found.
    first: Vec<u8>,
    /// `CRLF --boundary`, as every later one is.
    later: Vec<u8>,
    stage: Stage,
    /// Bytes of the current bounded stage so far.
    run: usize,
    /// The last bytes of the stage's previous chunk, fewer than its pattern, so that a
    /// pattern split between two chunks is found.
    tail: Vec<u8>,
    failed: bool,
}

impl<S> HeadBound<S> {
    /// Bounds `inner`, a `multipart/form-data` body with this `boundary`.
    pub fn new(inner: S, boundary: &str) -> HeadBound<S> {
        HeadBound {
            inner,
            first: format!("--{boundary}").into_bytes(),
            later: format!("\r\n--{boundary}").into_bytes(),
            stage: Stage::Preamble,
            run: 0,
            tail: Vec::new(),
            failed: false,
        }
    }

    /// Follows `chunk` through the stages; [`HeadTooLong`] past a bound.
    fn follow(&mut self, mut rest: &[u8]) -> Result<(), HeadTooLong> {
        while !rest.is_empty() {
            let pattern: &[u8] = match self.stage {
                Stage::Preamble => &self.first,
                Stage::Headers => b"\r\n\r\n",
                Stage::Data => &self.later,
                Stage::Epilogue => return Ok(()),
                Stage::AfterDelimiter => {
                    // `--` (the closing delimiter) or the start of a part's headers; the two
                    // bytes may come in two chunks.
                    self.tail.push(rest[0]);
                    rest = &rest[1..];
                    if self.tail.len() == 2 || self.tail[0] != b'-' {
                        // Kept as the seam: a part with no headers at all ends them at once
                        // (`CRLF CRLF` right after the delimiter).
                        self.stage = if self.tail == b"--" {
                            Stage::Epilogue
                        } else {
                            Stage::Headers
                        };
                        self.run = 0;
                    }
                    continue;
                }
            };
            match find_end(&self.tail, rest, pattern) {
                Some(end) => {
                    // Counted up to the pattern, so that where the chunks fall does not matter.
                    let before = self.run + end.saturating_sub(pattern.len());
                    if before > MAX_HEAD_BYTES && self.stage != Stage::Data {
                        return Err(HeadTooLong);
                    }
                    self.stage = match self.stage {
                        Stage::Headers => Stage::Data,
                        _ => Stage::AfterDelimiter,
                    };
                    self.run = 0;
                    self.tail.clear();
                    rest = &rest[end..];
                }
                None => {
                    self.run += rest.len();
                    if self.run > MAX_HEAD_BYTES && self.stage != Stage::Data {
                        return Err(HeadTooLong);
                    }
                    let keep = pattern.len() - 1;
                    let mut seen = std::mem::take(&mut self.tail);
                    seen.extend_from_slice(&rest[rest.len().saturating_sub(keep)..]);
                    self.tail = seen[seen.len().saturating_sub(keep)..].to_vec();
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// Where `pattern` ends in `rest` (an index into it), given the previous chunk's `tail`
/// (shorter than the pattern, so any match across the seam ends in `rest`).
fn find_end(tail: &[u8], rest: &[u8], pattern: &[u8]) -> Option<usize> {
    if !tail.is_empty() {
        let mut seam = tail.to_vec();
        seam.extend_from_slice(&rest[..rest.len().min(pattern.len() - 1)]);
        if let Some(at) = memchr::memmem::find(&seam, pattern) {
            return Some(at + pattern.len() - tail.len());
        }
    }
    memchr::memmem::find(rest, pattern).map(|at| at + pattern.len())
}

impl<S, E> Stream for HeadBound<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Item = Result<Bytes, Box<dyn std::error::Error + Send + Sync>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => match self.follow(&chunk) {
                Ok(()) => Poll::Ready(Some(Ok(chunk))),
                Err(too_long) => {
                    self.failed = true;
                    Poll::Ready(Some(Err(Box::new(too_long))))
                }
            },
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Follows `form` cut into chunks of `size` bytes; the stage it ends in, or the error.
    fn follow(form: &[u8], size: usize) -> Result<Stage, HeadTooLong> {
        let mut bound = HeadBound::new((), "XyZ");
        for chunk in form.chunks(size) {
            bound.follow(chunk)?;
        }
        Ok(bound.stage)
    }

    fn form(preamble: usize, header: usize, data: &[u8]) -> Vec<u8> {
        let mut f = vec![b'p'; preamble];
        f.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"");
        f.extend_from_slice(b"; filename=\"a.bin\"\r\nX-Pad: ");
        f.extend(std::iter::repeat_n(b'h', header));
        f.extend_from_slice(b"\r\n\r\n");
        f.extend_from_slice(data);
        f.extend_from_slice(b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1");
        f.extend_from_slice(b"\r\n--XyZ--\r\n");
        f
    }

    #[test]
    fn a_well_formed_form_passes_however_it_is_cut() {
        // Data that looks like headers' ends and near-delimiters, larger than the bound.
        let mut data = b"\r\n\r\n\r\n--XyY\r\n--Xy".repeat(2000);
        data.extend(vec![0u8; 100_000]);
        let f = form(100, 1000, &data);
        // A part with no headers at all, and padding after a delimiter.
        let mut bare = b"--XyZ\r\n\r\n".to_vec();
        bare.extend(vec![b'd'; 50_000]);
        bare.extend_from_slice(b"\r\n--XyZ \t\r\nX: y\r\n\r\nz\r\n--XyZ--");
        for size in [1, 2, 3, 1000] {
            assert_eq!(
                follow(&bare, size).unwrap(),
                Stage::Epilogue,
                "chunks of {size}"
            );
        }
        for size in [1, 2, 3, 5, 7, 64, 1000, 16 * 1024, f.len()] {
            assert_eq!(
                follow(&f, size).unwrap(),
                Stage::Epilogue,
                "chunks of {size}"
            );
        }
    }

    #[test]
    fn a_long_preamble_or_long_headers_are_refused_wherever_the_chunks_fall() {
        for size in [1, 7, 4096, 1 << 20] {
            assert!(follow(&form(MAX_HEAD_BYTES + 1, 0, b"x"), size).is_err());
            assert!(follow(&form(0, MAX_HEAD_BYTES, b"x"), size).is_err());
            assert!(follow(&form(MAX_HEAD_BYTES - 10, MAX_HEAD_BYTES - 100, b"x"), size).is_ok());
        }
        // Headers that never end, and no delimiter at all.
        let mut f = b"--XyZ\r\nX: ".to_vec();
        f.extend(vec![b'a'; 100_000]);
        assert!(follow(&f, 4096).is_err());
        assert!(follow(&vec![b'-'; 100_000], 4096).is_err());
    }

    #[test]
    fn the_closing_delimiter_split_between_chunks_ends_the_form() {
        let f = b"--XyZ--";
        for size in 1..f.len() {
            assert_eq!(follow(f, size).unwrap(), Stage::Epilogue);
        }
        // An epilogue of any length is not read by multer, nor bounded here.
        let mut f = f.to_vec();
        f.extend(vec![b'e'; 100_000]);
        assert_eq!(follow(&f, 999).unwrap(), Stage::Epilogue);
    }
}
