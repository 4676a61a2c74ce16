//! The web client's style and script, embedded in the binary (no CDN, no build step).

use axum::extract::Path;
use axum::response::Response;

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
    crate::tools::assets::serve(ASSETS, &name)
}
