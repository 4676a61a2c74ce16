//! Path and query extractors for the streaming routes whose refusals are the API's own
//! (`{"ErrorCode": 110, …}` in JSON, as documented), not axum's plain-text rejections: a
//! name that is not UTF-8 once percent-decoded, a query parameter given twice.

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use ferry_core::Error;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// [`Path`], refused as invalid argument (110).
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(e) => {
                Err(Error::invalid(format!("the URL path is not valid: {}", e.body_text())).into())
            }
        }
    }
}

/// [`Query`], refused as invalid argument (110).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(e) => {
                Err(Error::invalid(format!("the query is not valid: {}", e.body_text())).into())
            }
        }
    }
}
