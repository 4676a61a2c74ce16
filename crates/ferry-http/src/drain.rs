//! Reading and discarding the rest of a request body before answering an error.
//!
//! When a server answers without reading the whole body (a 413, or an upload refused before its
//! bytes arrive) and closes the connection with unread data in the socket, the kernel sends a
//! reset and the client often never sees the answer. Like nginx's "lingering close", Ferry reads
//! and drops what remains — up to a byte and time limit, so that a client sending gigabytes
//! cannot hold the server — and then answers.
//!
//! Except when the client has not sent a byte of it yet: one that sent `Expect: 100-continue`
//! (curl does with every upload over HTTP/1.1) waits to be asked for the body, and hyper asks
//! (`100 Continue`) only when the body is first read. Refusing such a request unread answers
//! at once, and not a byte of a refused upload crosses the network; reading it to throw it
//! away would first ask for it.
//!
//! Over HTTP/1 only: over HTTP/2, dropping an unfinished request body resets its stream
//! (`CANCEL`) before the answer goes out, and curl 7.88 then reports a stream error instead of
//! the answer; read to its end, the body leaves the stream whole. (Held until the answer was
//! sent, so that the reset would say `NO_ERROR`, curl 7.88 still lost the answer: not done.)

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Version, header};
use axum::response::Response;
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

/// Whether the client holds the body back until the server asks for it (`Expect:
/// 100-continue`, RFC 9110 section 10.1.1).
pub fn holds_body_back(headers: &HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
}

/// `answer`, a refusal of a request whose `body` was not read to its end (`unread`: not at
/// all), made safe to send: over HTTP/1 the body is dropped unread if the client holds it back
/// (hyper then answers without `100 Continue` and closes the connection, the body never sent);
/// otherwise it is discarded first as [`discard`] does.
pub async fn refusal(
    body: Body,
    version: Version,
    headers: &HeaderMap,
    unread: bool,
    answer: Response,
) -> Response {
    if unread && version < Version::HTTP_2 && holds_body_back(headers) {
        drop(body);
    } else {
        discard(body).await;
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_a_100_continue_expectation_holds_the_body_back() {
        let mut headers = HeaderMap::new();
        assert!(!holds_body_back(&headers));
        for (value, held) in [
            ("100-continue", true),
            ("100-Continue", true),
            (" 100-continue ", true),
            ("200-ok", false),
            ("", false),
        ] {
            headers.insert(header::EXPECT, HeaderValue::from_static(value));
            assert_eq!(holds_body_back(&headers), held, "{value:?}");
        }
    }
}
