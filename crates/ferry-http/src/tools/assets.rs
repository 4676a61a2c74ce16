//! The tools' script and style, embedded in the binary (no CDN, nothing to install).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Name, content type, bytes.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "upload.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/upload.js"),
    ),
    (
        "download.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/download.js"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_str!("../../assets/icon.svg"),
    ),
    (
        "tool.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/tool.css"),
    ),
];

/// `GET /tools/assets/{name}`.
pub async fn asset(Path(name): Path<String>) -> Response {
    serve(ASSETS, &name)
}

/// One of `table`'s embedded files by name (`nosniff`, revalidated), or 404. The web client's
/// assets are served the same way.
pub(crate) fn serve(table: &[(&str, &'static str, &'static str)], name: &str) -> Response {
    let Some((_, content_type, body)) = table.iter().find(|(n, _, _)| *n == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut r = (*body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}
