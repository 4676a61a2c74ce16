//! What every REST resource does around its own work: check the version in the address, pick
//! the answer's format, read the body within the JSON API's limit, call a method of the table,
//! and answer an object or `ErrorInfo` with the status of the one error mapping
//! ([`crate::error::service_status`]).

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_core::{Caller, Error};
use serde_json::Value;

use super::body::{BodyError, Fields};
use super::negotiate::{self, Format};
use super::objects::{self, Obj};
use crate::args::Args;
use crate::methods;
use crate::router::{AppState, MAX_BODY_BYTES};

/// Why a REST request was refused.
#[derive(Debug)]
pub enum RestError {
    /// The Service's (or an argument's) refusal.
    Service(Error),
    /// The body is over the limit: 413, error 111.
    TooLarge,
    /// No resource at this address, or not in this REST version: 404, error 112.
    NoResource,
    /// The resource does not take this verb: 405, error 113.
    Verb,
    /// `Accept` names no format the wire writes: 406, error 110.
    NotAcceptable,
    /// A body of a type the wire does not read: 415, error 110.
    Unsupported,
}

impl From<Error> for RestError {
    fn from(e: Error) -> Self {
        RestError::Service(e)
    }
}

impl From<BodyError> for RestError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Unsupported => RestError::Unsupported,
            BodyError::Invalid(e) => RestError::Service(e),
        }
    }
}

impl RestError {
    fn parts(&self) -> (StatusCode, u32, String) {
        match self {
            RestError::Service(e) => (crate::error::service_status(e), e.code(), e.to_string()),
            RestError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                111,
                format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
            ),
            RestError::NoResource => (
                StatusCode::NOT_FOUND,
                112,
                format!(
                    "no REST resource has that address (versions served: {})",
                    super::VERSIONS.join(", ")
                ),
            ),
            RestError::Verb => (
                StatusCode::METHOD_NOT_ALLOWED,
                113,
                "this REST resource does not take that HTTP verb".into(),
            ),
            RestError::NotAcceptable => (
                StatusCode::NOT_ACCEPTABLE,
                110,
                "Accept must allow application/json or application/xml".into(),
            ),
            RestError::Unsupported => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                110,
                "the body must be application/x-www-form-urlencoded, application/json or \
                 application/xml"
                    .into(),
            ),
        }
    }

    /// The refusal as `ErrorInfo` in `format`.
    pub fn answer(self, format: Format) -> Response {
        if let RestError::Service(Error::Internal(detail)) = &self {
            tracing::error!(%detail, "internal error");
        }
        let (status, code, message) = self.parts();
        let mut response = answer(format, status, &objects::error_info(code, &message));
        let retry = match &self {
            RestError::Service(Error::LockedOut { retry_after_secs }) => {
                Some(retry_after_secs.to_string())
            }
            RestError::Service(Error::Unavailable) => Some("5".into()),
            _ => None,
        };
        if let Some(v) = retry.and_then(|r| HeaderValue::from_str(&r).ok()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// `object` in `format` with `status`.
pub fn answer(format: Format, status: StatusCode, object: &Obj) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, format.content_type())],
        object.write(format),
    )
        .into_response()
}

/// One REST request, past the checks every resource makes.
pub struct Exchange {
    /// The answer's format.
    pub format: Format,
    /// The REST version in the address.
    pub version: String,
    /// The session in `Authorization`, if any.
    pub session: Option<String>,
    /// Who is calling.
    pub caller: Caller,
}

