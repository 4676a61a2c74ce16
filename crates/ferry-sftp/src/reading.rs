//! Reading a download handle: the client asks for bytes at offsets of its choosing; they come
//! from a read-ahead reader kept at the last position (a new one opened, through the Service's
//! checks, when the client jumps), each waiting for the download's audit record, and each
//! counted in the download's tally (`download_tally.rs` in ferry-core).

use std::sync::Arc;
use std::time::Instant;

use ferry_core::content::ContentReader;
use russh_sftp::protocol::StatusCode;
use tokio::io::AsyncReadExt;

use crate::refusal::{Refusal, refusal};
use crate::sftp::{Open, RECHECK, SftpHandler};

/// Read-ahead of a download: clients ask for 32 KiB at a time, and each read of the content
/// store's file is a trip to the blocking pool; reading 512 KiB at once makes 16 times fewer.
const READ_AHEAD: usize = 512 * 1024;

pub(crate) fn read_ahead(reader: ContentReader) -> ContentReader {
    Box::pin(tokio::io::BufReader::with_capacity(READ_AHEAD, reader))
}

/// Largest read answered at once (OpenSSH's sftp-server uses the same bound).
const MAX_READ: u32 = 256 * 1024;

impl SftpHandler {
    /// Reads up to `len` bytes at `offset` of a download handle, appended to `out` (the
    /// caller's reply buffer: no copy in between). Returns how many.
    pub async fn read_into(
        &mut self,
        handle: &str,
        offset: u64,
        len: u32,
        out: &mut bytes::BytesMut,
    ) -> Result<usize, Refusal> {
        use bytes::BufMut;
        // Sequential reads need no session object, only a recent check.
        if self
            .checked
            .as_ref()
            .is_none_or(|(_, at)| at.elapsed() >= RECHECK)
        {
            self.ctx().await?;
        }
        let service = Arc::clone(&self.service);
        // Fields, not methods: the check and the handle are borrowed side by side.
        let Some((ctx, _)) = self.checked.as_ref() else {
            return Err(StatusCode::Failure.into());
        };
        let (file, reader, position, recorded, tally, asked_at) = match self.handles.get_mut(handle)
        {
            Some(Open::Reading {
                file,
                reader,
                position,
                recorded,
                tally,
                asked_at,
            }) => (file, reader, position, recorded, tally, asked_at),
            Some(Open::Writing(w)) => {
                let want = len.min(MAX_READ) as usize;
                let bytes = w.read(&service, ctx, offset, want).await.map_err(refusal)?;
                if bytes.is_empty() {
                    return Err(StatusCode::Eof.into());
                }
                out.extend_from_slice(&bytes);
                return Ok(bytes.len());
            }
            _ => return Err(StatusCode::Failure.into()),
        };
        // The session is asked above; the rights the download began with are asked here, as
        // often: a grant taken away stops a large download as an ended session does.
        if asked_at.elapsed() >= RECHECK {
            *asked_at = Instant::now();
            match service.download_may_go_on(ctx, file.folder_id).await {
                Ok(true) => {}
                Ok(false) => {
                    *reader = None;
                    return Err(StatusCode::PermissionDenied.into());
                }
                // The store out of reach: the content is not; asked again in a second.
                Err(e) => {
                    tracing::debug!(error = %e, "SFTP: a download's rights could not be asked")
                }
            }
        }
        let size = file.size.max(0) as u64;
        if offset >= size {
            // The end of a download is reported only once it is recorded (an empty file
            // reads nothing, so waited for nothing).
            recorded.wait().await.map_err(refusal)?;
            return Err(StatusCode::Eof.into());
        }
        if *position != offset || reader.is_none() {
            *reader = Some(read_ahead(
                service
                    .download_continued(ctx, file, offset, recorded)
                    .await
                    .map_err(refusal)?,
            ));
            *position = offset;
        }
        let want = (len.min(MAX_READ) as u64).min(size - offset) as usize;
        out.reserve(want);
        let r = reader.as_mut().expect("set above");
        let mut filled = 0;
        while filled < want {
            let mut room = (&mut *out).limit(want - filled);
            match r.read_buf(&mut room).await {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) => {
                    tracing::error!(error = %e, "SFTP read failed");
                    *reader = None;
                    return Err(StatusCode::Failure.into());
                }
            }
        }
        *position += filled as u64;
        tally.took_at(offset, filled as u64);
        Ok(filled)
    }
}
