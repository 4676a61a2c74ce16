//! The browser tools (issue 5, docs/upload-tool.md): the upload page an integrator links to
//! with an encrypted token, its resumable uploads (tus 1.0), and the download page.
//!
//! Opening a page exchanges the token for a grant ([`ferry_core::service::ToolGrant`]); the
//! page's own requests carry the grant in the `Ferry-Grant` header (downloads, which are
//! plain links, in the query), never the token. Pages are built from fixed templates with
//! every value escaped, served with a strict Content-Security-Policy, and their script and
//! style are embedded in the binary ([`assets`]).

pub(crate) mod assets;
mod pages;
pub(crate) mod tus;
mod tus_headers;
mod tus_owner;
mod tus_patch;
mod tus_patches;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::routing::{any, get};

use crate::router::AppState;
pub(crate) use pages::escape;
pub use tus_patches::TusPatches;

/// The header a page's requests carry their grant in.
pub const GRANT_HEADER: &str = "ferry-grant";

/// What the tools need besides the Service.
#[derive(Debug, Default)]
pub struct ToolsFront {
    /// Hosts that `ThruSuccessUrl` and `ThruErrorReportingUrl` may point to (https only); an
    /// empty list turns both off, so a link cannot redirect anywhere it likes.
    pub redirect_hosts: Vec<String>,
    /// The tus `PATCH`es running on this node.
    pub patches: TusPatches,
}

/// The tools' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tools/upload", get(pages::upload_page))
        .route("/ExternalJavaUpload.aspx", get(pages::legacy_upload_page))
        .route("/tools/download", get(pages::download_page))
        .route("/tools/files/{file_id}", get(pages::download_file))
        .route("/tools/zip", get(pages::download_all))
        .route("/tools/assets/{name}", get(assets::asset))
        .route("/tools/tus", any(tus::collection))
        .route("/tools/tus/{upload_id}", any(tus::resource))
}

/// Headers every tool page carries: nothing but Ferry's own script and style may run or load,
/// no framing, no referrer (the token is in the page's URL), no caching.
pub(crate) fn harden_page(h: &mut HeaderMap) {
    let fixed: [(header::HeaderName, &'static str); 6] = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        h.insert(name, HeaderValue::from_static(value));
    }
}

/// Whether a request that carries a grant came from another site: a browser says so in
/// `Sec-Fetch-Site`, or in an `Origin` that is not this host. Such requests are refused
/// whatever they carry (CSRF defence in depth: the grant is never ambient anyway).
pub(crate) fn cross_site(headers: &HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if value("sec-fetch-site").is_some_and(|s| s == "cross-site" || s == "same-site") {
        return true;
    }
    match (value("origin"), value("host")) {
        (None, _) => false,
        (Some(origin), Some(host)) if origin != "null" => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            !origin_host.eq_ignore_ascii_case(host)
        }
        (Some(_), _) => true,
    }
}

/// Shared handle, as the router state holds it.
pub type SharedTools = Arc<ToolsFront>;
