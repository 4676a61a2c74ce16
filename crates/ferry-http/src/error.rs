//! The one mapping from errors to HTTP responses: a fitting status and
//! `{"ErrorCode": n, "Message": "..."}` with a code from the documented table (docs/errors.md).
//! Internal details are logged here and never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_core::Error;

/// An error as the HTTP API reports it.
#[derive(Debug)]
pub enum ApiError {
    /// An error of the Service.
    Service(Error),
    /// The request body is larger than the API accepts. Code 111.
    BodyTooLarge(usize),
    /// No API method has that name. Code 112.
    UnknownMethod,
    /// The HTTP verb is not POST. Code 113.
    VerbNotAllowed,
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Service(e)
    }
}

impl ApiError {
    /// The documented error code.
    pub fn code(&self) -> u32 {
        match self {
            ApiError::Service(e) => e.code(),
            ApiError::BodyTooLarge(_) => 111,
            ApiError::UnknownMethod => 112,
            ApiError::VerbNotAllowed => 113,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Service(e) => service_status(e),
            ApiError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnknownMethod => StatusCode::NOT_FOUND,
            ApiError::VerbNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::Service(e) => e.to_string(),
            ApiError::BodyTooLarge(limit) => {
                format!("the request body is larger than {limit} bytes")
            }
            ApiError::UnknownMethod => "no API method has that name".into(),
            ApiError::VerbNotAllowed => "API methods are called with POST".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Service(Error::Internal(detail)) = &self {
            tracing::error!(%detail, "internal error");
        }
        let body = serde_json::json!({"ErrorCode": self.code(), "Message": self.message()});
        let mut response = (self.status(), Json(body)).into_response();
        match &self {
            ApiError::Service(Error::LockedOut { retry_after_secs }) => {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            ApiError::Service(Error::Unavailable | Error::TooManyUploads(_)) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            ApiError::VerbNotAllowed => {
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST"));
            }
            _ => {}
        }
        response
    }
}

/// The HTTP status of a Service error; the web client answers with the same ones.
pub(crate) fn service_status(e: &Error) -> StatusCode {
    match e {
        Error::SessionNotFound
        | Error::BadCredentials
        | Error::TicketRefused
        | Error::PasscodeRequired
        | Error::PasscodeRefused => StatusCode::UNAUTHORIZED,
        Error::SecondFactorUnavailable | Error::SecondFactorSetupRequired => StatusCode::FORBIDDEN,
        Error::TicketsNotConfigured
        | Error::ToolTokenRefused
        | Error::ToolGrantInvalid
        | Error::ToolLimit(_) => StatusCode::FORBIDDEN,
        Error::AmbiguousEmail => StatusCode::CONFLICT,
        Error::LockedOut { .. } | Error::TooManyUploads(_) => StatusCode::TOO_MANY_REQUESTS,
        Error::UnknownApplication | Error::NotPermitted(_) | Error::UserInactive => {
            StatusCode::FORBIDDEN
        }
        Error::UserNotFound
        | Error::FolderNotFound
        | Error::GroupNotFound
        | Error::FileNotFound
        | Error::MetadataItemNotFound => StatusCode::NOT_FOUND,
        Error::FileExists | Error::FolderNotEmpty => StatusCode::CONFLICT,
        Error::ContentMismatch(_) => StatusCode::BAD_REQUEST,
        Error::StorageFull | Error::OverQuota { .. } => StatusCode::INSUFFICIENT_STORAGE,
        Error::AlreadyExists(_) => StatusCode::CONFLICT,
        Error::InvalidArgument(_) => StatusCode::BAD_REQUEST,
        Error::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
