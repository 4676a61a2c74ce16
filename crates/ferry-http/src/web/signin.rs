//! Signing in and out: the page at `/`, `POST /web/signin`, `POST /web/signout`.
//!
//! A wrong password and an unknown user get the same words and status; the lock-out is the one
//! every protocol shares (the Service's). A form posted from another site is refused before
//! the password is looked at (login CSRF).
//!
//! For an account with two-step sign-in the first answer asks for the passcode too: the
//! page comes back with a `Passcode` field, and the user gives the password again with it
//! (nothing about the first attempt is kept between the two requests).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use ferry_core::Error;
use serde::Deserialize;

use super::error::WebError;
use super::extract::WebForm;
use super::page::{esc, frame};
use super::session::{self, WebSession};
use crate::router::AppState;
use crate::server::{ClientAddr, OverHttps};

/// `?next=` on the sign-in page.
#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    passcode: String,
    next: Option<String>,
}

/// A form that carries only the form token (sign-out, and the account page's buttons).
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub(super) csrf: String,
}

/// `GET /`: the sign-in page, or, for someone signed in, their home folder.
pub async fn front_page(
    State(state): State<AppState>,
    signed_in: Result<WebSession, WebError>,
    Query(q): Query<Next>,
) -> Response {
    match signed_in {
        Ok(who) => match state.service.home_folder(&who.ctx).await {
            Ok(home) => Redirect::to(&format!("/web/folders/{}", home.folder.id)).into_response(),
            Err(e) => WebError::from(e).into_response(),
        },
        Err(_) => signin_page(
            StatusCode::OK,
            "",
            session::safe_next(q.next.as_deref()),
            None,
            false,
        ),
    }
}

/// The sign-in form, with a message when the last attempt failed.
fn signin_page(
    status: StatusCode,
    user: &str,
    next: Option<&str>,
    problem: Option<&str>,
    ask_passcode: bool,
) -> Response {
    let problem = problem
        .map(|p| {
            format!(
                r#"<p class="problem" role="alert" id="problem">{}</p>"#,
                esc(p)
            )
        })
        .unwrap_or_default();
    let next = next
        .map(|n| format!(r#"<input type="hidden" name="next" value="{}">"#, esc(n)))
        .unwrap_or_default();
    let described = if problem.is_empty() {
        ""
    } else {
        r#" aria-describedby="problem""#
    };
    let main = format!(
        r#"<section class="signin">
<h1>Sign in to Ferry</h1>
{problem}
<form method="post" action="/web/signin" class="stack">
<label for="username">User name</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="{user}"{described}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
{passcode}{next}<button type="submit" class="primary">Sign in</button>
</form>
</section>"#,
        user = esc(user),
        passcode = if ask_passcode {
            r#"<label for="passcode">Passcode</label>
<input id="passcode" name="passcode" type="text" inputmode="numeric" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" maxlength="32" required aria-describedby="passcode-hint">
<p class="muted" id="passcode-hint">Six digits from your authenticator app, or one of your recovery codes.</p>
"#
        } else {
            ""
        },
    );
    (status, Html(frame("Sign in", None, &main))).into_response()
}

/// `POST /web/signin`.
pub async fn sign_in(
    State(state): State<AppState>,
    client: ClientAddr,
    https: OverHttps,
    headers: HeaderMap,
    form: Result<WebForm<SignInForm>, WebError>,
) -> Response {
    if crate::tools::cross_site(&headers) {
        return WebError::Forged.into_response();
    }
    let form = match form {
        Ok(WebForm(form)) => form,
        Err(e) => return e.into_response(),
    };
    let next = session::safe_next(form.next.as_deref());
    let caller = session::web_caller(client, &headers);
    if form.username.trim().is_empty() || form.password.is_empty() {
        return signin_page(
            StatusCode::BAD_REQUEST,
            &form.username,
            next,
            Some("Enter your user name and your password."),
            !form.passcode.is_empty(),
        );
    }
    let opened = state
        .service
        .open_web(
            form.username.clone(),
            form.password,
            Some(form.passcode.trim().to_string()).filter(|p| !p.is_empty()),
            &caller,
        )
        .await;
    let data = match opened {
        Ok(data) => data,
        Err(Error::BadCredentials | Error::UserInactive | Error::InvalidArgument(_)) => {
            return signin_page(
                StatusCode::UNAUTHORIZED,
                &form.username,
                next,
                Some("The user name or password is not right."),
                false,
            );
        }
        Err(Error::PasscodeRequired) => {
            return signin_page(
                StatusCode::UNAUTHORIZED,
                &form.username,
                next,
                Some(
                    "This account uses two-step sign-in: enter your password again and the passcode from your authenticator app.",
                ),
                true,
            );
        }
        Err(Error::PasscodeRefused) => {
            return signin_page(
                StatusCode::UNAUTHORIZED,
                &form.username,
                next,
                Some(
                    "The passcode is not right, or it was used already: enter your password and the next passcode.",
                ),
                true,
            );
        }
        Err(Error::LockedOut { retry_after_secs }) => {
            let minutes = retry_after_secs.div_ceil(60).max(1);
            let mut r = signin_page(
                StatusCode::TOO_MANY_REQUESTS,
                &form.username,
                next,
                Some(&format!(
                    "Too many failed sign-ins. Try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                )),
                false,
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
        Err(e) => return WebError::from(e).into_response(),
    };
    // A session this browser already had ends: one browser, one session.
    if let Some(old) = session::presented_session(&headers)
        && old != data.session_id
        && let Ok(ctx) = state.service.authenticate(&old, &caller).await
        && ctx.session.application_id == ferry_core::domain::application::WEB_CLIENT
    {
        let _ = state.service.close(&old, &caller).await;
    }
    let to = match next {
        Some(n) => n.to_string(),
        None => match state.service.authenticate(&data.session_id, &caller).await {
            Ok(ctx) => match state.service.home_folder(&ctx).await {
                Ok(home) => format!("/web/folders/{}", home.folder.id),
                Err(_) => "/".into(),
            },
            Err(_) => "/".into(),
        },
    };
    let mut r = Redirect::to(&to).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::session_cookie(&data.session_id, https)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `POST /web/signout`: ends the session in the store and clears the cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    who: WebSession,
    client: ClientAddr,
    headers: HeaderMap,
    WebForm(form): WebForm<TokenForm>,
) -> Response {
    if let Err(e) = who.check_form(&form.csrf) {
        return e.into_response();
    }
    let caller = session::web_caller(client, &headers);
    if let Err(e) = state.service.close(&who.id, &caller).await
        && !matches!(e, Error::SessionNotFound)
    {
        return WebError::from(e).into_response();
    }
    WebError::SignedOut { next: None }.into_response()
}
