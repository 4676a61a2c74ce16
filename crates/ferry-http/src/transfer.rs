//! Streaming transfer over plain HTTP (never JSON): `PUT` a body into a folder, `GET` a file's
//! content with `Range`, `ETag` and a safe `Content-Disposition`, and the public Thru
//! compatibility link `GET /download.aspx?fileid=…&sessionid=…`. The session travels in the
//! `X-Session-ID` header (in the query only on the compatibility link).
//!
//! Memory stays bounded whatever the size: request bodies are consumed frame by frame into the
//! Service's staging, and content is streamed out through a fixed-size buffer.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use ferry_core::domain::SessionId;
use ferry_core::service::{FileView, SessionContext, Upload, UploadRequest};
use ferry_core::{Error, Result, Service};
use http_body_util::BodyExt;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::router::AppState;
use crate::server::ClientAddr;
use crate::session_bound::session_bound;
use crate::wire::FthFileData;

/// The header that carries the session on transfer requests.
pub const SESSION_HEADER: &str = "x-session-id";
/// Read buffer for downloads.
const DOWNLOAD_BUFFER: usize = 256 * 1024;

pub(crate) async fn session_from(
    svc: &Service,
    raw: Option<&str>,
    client: ClientAddr,
) -> Result<SessionContext> {
    let raw = raw.ok_or_else(|| Error::invalid("the X-Session-ID header is missing"))?;
    let id = SessionId::parse(raw).ok_or_else(|| Error::invalid("the session ID is not a GUID"))?;
    svc.authenticate(&id, &client.caller()).await
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn parse_id(text: &str, what: &str) -> Result<i64> {
    text.parse()
        .map_err(|_| Error::invalid(format!("{what} must be an integer")))
}

/// `?overwrite=` of an upload.
#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    overwrite: Option<String>,
}

/// `PUT /api/v1/folders/{folderID}/files/{name}`: answers `FTHFileData`.
pub async fn upload(
    State(state): State<AppState>,
    client: ClientAddr,
    path: Result<ApiPath<(String, String)>, ApiError>,
    query: Result<ApiQuery<UploadQuery>, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut body = body;
    let svc = &state.service;
    // Refused before a byte of the body is read (a bad path or query, no session, no right to
    // write there): see `drain::refusal` for what the client is spared.
    let begun = match (path, query) {
        (Ok(ApiPath((folder, name))), Ok(ApiQuery(query))) => {
            begin(svc, client, &folder, name, query, &headers)
                .await
                .map_err(ApiError::from)
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let (ctx, req, upload) = match begun {
        Ok(begun) => begun,
        Err(e) => {
            return crate::drain::refusal(body, &headers, true, e.into_response()).await;
        }
    };
    match receive(svc, &ctx, &req, upload, &mut body).await {
        Ok(view) => axum::Json(FthFileData::from(view)).into_response(),
        Err(e) => {
            // Refused while reading the bytes: over HTTP/1 the client finishes sending, so
            // that it reads the answer instead of a connection reset.
            let answer = ApiError::from(e).into_response();
            crate::drain::refusal(body, &headers, false, answer).await
        }
    }
}

/// An upload's checks, up to the Service's consent to receive its bytes.
async fn begin(
    svc: &Service,
    client: ClientAddr,
    folder: &str,
    name: String,
    query: UploadQuery,
    headers: &HeaderMap,
) -> Result<(SessionContext, UploadRequest, Upload)> {
    let ctx = session_from(svc, header_str(headers, SESSION_HEADER), client).await?;
    let overwrite = match query.overwrite.as_deref() {
        None | Some("true") | Some("1") => true,
        Some("false") | Some("0") => false,
        Some(_) => return Err(Error::invalid("overwrite must be true or false")),
    };
    let expected_size = match header_str(headers, "content-length") {
        Some(v) => Some(
            v.parse()
                .map_err(|_| Error::invalid("bad Content-Length"))?,
        ),
        None => None,
    };
    let req = UploadRequest {
        folder_id: parse_id(folder, "folderID")?,
        name,
        overwrite,
        rename_if_taken: false,
        expected_size,
        expected_sha256: declared_sha256(headers)?,
        external_user: None,
    };
    let upload = svc.begin_upload(&ctx, req.clone()).await?;
    Ok((ctx, req, upload))
}

/// The body of an upload [`begin`] accepted, into the Service, and the version it makes.
async fn receive(
    svc: &Service,
    ctx: &SessionContext,
    req: &UploadRequest,
    mut upload: Upload,
    body: &mut Body,
) -> Result<FileView> {
    let outcome = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| Error::invalid("the upload was interrupted"))?;
            if let Ok(data) = frame.into_data() {
                upload.write(&data).await?;
            }
        }
        Ok(())
    }
    .await;
    let result = match outcome {
        Ok(()) => svc.finish_upload(upload).await,
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        svc.audit_failed_upload(ctx, req, e).await;
    }
    result
}

