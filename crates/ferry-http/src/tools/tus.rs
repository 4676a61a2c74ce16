//! Resumable uploads: the tus 1.0 protocol (core, creation, termination, checksum) at
//! `/tools/tus` for the upload tool, each request carrying the page's grant in `Ferry-Grant`,
//! and at `/web/tus` for the web client, each request carrying the session's cookie and its
//! form token in `Ferry-Form-Token` ([`Uploader`]).
//!
//! An upload is a [`ferry_core::service::Upload`] kept open between requests: `POST` starts
//! it (the page's limits are checked, the name's folders created), each `PATCH` appends at
//! the offset the server reports, and the `PATCH` that reaches `Upload-Length` commits the
//! file through the Service exactly as `PUT` does (hashed, fsynced, versioned, audited with
//! the token's `Email`). Nothing is visible before that.
//!
//! Bytes of a `PATCH` cut off by a dropped connection are kept (that is what resuming is
//! for), and a newer `PATCH` of the same upload stops an older one still running, unless the
//! `PATCH` declared a checksum, which can then not be verified: a chunk that fails its
//! checksum, or would run past `Upload-Length`, is taken back whole. The body is read on the
//! connection's own task (a hop to another task per frame halved the throughput), so a
//! client going away can cancel a write half-way: each write leaves a mark that the next
//! request rewinds to if the write did not finish, and the final commit runs on a task of
//! its own, so it always finishes.
//! Uploads are held in memory by the node that created them ([`super::tus_table`]), and
//! forgotten (their staging removed) after a day without activity.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_core::service::{FileView, UploadMark};
use ferry_core::{Error, Service};
use http_body_util::BodyExt;

use super::tus_headers::{Checksum, metadata};
use super::tus_owner::Uploader;
use super::tus_table::{Entry, Progress, now_secs};
use super::{GRANT_HEADER, cross_site};
use crate::error::ApiError;
use crate::router::AppState;
use crate::server::ClientAddr;

const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,termination,checksum";
const CHECKSUMS: &str = "sha1,sha256";
/// A `PATCH` whose body stalls this long ends (what arrived is kept).
const STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a `PATCH` waits for an earlier one on the same upload to end.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// A tus protocol answer (the Service's errors travel as [`ApiError`] JSON instead).
fn tus_status(status: StatusCode, message: &str) -> Response {
    let mut r = (status, message.to_string()).into_response();
    stamp(r.headers_mut());
    r
}

fn stamp(h: &mut HeaderMap) {
    h.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn api_error(e: Error) -> Response {
    let mut r = ApiError::from(e).into_response();
    stamp(r.headers_mut());
    r
}

pub(super) fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// Which front end a tus request came to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TusFront {
    /// `/tools/tus`: a browser tool's page.
    Tool,
    /// `/web/tus`: the web client.
    Web,
}

/// Checks the protocol version and the grant or session of a request.
async fn admit(
    state: &AppState,
    front: TusFront,
    client: ClientAddr,
    headers: &HeaderMap,
) -> Result<Uploader, Response> {
    if header_str(headers, "tus-resumable") != Some(TUS_VERSION) {
        let mut r = tus_status(
            StatusCode::PRECONDITION_FAILED,
            "Tus-Resumable: 1.0.0 is required",
        );
        r.headers_mut()
            .insert("tus-version", HeaderValue::from_static(TUS_VERSION));
        return Err(r);
    }
    if front == TusFront::Web {
        return crate::web::script_session(state, client, headers)
            .await
            .map(Uploader::Web)
            .map_err(api_error);
    }
    if cross_site(headers) {
        return Err(api_error(Error::ToolGrantInvalid));
    }
    let ip = client.0;
    let grant = header_str(headers, GRANT_HEADER).unwrap_or_default();
    state
        .service
        .tool_access(grant, ip)
        .await
        .map(Uploader::Tool)
        .map_err(api_error)
}

fn options() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    stamp(h);
    h.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    h.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
    h.insert(
        "tus-checksum-algorithm",
        HeaderValue::from_static(CHECKSUMS),
    );
    r
}

/// `/tools/tus`: `OPTIONS` (capabilities) and `POST` (creation).
pub async fn collection(
    State(state): State<AppState>,
    client: ClientAddr,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    collection_of(TusFront::Tool, state, client, method, headers, body).await
}

