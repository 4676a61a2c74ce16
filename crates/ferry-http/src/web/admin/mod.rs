//! The administration console at `/admin` (issue 17): users, groups, live sessions, the audit
//! log, applications, the directory sync and the effective configuration, for Administrator and System users only. Anyone else is answered as if the
//! page did not exist. Every action is one Service call as [`Actor::Session`], so the Service's
//! own rules apply (no one changes an account above their role); the pages hold none.

mod applications;
mod audit;
mod configuration;
mod directory;
mod groups;
mod keys;
mod sessions;
mod users;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferry_core::Actor;

use super::error::WebError;
use super::page::esc;
use super::session::WebSession;
use crate::router::AppState;

/// The console's routes (the caller adds the web client's layers).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/admin",
            get(|_: AdminSession| async { Redirect::to("/admin/users") }),
        )
        .route("/admin/users", get(users::list).post(users::create))
        .route("/admin/users/role", post(users::set_role))
        .route("/admin/users/disable", post(users::disable))
        .route("/admin/users/enable", post(users::enable))
        .route("/admin/users/password", post(users::set_password))
        .route("/admin/users/reset-totp", post(users::reset_totp))
        .route("/admin/users/quota", post(users::set_quota))
        .route("/admin/users/keys", get(keys::list).post(keys::add))
        .route("/admin/users/keys/remove", post(keys::remove))
        .route("/admin/groups", get(groups::list).post(groups::create))
        .route("/admin/configuration", get(configuration::show))
        .route(
            "/admin/directory",
            get(directory::show).post(directory::run),
        )
        .route("/admin/groups/members", post(groups::membership))
        .route("/admin/sessions", get(sessions::list))
        .route("/admin/sessions/end", post(sessions::end))
        .route("/admin/audit", get(audit::list))
        .route("/admin/audit/export", get(audit::export))
        .route("/admin/audit/verify", post(audit::verify))
        .route(
            "/admin/applications",
            get(applications::list).post(applications::register),
        )
        .route(
            "/admin/applications/enabled",
            post(applications::set_enabled),
        )
}

/// A signed-in Administrator or System user.
pub struct AdminSession(pub WebSession);

impl AdminSession {
    /// The Service's view of who acts.
    pub fn actor(&self) -> Actor {
        Actor::Session(Box::new(self.0.ctx.clone()))
    }
}

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let who = WebSession::from_request_parts(parts, state).await?;
        if !who.ctx.user.role.may_impersonate() {
            // As if there were no such page: a member learns nothing of the console.
            return Err(WebError::NotFound);
        }
        Ok(AdminSession(who))
    }
}

/// A console page: the section's tabs above its content.
fn console(who: &AdminSession, current: &str, title: &str, main: &str) -> Response {
    let tabs = [
        ("/admin/users", "Users"),
        ("/admin/groups", "Groups"),
        ("/admin/sessions", "Sessions"),
        ("/admin/audit", "Audit log"),
        ("/admin/applications", "Applications"),
        ("/admin/directory", "Directory sync"),
        ("/admin/configuration", "Configuration"),
    ];
    let mut nav = String::from(r#"<nav aria-label="Administration" class="tabs"><ul>"#);
    for (href, label) in tabs {
        let here = if href == current {
            r#" aria-current="page""#
        } else {
            ""
        };
        nav.push_str(&format!(r#"<li><a href="{href}"{here}>{label}</a></li>"#));
    }
    nav.push_str("</ul></nav>");
    let body = format!("{nav}\n<h1>{}</h1>\n{main}", esc(title));
    axum::response::Html(super::page::frame(title, Some(&who.0), &body)).into_response()
}

/// Back to a console page after an action (`303`).
fn back(to: &str) -> Response {
    Redirect::to(to).into_response()
}
