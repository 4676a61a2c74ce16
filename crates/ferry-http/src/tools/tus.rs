//! Resumable uploads: the tus 1.0 protocol (core, creation, termination, checksum) at
//! `/tools/tus` for the upload tool, each request carrying the page's grant in `Ferry-Grant`,
//! and at `/web/tus` for the web client, each request carrying the session's cookie and its
//! form token in `Ferry-Form-Token` ([`Uploader`]).
//!
//! An upload is a [`ferry_core::service::Upload`] that any node continues: `POST` starts it
//! (the page's limits are checked, the name's folders created) and records it in the metadata
//! store; each `PATCH` takes the upload's hold, picks it up from its last checkpoint and
//! appends at the offset the server reports ([`super::tus_patch`]); the `PATCH` that reaches
//! `Upload-Length` commits the file through the Service exactly as `PUT` does (hashed,
//! fsynced, versioned, audited with the token's `Email`). Nothing is visible before that.
//! Where an upload stands is in the store (`ferry_core::service::resumable`), so a request
//! may land on any node, and a node that dies loses nothing it acknowledged. Uploads idle for
//! a day are forgotten, their staged bytes removed.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_core::Error;
use ferry_core::transfer_state::Hold;

use super::tus_headers::metadata;
use super::tus_owner::Uploader;
use super::{GRANT_HEADER, cross_site};
use crate::error::ApiError;
use crate::router::AppState;
use crate::server::ClientAddr;

const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,termination,checksum";
const CHECKSUMS: &str = "sha1,sha256";
/// How long a request waits for an earlier one on the same upload to let go: longer than a
/// hold lasts, so that the hold of a node that died runs out meanwhile.
const HOLD_WAIT: Duration = Duration::from_millis(ferry_core::service::HOLD_MS as u64 + 3_000);

/// A tus protocol answer (the Service's errors travel as [`ApiError`] JSON instead).
pub(super) fn tus_status(status: StatusCode, message: &str) -> Response {
    let mut r = (status, message.to_string()).into_response();
    stamp(r.headers_mut());
    r
}

pub(super) fn stamp(h: &mut HeaderMap) {
    h.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

pub(super) fn api_error(e: Error) -> Response {
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
    match state.service.resumable_room(&owner_key).await {
        Ok(true) => {}
        Ok(false) => return api_error(Error::Unavailable),
        Err(e) => return api_error(e),
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
    let mut upload = match begun {
        Ok(u) => u,
        Err(e) => return api_error(e),
    };
    let id = ferry_crypto::random::new_secret_token();
    if let Err(e) = state
        .service
        .store_resumable(&id, &owner_key, length, &mut upload)
        .await
    {
        owner.release(&state.service).await;
        return api_error(e);
    }
    let mut done_headers = HeaderMap::new();
    if length == 0 {
        // Nothing to wait for: an empty file is complete when it is created, committed as
        // the last PATCH commits (nobody else knows the ID yet, so the hold is free).
        let holder = super::tus_patch::new_holder();
        match state.service.hold_resumable(&id, &owner_key, &holder).await {
            Ok(Hold::Taken(_)) => {}
            Ok(_) => return api_error(Error::Internal("a new upload was held".into())),
            Err(e) => return api_error(e),
        }
        match super::tus_patch::finish(&state.service, &owner, &id, &holder, upload).await {
            Ok(h) => done_headers = h,
            Err(r) => return r,
        }
    } else {
        // Checkpointed: dropping it leaves the staged bytes for the first PATCH.
        drop(upload);
    }
    let mut r = StatusCode::CREATED.into_response();
    let h = r.headers_mut();
    stamp(h);
    h.extend(done_headers);
    if let Ok(v) = HeaderValue::from_str(&format!("{}{id}", owner.prefix())) {
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
    match method {
        Method::HEAD => {
            crate::drain::discard(body).await;
            head(&state, &id, &access).await
        }
        Method::PATCH => super::tus_patch::patch(&state, &access, &id, &headers, body).await,
        Method::DELETE => {
            crate::drain::discard(body).await;
            terminate(&state, &id, &access).await
        }
        _ => {
            crate::drain::discard(body).await;
            tus_status(StatusCode::METHOD_NOT_ALLOWED, "use HEAD, PATCH or DELETE")
        }
    }
}

async fn head(state: &AppState, id: &str, owner: &Uploader) -> Response {
    let stored = match state.service.resumable(id, &owner.key()).await {
        Ok(Some(s)) => s,
        Ok(None) => return tus_status(StatusCode::NOT_FOUND, "no such upload"),
        Err(e) => return api_error(e),
    };
    let mut r = StatusCode::OK.into_response();
    let h = r.headers_mut();
    stamp(h);
    h.insert("upload-offset", HeaderValue::from(stored.offset));
    h.insert("upload-length", HeaderValue::from(stored.length));
    r
}

/// Takes the hold of upload `id` for `holder`, asking a request that holds it (on this node
/// or another) to let go, and waiting up to [`HOLD_WAIT`] for it.
pub(super) async fn take_hold(
    state: &AppState,
    id: &str,
    owner: &Uploader,
    holder: &str,
) -> Result<Hold, Error> {
    let deadline = tokio::time::Instant::now() + HOLD_WAIT;
    let key = owner.key();
    loop {
        match state.service.hold_resumable(id, &key, holder).await? {
            Hold::Busy if tokio::time::Instant::now() < deadline => {
                state.tools.patches.stop(id);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return Ok(other),
        }
    }
}

/// `DELETE`: the upload is cancelled, its staged bytes removed, its place given back.
async fn terminate(state: &AppState, id: &str, owner: &Uploader) -> Response {
    let holder = super::tus_patch::new_holder();
    let stored = match take_hold(state, id, owner, &holder).await {
        Ok(Hold::Taken(s)) => Some(s),
        Ok(Hold::Complete(s)) => {
            // The file stays; only the record of the upload goes.
            if let Err(e) = state.service.discard_resumable(&s).await {
                return api_error(e);
            }
            None
        }
        Ok(Hold::Missing) => return tus_status(StatusCode::NOT_FOUND, "no such upload"),
        Ok(Hold::Busy) => return tus_status(StatusCode::LOCKED, "a PATCH is in progress"),
        Err(e) => return api_error(e),
    };
    if let Some(stored) = stored {
        if let Err(e) = state.service.cancel_resumable(owner.ctx(), &stored).await {
            state.service.release_resumable(id, &holder).await;
            return api_error(e);
        }
        owner.release(&state.service).await;
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    stamp(r.headers_mut());
    r
}
