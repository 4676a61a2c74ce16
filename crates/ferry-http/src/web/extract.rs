//! Extractors whose refusals are web-client pages ([`WebError`]), not axum's plain-text
//! rejections: a form that is not one of ours, a path or query that does not parse.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::WebError;

/// A form body of this site's pages.
pub struct WebForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for WebForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, WebError> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|axum::Form(t)| WebForm(t))
            .map_err(|_| WebError::BadForm("the form's fields are not those of this site's pages"))
    }
}

/// An ID in the path: anything but a number reads as a missing folder or file would.
pub struct WebId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for WebId {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, WebError> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| WebError::NotFound)?;
        text.parse::<i64>()
            .map(WebId)
            .map_err(|_| WebError::NotFound)
    }
}

/// A query string of this site's links.
pub struct WebQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for WebQuery<T> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, WebError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(t)| WebQuery(t))
            .map_err(|_| WebError::BadForm("the address's query is not one of this site's"))
    }
}