impl Exchange {
    /// Checks the version (at least `since`) and the `Accept` header; a refusal is the answer,
    /// in XML when `Accept` is what was wrong.
    pub fn begin(
        params: &HashMap<String, String>,
        headers: &HeaderMap,
        caller: Caller,
        since: &str,
    ) -> Result<Exchange, Box<Response>> {
        let Some(format) = negotiate::from_headers(headers) else {
            return Err(Box::new(RestError::NotAcceptable.answer(Format::Xml)));
        };
        let version = params.get("version").cloned().unwrap_or_default();
        let rank = |v: &str| super::VERSIONS.iter().position(|known| *known == v);
        match (rank(&version), rank(since)) {
            (Some(asked), Some(least)) if asked >= least => {}
            _ => return Err(Box::new(RestError::NoResource.answer(format))),
        }
        let session = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string());
        Ok(Exchange {
            format,
            version,
            session,
            caller,
        })
    }

    /// Reads the body's fields (form, JSON or XML) within the JSON API's limit.
    pub async fn fields(&self, headers: &HeaderMap, body: Body) -> Result<Fields, RestError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = crate::router::read_limited(body, MAX_BODY_BYTES)
            .await
            .ok_or(RestError::TooLarge)?;
        Ok(Fields::read(content_type.as_deref(), &bytes)?)
    }

    /// Calls `method` of the table with `pairs`, adding the session of `Authorization` (a
    /// missing one is error 101, as a closed one is).
    pub async fn call(
        &self,
        state: &AppState,
        method: &str,
        mut pairs: Vec<(String, Value)>,
        with_session: bool,
    ) -> Result<Option<Value>, RestError> {
        if with_session {
            let session = self.session.clone().ok_or(Error::SessionNotFound)?;
            pairs.push(("sessionID".into(), Value::String(session)));
        }
        let method = methods::find(method)
            .ok_or_else(|| Error::Internal(format!("REST names no method {method}")))?;
        let args = Args::from_pairs(pairs, method.params);
        Ok(methods::call(&state.service, method, args, self.caller.clone()).await?)
    }

    /// The live session of `Authorization`, for the few resources that call the Service
    /// directly (a change no single method of the table makes whole); a missing one is error
    /// 101, as for [`Exchange::call`].
    pub async fn session_context(
        &self,
        state: &AppState,
    ) -> Result<ferry_core::service::SessionContext, RestError> {
        let session = self
            .session
            .as_deref()
            .and_then(ferry_core::domain::SessionId::parse)
            .ok_or(Error::SessionNotFound)?;
        Ok(state.service.authenticate(&session, &self.caller).await?)
    }

    /// [`Exchange::call`] of a method that answers a structure.
    pub async fn call_value(
        &self,
        state: &AppState,
        method: &str,
        pairs: Vec<(String, Value)>,
        with_session: bool,
    ) -> Result<Value, RestError> {
        self.call(state, method, pairs, with_session)
            .await?
            .ok_or_else(|| Error::Internal(format!("{method} answered nothing")).into())
    }
}

/// A resource's answer in `format`: its object with 200, nothing (`None`) with 204, or its
/// refusal as `ErrorInfo`.
pub fn finish(format: Format, result: Result<Option<Obj>, RestError>) -> Response {
    match result {
        Ok(Some(object)) => answer(format, StatusCode::OK, &object),
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.answer(format),
    }
}

/// A whole number written as text (RAPR's IDs and form values), for the field `name`.
pub fn whole(name: &str, text: &str) -> Result<Value, RestError> {
    text.trim()
        .parse::<i64>()
        .map(Value::from)
        .map_err(|_| Error::invalid(format!("{name} must be a whole number")).into())
}

/// The path parameter `name` as a whole number.
pub fn path_int(params: &HashMap<String, String>, name: &str) -> Result<Value, RestError> {
    whole(name, params.get(name).map(String::as_str).unwrap_or(""))
}

/// Runs `work` after the common checks (the REST version at least `$since`) and answers what
/// it gives ([`finish`]).
macro_rules! respond {
    ($params:expr, $headers:expr, $client:expr, $since:expr, |$ex:ident| $work:expr) => {{
        let $ex = match $crate::rest::exchange::Exchange::begin(
            &$params,
            &$headers,
            $client.caller(),
            $since,
        ) {
            Ok(ex) => ex,
            Err(refusal) => return *refusal,
        };
        let result: Result<Option<$crate::rest::objects::Obj>, $crate::rest::exchange::RestError> =
            async { $work }.await;
        $crate::rest::exchange::finish($ex.format, result)
    }};
}
