//! Reading and discarding the rest of a request body before answering an error.
//!
//! When a server answers without reading the whole body (a 413, or an upload refused before its
//! bytes arrive) and closes the connection with unread data in the socket, the kernel sends a
//! reset and the client often never sees the answer. Like nginx's "lingering close", Ferry reads
//! and drops what remains — up to a byte and time limit, so that a client sending gigabytes
//! cannot hold the server — and then answers.

use std::time::Duration;

use axum::body::Body;
use http_body_util::BodyExt;

/// Most bytes discarded per request.
pub const DRAIN_LIMIT: u64 = 8 * 1024 * 1024;
/// Longest time spent discarding.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Reads and drops up to [`DRAIN_LIMIT`] bytes of `body`, for at most two seconds.
pub async fn discard(mut body: Body) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut seen = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                seen += data.len() as u64;
                if seen > DRAIN_LIMIT {
                    break;
                }
            }
        }
    })
    .await;
}
