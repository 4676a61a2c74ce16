//! The web client (issue 17, docs/web-client.md): sign-in at `/`, then a person's folders and
//! files in server-rendered pages that work without JavaScript; a small embedded script adds
//! what needs one.
//!
//! A web session is a Service session of the reserved application
//! [`ferry_core::domain::application::WEB_CLIENT`], carried in an `HttpOnly`,
//! `SameSite=Strict` cookie ([`session`]). Every page and every action is one Service call with
//! that session: the pages hold no rules of their own, they only leave out what the caller's
//! bits would refuse. Every state change is a `POST` that carries the session's CSRF token and
//! comes from this origin. Pages are built from fixed templates in which every value is
//! escaped ([`page`]), under a Content-Security-Policy that allows no inline script or style.

mod assets;
mod error;
mod extract;
mod folder_actions;
mod folder_view;
mod format;
mod page;
mod session;
mod signin;
mod uploads;

pub(crate) use session::script_session;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::Response;
use axum::routing::{any, get, post};

use crate::router::AppState;

/// The web client's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(signin::front_page))
        .route("/web/signin", post(signin::sign_in))
        .route("/web/signout", post(signin::sign_out))
        .route("/web/folders/{folder_id}", get(folder_view::show))
        .route(
            "/web/folders/{folder_id}/new-folder",
            post(folder_actions::create_folder),
        )
        .route(
            "/web/folders/{folder_id}/rename",
            post(folder_actions::rename_folder),
        )
        .route(
            "/web/folders/{folder_id}/delete",
            post(folder_actions::delete_folder),
        )
        .route(
            "/web/files/{file_id}/download",
            get(folder_actions::download_file),
        )
        .route(
            "/web/files/{file_id}/rename",
            post(folder_actions::rename_file),
        )
        .route(
            "/web/files/{file_id}/delete",
            post(folder_actions::delete_file),
        )
        .route("/web/assets/{name}", get(assets::asset))
        .route("/web/tus", any(uploads::collection))
        .route("/web/tus/{upload_id}", any(uploads::resource))
        .layer(middleware::map_response(harden))
}

/// Headers on every web-client answer: only Ferry's own script, style and images (no inline
/// script or style, nothing from elsewhere), no framing, no referrer to other sites, nothing cached, no
/// sniffing, and a browsing context of its own.
async fn harden(mut response: Response) -> Response {
    let h = response.headers_mut();
    let fixed: [(header::HeaderName, &'static str); 6] = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        // Not `no-referrer`: under it a browser sends `Origin: null` with a form, which the
        // cross-site check must refuse. No web-client URL carries a secret.
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            header::HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ),
    ];
    for (name, value) in fixed {
        h.insert(name, HeaderValue::from_static(value));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
