//! A tus `PATCH`: the upload's hold taken (a request still holding it, here or on another
//! node, is asked to let go), the upload picked up from its last checkpoint, the body
//! appended, and a new checkpoint recorded before the answer, so that the offset a client is
//! told is durable and any node continues from it.
//!
//! Bytes of a `PATCH` cut off by a dropped connection are kept (that is what resuming is
//! for), and a newer request for the same upload stops an older one still running. A `PATCH`
//! that declared a checksum is kept whole or not at all: a chunk that fails its checksum, is
//! cut off, or would run past `Upload-Length` leaves the last checkpoint standing. The body is
//! read on the connection's own task (a hop to another task per frame halved the
//! throughput), so a client going away can drop the request half-way: the [`Working`] guard
//! then finishes on a task of its own (a checkpoint of what arrived, or, if a write was cut
//! half-way, the last checkpoint left standing) and lets go of the hold. The final commit
//! runs on a task of its own too, so it always finishes.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferry_core::service::Upload;
use ferry_core::transfer_state::Hold;
use ferry_core::{Error, Service};
use http_body_util::BodyExt;

use super::tus::{api_error, header_str, stamp, take_hold, tus_status};
use super::tus_headers::Checksum;
use super::tus_owner::Uploader;
use crate::router::AppState;

/// A `PATCH` whose body stalls this long ends (what arrived is kept).
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A new holder's name: one per request, so that a request's hold is its own.
pub(super) fn new_holder() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// How a `PATCH` body ended.
enum Received {
    Complete,
    /// Cut off, stalled, or asked to let go.
    Interrupted,
    TooLong,
    WriteFailed(Error),
}

/// The upload a `PATCH` holds, and what happens to it if the request is dropped half-way
/// (see the module's documentation).
struct Working {
    service: Arc<Service>,
    id: String,
    holder: String,
    upload: Option<Upload>,
    /// A write is under way: if the request is dropped now, the upload's state is unknown.
    torn: bool,
}

impl Working {
    fn upload(&mut self) -> &mut Upload {
        self.upload
            .as_mut()
            .expect("the upload is held until taken")
    }

    /// Records a checkpoint of what arrived and lets go; false when the hold was lost
    /// meanwhile (another request has the upload).
    async fn keep(mut self) -> Result<bool, Error> {
        let mut upload = self.upload.take().expect("the upload is held until taken");
        end_work(&self.service, &self.id, &self.holder, &mut upload, true).await
    }

    /// Lets go, the last checkpoint standing (a chunk taken back, or a write that failed).
    async fn let_go(mut self) {
        let mut upload = self.upload.take().expect("the upload is held until taken");
        let _ = end_work(&self.service, &self.id, &self.holder, &mut upload, false).await;
    }
}

/// Ends `holder`'s work on an upload: with `keep`, a checkpoint of what arrived is recorded
/// (false: the hold was lost meanwhile); otherwise, or when that fails, the last checkpoint
/// stands. Either way the hold is let go.
async fn end_work(
    service: &Service,
    id: &str,
    holder: &str,
    upload: &mut Upload,
    keep: bool,
) -> Result<bool, Error> {
    let kept = if keep {
        service.checkpoint_resumable(id, holder, upload).await
    } else {
        Ok(true)
    };
    if keep && kept.is_ok() {
        return kept; // recorded, and let go with it
    }
    // Nothing written after the checkpoint may land after another writer's bytes.
    let _ = upload.settle().await;
    service.release_resumable(id, holder).await;
    kept
}

impl Drop for Working {
    fn drop(&mut self) {
        let Some(mut upload) = self.upload.take() else {
            return;
        };
        let keep = !self.torn;
        let (service, id, holder) = (
            Arc::clone(&self.service),
            self.id.clone(),
            self.holder.clone(),
        );
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // the hold runs out; the last checkpoint stands
        };
        runtime.spawn(async move {
            if let Err(e) = end_work(&service, &id, &holder, &mut upload, keep).await {
                tracing::warn!(error = %e, "a cut-off PATCH could not keep what arrived");
            }
        });
    }
}