/// `/tools/tus` or `/web/tus`.
pub async fn collection_of(
    front: TusFront,
    state: AppState,
    client: ClientAddr,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match method {
        Method::OPTIONS => options(),
        Method::POST => {
            let r = create(&state, front, client, &headers).await;
            crate::drain::discard(body).await;
            r
        }
        _ => tus_status(
            StatusCode::METHOD_NOT_ALLOWED,
            "use POST to create an upload",
        ),
    }
}

async fn create(
    state: &AppState,
    front: TusFront,
    client: ClientAddr,
    headers: &HeaderMap,
) -> Response {
    let owner = match admit(state, front, client, headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if headers.contains_key("upload-defer-length") {
        return tus_status(
            StatusCode::BAD_REQUEST,
            "Upload-Defer-Length is not supported",
        );
    }
    let Some(length) = header_str(headers, "upload-length").and_then(|v| v.parse::<u64>().ok())
    else {
        return tus_status(StatusCode::BAD_REQUEST, "Upload-Length is required");
    };
    if length > i64::MAX as u64 {
        return tus_status(StatusCode::PAYLOAD_TOO_LARGE, "Upload-Length is too large");
    }
    let meta = match metadata(headers) {
        Ok(m) => m,
        Err(message) => return tus_status(StatusCode::BAD_REQUEST, message),
    };
    let Some(path) = ["relativepath", "filename", "name"]
        .iter()
        .find_map(|k| meta.get(*k).filter(|v| !v.is_empty()))
    else {
        return tus_status(
            StatusCode::BAD_REQUEST,
            "Upload-Metadata must give the file's name (filename)",
        );
    };
    let owner_key = owner.key();
    if !state.tools.uploads.has_room(&owner_key) {
        return api_error(Error::Unavailable);
    }
    let begun = match &owner {
        Uploader::Tool(access) => {
            state
                .service
                .tool_begin_upload(access, path.trim_start_matches('/'), length)
                .await
        }
        Uploader::Web(ctx) => {
            // The web client names the folder the upload goes to (the page's folder).
            let Some(folder) = meta.get("folder").and_then(|f| f.parse::<i64>().ok()) else {
                return tus_status(
                    StatusCode::BAD_REQUEST,
                    "Upload-Metadata must give the folder's ID (folder)",
                );
            };
            state
                .service
                .begin_upload_at_path(ctx, folder, path, length)
                .await
        }
    };
    let upload = match begun {
        Ok(u) => u,
        Err(e) => return api_error(e),
    };
    let id = ferry_crypto::random::new_secret_token();
    let entry = Arc::new(Entry {
        owner,
        owner_key,
        length,
        offset: AtomicU64::new(0),
        last_used: AtomicU64::new(now_secs()),
        completed: AtomicBool::new(false),
        patches: AtomicU64::new(0),
        preempt: tokio::sync::Notify::new(),
        torn: std::sync::Mutex::new(None),
        state: tokio::sync::Mutex::new(Progress::Receiving(Box::new(upload))),
    });
    let mut done_headers = HeaderMap::new();
    if length == 0 {
        // Nothing to wait for: an empty file is complete when it is created.
        let mut state_ = entry.state.lock().await;
        match finish(&state.service, &entry, &mut state_).await {
            Ok(h) => done_headers = h,
            Err(r) => return r,
        }
    }
    let entry_prefix = entry.owner.prefix();
    state.tools.uploads.insert(id.clone(), entry);
    let mut r = StatusCode::CREATED.into_response();
    let h = r.headers_mut();
    stamp(h);
    h.extend(done_headers);
    if let Ok(v) = HeaderValue::from_str(&format!("{}{id}", entry_prefix)) {
        h.insert(header::LOCATION, v);
    }
    h.insert("upload-offset", HeaderValue::from(0u64));
    r
}

/// `/tools/tus/{id}`: `HEAD` (where it stands), `PATCH` (append), `DELETE` (cancel).
pub async fn resource(
    State(state): State<AppState>,
    client: ClientAddr,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    resource_of(TusFront::Tool, state, client, id, method, headers, body).await
}

/// `/tools/tus/{id}` or `/web/tus/{id}`.
pub async fn resource_of(
    front: TusFront,
    state: AppState,
    client: ClientAddr,
    id: String,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if method == Method::OPTIONS {
        return options();
    }
    let access = match admit(&state, front, client, &headers).await {
        Ok(a) => a,
        Err(r) => {
            crate::drain::discard(body).await;
            return r;
        }
    };
    let Some(entry) = state.tools.uploads.get(&id, &access) else {
        crate::drain::discard(body).await;
        return tus_status(StatusCode::NOT_FOUND, "no such upload");
    };
    entry.last_used.store(now_secs(), Ordering::Relaxed);
    match method {
        Method::HEAD => head(&entry).await,
        Method::PATCH => {
            let r = patch(&state.service, &entry, &headers, body).await;
            if entry
                .state
                .try_lock()
                .is_ok_and(|s| matches!(*s, Progress::Gone))
            {
                state.tools.uploads.remove(&id);
            }
            r
        }
        Method::DELETE => {
            crate::drain::discard(body).await;
            terminate(&state, &id, &entry).await
        }
        _ => {
            crate::drain::discard(body).await;
            tus_status(StatusCode::METHOD_NOT_ALLOWED, "use HEAD, PATCH or DELETE")
        }
    }
}

async fn head(entry: &Entry) -> Response {
    let mut r = StatusCode::OK.into_response();
    let h = r.headers_mut();
    stamp(h);
    h.insert(
        "upload-offset",
        HeaderValue::from(entry.offset.load(Ordering::Acquire)),
    );
    h.insert("upload-length", HeaderValue::from(entry.length));
    r
}

/// How a `PATCH` body ended.
enum Received {
    Complete,
    Interrupted,
    TooLong,
    WriteFailed(Error),
}

/// Leaves the upload's position in `torn` unless disarmed: a write cancelled half-way (the
/// client went away and the request's future was dropped) is taken back by the next request.
struct TornGuard<'a> {
    entry: &'a Entry,
    mark: Option<UploadMark>,
}

