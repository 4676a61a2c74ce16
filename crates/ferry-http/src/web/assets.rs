//! The web client's style and script, embedded in the binary (no CDN, no build step).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Name, content type, bytes.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "web.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/web.css"),
    ),
    (
        "web.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/web.js"),
    ),
    (
        "upload.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/upload.js"),
    ),
];

/// `GET /web/assets/{name}`.
pub async fn asset(Path(name): Path<String>) -> Response {
    let Some((_, content_type, body)) = ASSETS.iter().find(|(n, _, _)| *n == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut r = (*body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}