/// The SHA-256 a client declared: `X-Content-SHA256: <hex>`, or RFC 3230
/// `Digest: SHA-256=<base64>`.
fn declared_sha256(headers: &HeaderMap) -> Result<Option<String>> {
    if let Some(hex_digest) = header_str(headers, "x-content-sha256") {
        return Ok(Some(hex_digest.trim().to_ascii_lowercase()));
    }
    if let Some(digest) = header_str(headers, "digest") {
        for part in digest.split(',') {
            if let Some((alg, value)) = part.trim().split_once('=')
                && alg.eq_ignore_ascii_case("sha-256")
            {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(value.trim())
                    .map_err(|_| Error::invalid("the Digest header's SHA-256 is not base64"))?;
                return Ok(Some(hex::encode(bytes)));
            }
        }
    }
    Ok(None)
}

/// `GET /api/v1/files/{fileID}/content` (and `HEAD`).
pub async fn content(
    State(state): State<AppState>,
    client: ClientAddr,
    method: Method,
    ApiPath(file): ApiPath<String>,
    headers: HeaderMap,
) -> Response {
    let session = header_str(&headers, SESSION_HEADER).map(str::to_string);
    let head = method == Method::HEAD;
    respond(
        download(
            &state.service,
            session.as_deref(),
            client,
            &file,
            &headers,
            head,
        )
        .await,
    )
}

/// `GET /download.aspx?fileid=…&sessionid=…`, or `?folderid=…&sessionid=…` (public Thru
/// parameter names, SARG's legacy transfer pages).
#[derive(Debug, Deserialize)]
pub struct LegacyDownload {
    fileid: Option<String>,
    folderid: Option<String>,
    sessionid: Option<String>,
}

/// The compatibility download link: one file, or a folder and the subfolders the caller may
/// read as `{folder name}.zip` (the same archive as `/api/v1/folders/{id}/zip`).
pub async fn legacy_download(
    State(state): State<AppState>,
    client: ClientAddr,
    method: Method,
    Query(q): Query<LegacyDownload>,
    headers: HeaderMap,
) -> Response {
    match (&q.fileid, &q.folderid) {
        (Some(_), Some(_)) => {
            return ApiError::from(Error::invalid(
                "fileid and folderid are alternatives; give one",
            ))
            .into_response();
        }
        (None, Some(folder)) => {
            return respond(
                crate::archive::start(state, client, folder, q.sessionid.as_deref()).await,
            );
        }
        _ => {}
    }
    let file = q.fileid.unwrap_or_default();
    respond(
        download(
            &state.service,
            q.sessionid.as_deref(),
            client,
            &file,
            &headers,
            method == Method::HEAD,
        )
        .await,
    )
}

fn respond(result: Result<Response>) -> Response {
    result.unwrap_or_else(|e| ApiError::from(e).into_response())
}