impl Drop for TornGuard<'_> {
    fn drop(&mut self) {
        if let Some(mark) = self.mark.take() {
            *self.entry.torn.lock().expect("torn lock") = Some(mark);
        }
    }
}

async fn patch(service: &Arc<Service>, entry: &Entry, headers: &HeaderMap, body: Body) -> Response {
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
    let me = entry.patches.fetch_add(1, Ordering::AcqRel) + 1;
    entry.preempt.notify_waiters();
    let Ok(mut state) = tokio::time::timeout(LOCK_WAIT, entry.state.lock()).await else {
        crate::drain::discard(body).await;
        return tus_status(StatusCode::LOCKED, "another PATCH is in progress");
    };
    let upload = match &mut *state {
        Progress::Receiving(u) => u,
        Progress::Done | Progress::Gone => {
            crate::drain::discard(body).await;
            return tus_status(StatusCode::CONFLICT, "the upload is complete");
        }
    };
    let torn = entry.torn.lock().expect("torn lock").take();
    if let Some(mark) = torn {
        if let Err(e) = upload.rewind(mark).await {
            *state = Progress::Gone;
            entry.owner.release(service).await;
            return api_error(e);
        }
        entry.offset.store(upload.size(), Ordering::Release);
    }
    let current = entry.offset.load(Ordering::Acquire);
    if offset != current {
        crate::drain::discard(body).await;
        let mut r = tus_status(StatusCode::CONFLICT, "Upload-Offset does not match");
        r.headers_mut()
            .insert("upload-offset", HeaderValue::from(current));
        return r;
    }
    let mark = upload.mark();
    let mut body = body;
    // One timer and one notification for the whole request, not one per frame.
    let stall = tokio::time::sleep(STALL_TIMEOUT);
    tokio::pin!(stall);
    let mut armed_at = tokio::time::Instant::now();
    let preempted = entry.preempt.notified();
    tokio::pin!(preempted);
    let received = loop {
        if entry.patches.load(Ordering::Acquire) != me {
            break Received::Interrupted;
        }
        let next = tokio::select! {
            biased;
            () = &mut preempted => break Received::Interrupted,
            () = &mut stall => break Received::Interrupted,
            next = body.frame() => next,
        };
        let frame = match next {
            Some(Ok(frame)) => frame,
            None => break Received::Complete,
            Some(Err(_)) => break Received::Interrupted,
        };
        let now = tokio::time::Instant::now();
        if now.duration_since(armed_at) > Duration::from_secs(1) {
            stall.as_mut().reset(now + STALL_TIMEOUT);
            armed_at = now;
        }
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if upload.size() + data.len() as u64 > entry.length {
            break Received::TooLong;
        }
        if let Some(c) = checksum.as_mut() {
            c.update(&data);
        }
        let mut guard = TornGuard {
            entry,
            mark: Some(upload.mark()),
        };
        let written = upload.write(&data).await;
        guard.mark = None;
        drop(guard);
        if let Err(e) = written {
            break Received::WriteFailed(e);
        }
        entry.offset.store(upload.size(), Ordering::Release);
    };
    let rewind = match &received {
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
    if let Some((status, message)) = rewind {
        if let Err(e) = upload.rewind(mark).await {
            *state = Progress::Gone;
            entry.owner.release(service).await;
            return api_error(e);
        }
        entry.offset.store(upload.size(), Ordering::Release);
        if matches!(received, Received::TooLong) {
            crate::drain::discard(body).await;
        }
        return tus_status(status, message);
    }
    if let Received::WriteFailed(e) = received {
        *state = Progress::Gone;
        entry.owner.release(service).await;
        return api_error(e);
    }
    let mut done_headers = HeaderMap::new();
    if upload.size() == entry.length {
        match finish(service, entry, &mut state).await {
            Ok(h) => done_headers = h,
            Err(r) => return r,
        }
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    stamp(h);
    h.extend(done_headers);
    h.insert(
        "upload-offset",
        HeaderValue::from(entry.offset.load(Ordering::Acquire)),
    );
    r
}

/// Commits a complete upload; on success the headers naming the stored file.
async fn finish(
    service: &Arc<Service>,
    entry: &Entry,
    state: &mut Progress,
) -> Result<HeaderMap, Response> {
    let Progress::Receiving(upload) = std::mem::replace(state, Progress::Gone) else {
        return Err(tus_status(StatusCode::CONFLICT, "the upload is complete"));
    };
    // On a task of its own: once the last byte is in, the file is recorded even if the
    // client goes away now.
    let task = {
        let service = Arc::clone(service);
        let owner = entry.owner.clone();
        tokio::spawn(async move {
            let request = upload.request().clone();
            let result = service.finish_upload(*upload).await;
            if let Err(e) = &result {
                service.audit_failed_upload(owner.ctx(), &request, e).await;
                owner.release(&service).await;
            }
            result
        })
    };
    let result: Result<FileView, Error> = task
        .await
        .unwrap_or_else(|e| Err(Error::Internal(format!("tus commit task failed: {e}"))));
    match result {
        Ok(view) => {
            entry.offset.store(entry.length, Ordering::Release);
            let mut h = HeaderMap::new();
            h.insert("ferry-file-id", HeaderValue::from(view.file.id));
            if let Ok(v) = HeaderValue::from_str(&view.file.sha256) {
                h.insert("ferry-file-sha256", v);
            }
            *state = Progress::Done;
            entry.completed.store(true, Ordering::Release);
            Ok(h)
        }
        Err(e) => Err(api_error(e)),
    }
}

async fn terminate(state: &AppState, id: &str, entry: &Entry) -> Response {
    // Stop a PATCH still running on this upload.
    entry.patches.fetch_add(1, Ordering::AcqRel);
    entry.preempt.notify_waiters();
    let Ok(mut guard) = tokio::time::timeout(LOCK_WAIT, entry.state.lock()).await else {
        return tus_status(StatusCode::LOCKED, "a PATCH is in progress");
    };
    if matches!(*guard, Progress::Receiving(_)) {
        // Dropping the upload removes its staged bytes.
        *guard = Progress::Gone;
        entry.owner.release(&state.service).await;
    }
    state.tools.uploads.remove(id);
    let mut r = StatusCode::NO_CONTENT.into_response();
    stamp(r.headers_mut());
    r
}
