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

mod account;
mod admin;
mod assets;
mod error;
mod extract;
mod file_view;
mod folder_actions;
mod folder_view;
mod format;
mod move_picker;
mod page;
mod permissions;
mod search;
mod selection;
mod session;
mod sharing;
mod signin;
mod uploads;

pub(crate) use session::script_session;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
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
        .route("/web/folders/{folder_id}/selection", post(selection::act))
        .route(
            "/web/folders/{folder_id}/move-to",
            post(move_picker::picker),
        )
        .route("/web/folders/{folder_id}/zip", get(selection::folder_zip))
        .route("/web/search", get(search::show))
        .route(
            "/web/folders/{folder_id}/permissions",
            get(permissions::show),
        )
        .route(
            "/web/folders/{folder_id}/permissions/grant",
            post(permissions::grant),
        )
        .route(
            "/web/folders/{folder_id}/permissions/inherit",
            post(permissions::inherit),
        )
        .route(
            "/web/folders/{folder_id}/request-link",
            post(sharing::request_files),
        )
        .route("/web/account", get(account::show))
        .route("/web/account/totp/begin", post(account::begin))
        .route("/web/account/totp/confirm", post(account::confirm))
        .route("/web/account/totp/disable", post(account::disable))
        .route("/web/links", get(sharing::list))
        .route("/web/links/{link_id}/show", post(sharing::show))
        .route("/web/links/{link_id}/revoke", post(sharing::revoke))
        .route(
            "/web/folders/{folder_id}/rename",
            post(folder_actions::rename_folder),
        )
        .route(
            "/web/folders/{folder_id}/delete",
            post(folder_actions::delete_folder),
        )
        .route("/web/files/{file_id}", get(file_view::show))
        .route(
            "/web/files/{file_id}/versions/{version}/download",
            get(file_view::download_version),
        )
        .route(
            "/web/files/{file_id}/versions/{version}/restore",
            post(file_view::restore_version),
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
        .merge(admin::routes())
        .layer(middleware::from_fn(read_form))
        .route("/web/tus", any(uploads::collection))
        .route("/web/tus/{upload_id}", any(uploads::resource))
        .layer(middleware::map_response(harden))
}

/// Largest form body a page sends (a selection of 1,000 items is about 12 KB).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// Reads a form's whole body before its route runs, so that a request refused before its
/// body is looked at (another origin, a dead session) is still read to the end: a connection
/// closed with unread bytes is reset, and the browser can lose the answer. A larger body is
/// refused, and the rest read and dropped.
async fn read_form(request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    match crate::router::read_limited(body, MAX_FORM_BYTES).await {
        Some(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        None => page::message_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Not done",
            "The form sent more than this site's pages send; nothing was changed.",
        ),
    }
}

/// Headers on every web-client answer: only Ferry's own script, style and images (no inline
/// script or style, nothing from elsewhere), no framing, no referrer to other sites, nothing cached, no
/// sniffing, and a browsing context of its own.
async fn harden(mut response: Response) -> Response {
    let h = response.headers_mut();
    // A download keeps its own, stricter policy (a sandbox).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                 connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
    }
    let fixed: [(header::HeaderName, &'static str); 5] = [
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