pub(super) async fn patch(
    state: &AppState,
    owner: &Uploader,
    id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    if header_str(headers, "content-type") != Some("application/offset+octet-stream") {
        crate::drain::discard(body).await;
        return tus_status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/offset+octet-stream",
        );
    }
    let Some(offset) = header_str(headers, "upload-offset").and_then(|v| v.parse::<u64>().ok())
    else {
        crate::drain::discard(body).await;
        return tus_status(StatusCode::BAD_REQUEST, "Upload-Offset is required");
    };
    let mut checksum = match header_str(headers, "upload-checksum").map(Checksum::parse) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(message)) => {
            crate::drain::discard(body).await;
            return tus_status(StatusCode::BAD_REQUEST, message);
        }
    };
    let holder = new_holder();
    let stored = match take_hold(state, id, owner, &holder).await {
        Ok(Hold::Taken(s)) => s,
        Ok(other) => {
            crate::drain::discard(body).await;
            return match other {
                Hold::Complete(_) => tus_status(StatusCode::CONFLICT, "the upload is complete"),
                Hold::Missing => tus_status(StatusCode::NOT_FOUND, "no such upload"),
                _ => tus_status(StatusCode::LOCKED, "another PATCH is in progress"),
            };
        }
        Err(e) => {
            crate::drain::discard(body).await;
            return api_error(e);
        }
    };
    let service = &state.service;
    if offset != stored.offset {
        service.release_resumable(id, &holder).await;
        crate::drain::discard(body).await;
        let mut r = tus_status(StatusCode::CONFLICT, "Upload-Offset does not match");
        r.headers_mut()
            .insert("upload-offset", HeaderValue::from(stored.offset));
        return r;
    }
    let upload = match service.reopen_resumable(owner.ctx(), &stored).await {
        Ok(u) => u,
        Err(e) => {
            service.release_resumable(id, &holder).await;
            crate::drain::discard(body).await;
            return api_error(e);
        }
    };
    let running = state.tools.patches.start(id);
    let mut work = Working {
        service: Arc::clone(service),
        id: id.to_string(),
        holder: holder.clone(),
        upload: Some(upload),
        torn: false,
    };
    let length = stored.length;
    let received = receive(&mut work, &running.stop, length, &mut checksum, body).await;
    drop(running);
    let taken_back = match &received {
        Received::TooLong => Some((
            StatusCode::PAYLOAD_TOO_LARGE,
            "the chunk runs past Upload-Length",
        )),
        Received::Interrupted if checksum.is_some() => {
            Some((StatusCode::BAD_REQUEST, "interrupted"))
        }
        Received::Complete if checksum.take().is_some_and(|c| !c.matches()) => Some((
            StatusCode::from_u16(460).expect("460 is a valid status"),
            "Checksum Mismatch",
        )),
        _ => None,
    };
    if let Some((status, message)) = taken_back {
        work.let_go().await;
        return tus_status(status, message);
    }
    if let Received::WriteFailed(e) = received {
        work.let_go().await;
        return api_error(e);
    }
    let size = work.upload().size();
    if matches!(received, Received::Complete) && size == length {
        let upload = work.upload.take().expect("held until here");
        return match finish(service, owner, id, &holder, upload).await {
            Ok(done) => answer(size, done),
            Err(r) => r,
        };
    }
    match work.keep().await {
        Ok(true) => answer(size, HeaderMap::new()),
        Ok(false) => tus_status(StatusCode::LOCKED, "another request took the upload over"),
        Err(e) => api_error(e),
    }
}

fn answer(offset: u64, extra: HeaderMap) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    stamp(h);
    h.extend(extra);
    h.insert("upload-offset", HeaderValue::from(offset));
    r
}

/// Reads the body into the upload until it ends, stalls, runs past `length`, or a newer
/// request wants the upload (here: `stop`; on another node: the hold's renewal says so).
async fn receive(
    work: &mut Working,
    stop: &tokio::sync::Notify,
    length: u64,
    checksum: &mut Option<Checksum>,
    mut body: Body,
) -> Received {
    // One timer and one notification for the whole request, not one per frame.
    let stall = tokio::time::sleep(STALL_TIMEOUT);
    tokio::pin!(stall);
    let mut armed_at = tokio::time::Instant::now();
    let stopped = stop.notified();
    tokio::pin!(stopped);
    let mut renew = tokio::time::interval(ferry_core::service::RENEW_EVERY);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    renew.tick().await;
    loop {
        let next = tokio::select! {
            biased;
            () = &mut stopped => return Received::Interrupted,
            () = &mut stall => return Received::Interrupted,
            _ = renew.tick() => {
                match work.service.renew_resumable(&work.id, &work.holder).await {
                    Ok(true) => continue,
                    // Lost, or wanted by a newer request on another node.
                    Ok(false) => return Received::Interrupted,
                    Err(e) => return Received::WriteFailed(e),
                }
            }
            next = body.frame() => next,
        };
        let frame = match next {
            Some(Ok(frame)) => frame,
            None => return Received::Complete,
            Some(Err(_)) => return Received::Interrupted,
        };
        let now = tokio::time::Instant::now();
        if now.duration_since(armed_at) > Duration::from_secs(1) {
            stall.as_mut().reset(now + STALL_TIMEOUT);
            armed_at = now;
        }
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if work.upload().size() + data.len() as u64 > length {
            crate::drain::discard(body).await;
            return Received::TooLong;
        }
        if let Some(c) = checksum.as_mut() {
            c.update(&data);
        }
        work.torn = true;
        let written = work.upload().write(&data).await;
        work.torn = false;
        if let Err(e) = written {
            return Received::WriteFailed(e);
        }
    }
}

/// Commits a complete upload held by `holder`; on success the headers naming the stored
/// file. On a task of its own: once the last byte is in, the file is recorded even if the
/// client goes away now. A commit that fails lets go of the upload, whose last checkpoint
/// stands for a retry.
pub(super) async fn finish(
    service: &Arc<Service>,
    owner: &Uploader,
    id: &str,
    holder: &str,
    upload: Upload,
) -> Result<HeaderMap, Response> {
    let task = {
        let (service, owner) = (Arc::clone(service), owner.clone());
        let (id, holder) = (id.to_string(), holder.to_string());
        tokio::spawn(async move {
            let request = upload.request().clone();
            let result = service.finish_resumable(&id, &holder, upload).await;
            if let Err(e) = &result {
                service.audit_failed_upload(owner.ctx(), &request, e).await;
                service.release_resumable(&id, &holder).await;
            }
            result
        })
    };
    let result = task
        .await
        .unwrap_or_else(|e| Err(Error::Internal(format!("tus commit task failed: {e}"))));
    match result {
        Ok(view) => {
            let mut h = HeaderMap::new();
            h.insert("ferry-file-id", HeaderValue::from(view.file.id));
            if let Ok(v) = HeaderValue::from_str(&view.file.sha256) {
                h.insert("ferry-file-sha256", v);
            }
            Ok(h)
        }
        Err(e) => Err(api_error(e)),
    }
}