/// What a `Range` header asks for, after RFC 9110's rules: one satisfiable range, an
/// unsatisfiable one (416), or none (send everything: no header, a malformed one, an inverted
/// one, or several ranges, which Ferry answers with the whole file).
#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    Whole,
    Part(u64, u64),
    Unsatisfiable,
}

fn parse_range(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.parse::<u64>(), last.parse::<u64>()) {
        (Ok(a), Ok(b)) if a <= b => Some((a, b.min(size.saturating_sub(1)))),
        (Ok(_), Ok(_)) => return RangeRequest::Whole,
        (Ok(a), Err(_)) if last.is_empty() => Some((a, size.saturating_sub(1))),
        (Err(_), Ok(n)) if first.is_empty() => {
            if n == 0 {
                return RangeRequest::Unsatisfiable;
            }
            Some((size.saturating_sub(n), size.saturating_sub(1)))
        }
        _ => return RangeRequest::Whole,
    };
    match range {
        Some((a, b)) if size > 0 && a < size && a <= b => RangeRequest::Part(a, b),
        _ => RangeRequest::Unsatisfiable,
    }
}

/// Characters left as they are in an RFC 8187 `filename*` value (its `attr-char`).
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>`: always a
/// download, never rendered inline, whatever characters the name holds.
pub(crate) fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
        utf8_percent_encode(name, ATTR_CHAR)
    )
}

async fn download(
    svc: &Arc<Service>,
    session: Option<&str>,
    client: ClientAddr,
    file: &str,
    headers: &HeaderMap,
    head: bool,
) -> Result<Response> {
    let ctx = session_from(svc, session, client).await?;
    let id = parse_id(file, "fileID")?;
    send_file(svc, &ctx, id, headers, head).await
}

/// Answers a `GET` (or, with `head`, a `HEAD`) of a file's content for `ctx`: conditional
/// (`ETag`), ranged, always an attachment, never sniffed or rendered by the browser.
pub(crate) async fn send_file(
    svc: &Arc<Service>,
    ctx: &SessionContext,
    id: i64,
    headers: &HeaderMap,
    head: bool,
) -> Result<Response> {
    let view = svc.file_to_download(ctx, id).await?;
    let size = view.file.size as u64;
    let etag = format!("\"{}\"", view.file.sha256);
    if header_str(headers, "if-none-match")
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let range = match parse_range(header_str(headers, "range"), size) {
        RangeRequest::Whole => None,
        RangeRequest::Part(a, b) => Some((a, b)),
        RangeRequest::Unsatisfiable => {
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}"))],
            )
                .into_response());
        }
    };
    if head {
        // A `HEAD` answers what a `GET` would, but sends no content: nothing is opened, and no
        // download is recorded (rclone and browsers' link checks ask before they fetch).
        return Ok(file_response(
            Body::empty(),
            &view.file.name,
            size,
            etag,
            range,
        ));
    }
    let dl = svc.download_view(ctx, view, range).await?;
    let range = range.map(|_| (dl.offset, dl.offset + dl.length - 1));
    let (name, body) = (dl.file.name.clone(), download_body(svc, ctx, dl));
    Ok(file_response(body, &name, size, etag, range))
}

/// A file's content (or the `range` of it, inclusive) of `size` bytes as an attachment named
/// `name`: conditional, ranged, never sniffed or rendered by the browser.
fn file_response(
    body: Body,
    name: &str,
    size: u64,
    etag: String,
    range: Option<(u64, u64)>,
) -> Response {
    let length = range.map_or(size, |(a, b)| b - a + 1);
    let mut response = Response::new(body);
    let h = response.headers_mut();
    let put = |h: &mut HeaderMap, name: header::HeaderName, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    put(h, header::CONTENT_TYPE, "application/octet-stream".into());
    put(h, header::CONTENT_LENGTH, length.to_string());
    put(h, header::ETAG, etag);
    put(h, header::ACCEPT_RANGES, "bytes".into());
    put(h, header::CONTENT_DISPOSITION, content_disposition(name));
    put(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff".into());
    // Should a browser ever render it anyway, it runs nothing with Ferry's origin.
    put(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; sandbox".into(),
    );
    put(h, header::CACHE_CONTROL, "private, no-cache".into());
    if let Some((a, b)) = range {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        put(
            response.headers_mut(),
            header::CONTENT_RANGE,
            format!("bytes {a}-{b}/{size}"),
        );
    }
    response
}

/// A whole [`Download`] (an older version, say) as an attachment, with the same protections as
/// [`send_file`]: never sniffed, never run with Ferry's origin, not cached.
pub(crate) fn whole_attachment(
    svc: &Arc<Service>,
    ctx: &SessionContext,
    dl: ferry_core::service::Download,
) -> Response {
    let (name, length) = (dl.file.name.clone(), dl.length);
    attachment(download_body(svc, ctx, dl), &name, length)
}

/// A download's bytes as a response body: read through a fixed buffer, and bound to the
/// session it is sent for ([`session_bound`]).
fn download_body(
    svc: &Arc<Service>,
    ctx: &SessionContext,
    dl: ferry_core::service::Download,
) -> Body {
    let stream =
        tokio_util::io::ReaderStream::with_capacity(dl.reader.take(dl.length), DOWNLOAD_BUFFER);
    session_bound(stream, Arc::clone(svc), ctx.clone(), dl.file.folder_id)
}

/// The headers [`whole_attachment`] would send for `length` bytes named `name`, with no
/// content: the answer to a `HEAD`, which opens and records nothing.
pub(crate) fn attachment_head(name: &str, length: u64) -> Response {
    attachment(Body::empty(), name, length)
}

fn attachment(body: Body, name: &str, length: u64) -> Response {
    let mut response = Response::new(body);
    let h = response.headers_mut();
    let fixed = [
        (header::CONTENT_TYPE, "application/octet-stream".to_string()),
        (header::CONTENT_LENGTH, length.to_string()),
        (header::CONTENT_DISPOSITION, content_disposition(name)),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox".into(),
        ),
        (header::CACHE_CONTROL, "private, no-cache".into()),
    ];
    for (name, value) in fixed {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeRequest::*;
        let r = |h: &str, size| parse_range(Some(h), size);
        assert_eq!(parse_range(None, 10), Whole);
        assert_eq!(r("bytes=0-4", 10), Part(0, 4));
        assert_eq!(r("bytes=5-", 10), Part(5, 9));
        assert_eq!(r("bytes=-3", 10), Part(7, 9));
        assert_eq!(r("bytes=-30", 10), Part(0, 9));
        assert_eq!(r("bytes=8-100", 10), Part(8, 9));
        assert_eq!(r("bytes=10-", 10), Unsatisfiable);
        assert_eq!(r("bytes=10-20", 10), Unsatisfiable);
        assert_eq!(r("bytes=-0", 10), Unsatisfiable);
        assert_eq!(r("bytes=0-", 0), Unsatisfiable);
        assert_eq!(r("bytes=5-2", 10), Whole, "inverted: ignored");
        assert_eq!(r("bytes=0-1,4-5", 10), Whole, "several: the whole file");
        assert_eq!(r("items=0-1", 10), Whole);
        assert_eq!(r("bytes=x-y", 10), Whole);
    }

    #[test]
    fn dispositions_are_always_attachments_and_safe() {
        assert_eq!(
            content_disposition("report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        let d = content_disposition("a\"b\\c\r\nd é.txt");
        assert!(d.starts_with("attachment; filename=\"a_b_c__d _.txt\"; filename*=UTF-8''a%22b%5Cc%0D%0Ad%20%C3%A9.txt"), "{d}");
        assert!(HeaderValue::from_str(&d).is_ok());
    }
}
