//! The web client's one error type, and how each becomes a page: the status is the JSON API's
//! for the same Service error ([`crate::ApiError`]); the words are for a person. A session
//! that is missing or ended sends the browser to the sign-in page; internals are logged,
//! never shown.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use ferry_core::Error;

use super::page;
use super::session;

/// Why a web request was not done.
#[derive(Debug)]
pub enum WebError {
    /// No live session: to the sign-in page, and back to `next` (a local path) afterwards.
    SignedOut {
        /// Where the person was going (GET pages only).
        next: Option<String>,
    },
    /// The person's role requires two-step sign-in and they have not set it up: to
    /// `/web/account`, where they can.
    SetUpSecondFactor,
    /// A state change that came from another site, or without this session's form token.
    Forged,
    /// A form that is not one of ours (missing or malformed fields).
    BadForm(&'static str),
    /// A path that names nothing (not even an ID).
    NotFound,
    /// The Service refused or failed.
    Service(Error),
}

impl From<Error> for WebError {
    fn from(e: Error) -> Self {
        match e {
            Error::SessionNotFound => WebError::SignedOut { next: None },
            e => WebError::Service(e),
        }
    }
}

impl WebError {
    fn status_and_words(&self) -> (StatusCode, String) {
        match self {
            WebError::SignedOut { .. } | WebError::SetUpSecondFactor => {
                (StatusCode::SEE_OTHER, String::new())
            }
            WebError::Forged => (
                StatusCode::FORBIDDEN,
                "This request did not come from a page of this site, so nothing was changed. \
                 Go back, reload the page and try again."
                    .into(),
            ),
            WebError::BadForm(why) => (StatusCode::BAD_REQUEST, format!("Bad request: {why}.")),
            WebError::NotFound => (StatusCode::NOT_FOUND, "There is no such page.".into()),
            WebError::Service(e) => {
                let status = crate::error::service_status(e);
                let words = match e {
                    Error::FolderNotFound => {
                        "This folder does not exist, or you may not see it.".into()
                    }
                    Error::FileNotFound => {
                        "This file does not exist, or you may not see it.".into()
                    }
                    Error::NotPermitted(_) => "You do not have permission to do that here.".into(),
                    Error::InvalidArgument(why) => format!("That was not accepted: {why}."),
                    Error::Internal(detail) => {
                        tracing::error!(%detail, "internal error on a web page");
                        "Something went wrong on the server; nothing was changed. Try again.".into()
                    }
                    e => {
                        let mut s = e.to_string();
                        if let Some(first) = s.get_mut(0..1) {
                            first.make_ascii_uppercase();
                        }
                        format!("{s}.")
                    }
                };
                (status, words)
            }
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::SetUpSecondFactor = self {
            return Redirect::to("/web/account").into_response();
        }
        if let WebError::SignedOut { next } = &self {
            let to = match next {
                Some(next) => format!("/?next={}", session::encode_next(next)),
                None => "/".into(),
            };
            let mut r = Redirect::to(&to).into_response();
            // Whatever cookie came is dead: the browser forgets it.
            for cookie in session::clearing_cookies() {
                if let Ok(v) = HeaderValue::from_str(&cookie) {
                    r.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            return r;
        }
        let (status, words) = self.status_and_words();
        let mut r = page::message_page(status, "Not done", &words);
        if let WebError::Service(Error::LockedOut { retry_after_secs }) = &self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}
