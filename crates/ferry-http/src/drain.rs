//! Reading and discarding the rest of a request body before answering an error.
//!
//! When a server answers without reading the whole body (a 413, or an upload refused before its
//! bytes arrive) and closes the connection with unread data in the socket, the kernel sends a
//! reset and the client often never sees the answer. Like nginx's "lingering close", Ferry reads
//! and drops what remains — up to a byte and time limit, so that a client sending gigabytes
//! cannot hold the server — and then answers.
//!
//! A body still unfinished at the limit is not dropped with the answer but held, unread, for
//! [`HOLD_TIME`] after it. Dropped, it ended the exchange before the client had read the
//! answer: over HTTP/2 hyper resets the stream (`CANCEL` before the answer, and curl 7.88 lost
//! the answer even to a `NO_ERROR` reset just after it), and over HTTP/1.1 on TLS the socket
//! closed with unread bytes (curl lost about one answer in three, `tests/https/refusals.rs`).
//! Held, the answer goes out and the client, which has it, ends the stream or the connection
//! itself. What a held body costs is bounded: nothing more is read from it, so over HTTP/1.1
//! the socket's buffers fill and TCP stops the sender, and over HTTP/2 what is buffered stays
//! within the flow-control windows (4 MiB a stream, 8 MiB a connection, `server.rs`).
//!
//! Except when the client has not sent a byte of it yet: one that sent `Expect: 100-continue`
//! (curl does with every upload over HTTP/1.1) waits to be asked for the body, and hyper asks
//! (`100 Continue`) only when the body is first read. Refusing such a request unread answers
//! at once, and not a byte of a refused upload crosses the network; reading it to throw it
//! away would first ask for it. Over HTTP/1.1 the body is dropped (hyper closes the connection
//! after the answer; no byte of the body is in flight), over HTTP/2 held as above (dropped,
//! the stream's reset would lose the answer).
//!
//! A body no handler read a byte of (a 405, a path an extractor refused) comes here by itself
//! when dropped (`request_body.rs`, [`untouched`]): discarded on a task of its own while the
//! answer goes out, or, held back, dropped or held as above.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Version, header};
use axum::response::Response;
use http_body_util::BodyExt;

/// Most bytes discarded per request.
pub const DRAIN_LIMIT: u64 = 8 * 1024 * 1024;
/// Longest time spent discarding.
pub(crate) const DRAIN_TIME: Duration = Duration::from_secs(2);

/// How long a body not read to its end is kept, unread, once the answer is on its way.
pub const HOLD_TIME: Duration = Duration::from_secs(5);

/// Reads and drops up to [`DRAIN_LIMIT`] bytes of `body`, for at most two seconds; a body
/// unfinished by then is [`hold`]en.
pub async fn discard(mut body: Body) {
    let finished = tokio::time::timeout(DRAIN_TIME, async {
        let mut seen = 0u64;
        while let Some(frame) = body.frame().await {
            // An error (the client reset or went away) ends the body as its end would.
            let Ok(frame) = frame else { return true };
            if let Ok(data) = frame.into_data() {
                seen += data.len() as u64;
                if seen > DRAIN_LIMIT {
                    return false;
                }
            }
        }
        true
    })
    .await
    .unwrap_or(false);
    if !finished {
        hold(body);
    }
}

/// What becomes of a request body dropped without a byte of it read (`holds_back`: the client
/// sent `Expect: 100-continue`): over HTTP/1 a held-back body is dropped (never asked for;
/// hyper closes the connection after the answer), over HTTP/2 [`hold`]en; any other is
/// [`discard`]ed on a task of its own while the answer goes out. Outside a runtime (no
/// connection to keep), it is dropped.
pub(crate) fn untouched(body: Body, version: Version, holds_back: bool) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if holds_back {
        if version >= Version::HTTP_2 {
            runtime.spawn(held(body));
        }
    } else {
        runtime.spawn(discard(body));
    }
}

/// Keeps `body` (or what owns it) unread for [`HOLD_TIME`] on a task of its own, then drops
/// it, so that the answer sent meanwhile reaches the client before the stream or connection is
/// ended.
pub(crate) fn hold<B: Send + 'static>(body: B) {
    tokio::spawn(held(body));
}

async fn held<B>(body: B) {
    tokio::time::sleep(HOLD_TIME).await;
    drop(body);
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
/// all), made safe to send. If the client holds the body back, it is never asked for (no `100
/// Continue`): dropped unread, it goes to [`untouched`], which drops it over HTTP/1 (hyper
/// answers and closes the connection, the body never sent) and holds it over HTTP/2.
/// Otherwise it is discarded first as [`discard`] does.
pub async fn refusal(body: Body, headers: &HeaderMap, unread: bool, answer: Response) -> Response {
    if unread && holds_body_back(headers) {
        // Dropped unread, the body goes to `untouched` by itself (`request_body.rs`), which
        // drops or holds it by the version; handing it there here too would hold it twice.
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
