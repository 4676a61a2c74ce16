//! RAPR 6.1's authentication service (`Session`, `ImmutableSession`, `SessionByTicket`, and
//! `DELETE Session` to close), 6.5.1's `Server/Info`, and the answers for an address or a verb
//! that names no resource.

use std::collections::HashMap;

use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use ferry_core::Error;
use serde_json::Value;

use super::exchange::{RestError, whole};
use super::negotiate::{self, Format};
use super::objects;
use crate::router::AppState;
use crate::server::ClientAddr;

/// The fields of RAPR's `ThruSessionRequest`, and the second factor Ferry adds.
const SESSION_FIELDS: [&str; 7] = [
    "UserName",
    "Password",
    "ClientVersion",
    "ApplicationId",
    "Device_UUID",
    "UserString",
    "Passcode",
];

/// The fields of a ticket sign-in (`ThruSessionByTicketRequest`, whose fields RAPR does not
/// list: the SOAP call's, with `Device_UUID`).
const TICKET_FIELDS: [&str; 4] = ["Ticket", "ApplicationId", "ClientVersion", "Device_UUID"];

/// `Device_UUID`: required by RAPR and "can be set to any string"; Ferry checks it is one
/// (1 to 255 characters, no control characters) and does not keep it.
fn device_uuid(value: Option<&str>) -> Result<(), RestError> {
    match value {
        Some(v)
            if !v.is_empty() && v.chars().count() <= 255 && !v.chars().any(char::is_control) =>
        {
            Ok(())
        }
        Some(_) => Err(Error::invalid(
            "Device_UUID must be 1 to 255 characters, none a control character",
        )
        .into()),
        None => Err(Error::invalid("missing field Device_UUID").into()),
    }
}

fn text_pair(name: &str, value: Option<&str>) -> Option<(String, Value)> {
    value.map(|v| (name.to_string(), Value::String(v.to_string())))
}

/// `POST Session`: `Open` (replaces this user's session for the application).
pub async fn open_session(
    state: State<AppState>,
    params: Path<HashMap<String, String>>,
    client: ClientAddr,
    request: Request,
) -> Response {
    password_sign_in(state, params, client, request, "Open", "1.0").await
}

/// `POST ImmutableSession` (REST 1.3): `OpenImmutable`.
pub async fn open_immutable(
    state: State<AppState>,
    params: Path<HashMap<String, String>>,
    client: ClientAddr,
    request: Request,
) -> Response {
    password_sign_in(state, params, client, request, "OpenImmutable", "1.3").await
}

async fn password_sign_in(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    client: ClientAddr,
    request: Request,
    method: &str,
    since: &str,
) -> Response {
    let (parts, body) = request.into_parts();
    respond!(params, parts.headers, client, since, |ex| {
        let f = ex.fields(&parts.headers, body).await?;
        f.only(&SESSION_FIELDS)?;
        device_uuid(f.one("Device_UUID")?)?;
        let mut pairs = vec![
            (
                "userName".to_string(),
                Value::String(f.required("UserName")?.into()),
            ),
            (
                "password".to_string(),
                Value::String(f.one("Password")?.unwrap_or("").into()),
            ),
            (
                "applicationID".to_string(),
                whole("ApplicationId", f.required("ApplicationId")?)?,
            ),
        ];
        pairs.extend(text_pair("clientVersion", f.one("ClientVersion")?));
        pairs.extend(text_pair("userString", f.one("UserString")?));
        pairs.extend(text_pair("passcode", f.one("Passcode")?));
        let session = ex.call_value(&state, method, pairs, false).await?;
        Ok(Some(objects::session(&session)))
    })
}

/// `POST SessionByTicket` (REST 1.2): `OpenImmutableWithTicket`, RAPR's "immutable session"
/// by ticket. `Device_UUID` comes in a header, as RAPR says, or in the body.
pub async fn open_by_ticket(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    client: ClientAddr,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    respond!(params, parts.headers, client, "1.2", |ex| {
        let f = ex.fields(&parts.headers, body).await?;
        f.only(&TICKET_FIELDS)?;
        let header = parts
            .headers
            .get("Device_UUID")
            .map(|v| {
                v.to_str()
                    .map_err(|_| Error::invalid("Device_UUID must be text"))
            })
            .transpose()?;
        device_uuid(header.or(f.one("Device_UUID")?))?;
        let mut pairs = vec![
            (
                "ticket".to_string(),
                Value::String(f.required("Ticket")?.into()),
            ),
            (
                "applicationID".to_string(),
                whole("ApplicationId", f.required("ApplicationId")?)?,
            ),
        ];
        pairs.extend(text_pair("clientVersion", f.one("ClientVersion")?));
        let session = ex
            .call_value(&state, "OpenImmutableWithTicket", pairs, false)
            .await?;
        Ok(Some(objects::session(&session)))
    })
}

/// `DELETE Session`: `Close` on the session of `Authorization`; 204.
pub async fn close_session(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    client: ClientAddr,
    headers: HeaderMap,
) -> Response {
    respond!(params, headers, client, "1.0", |ex| {
        ex.call(&state, "Close", Vec::new(), true).await?;
        Ok(None)
    })
}

/// `GET Server/Info`: `GetServerInfo`, for a live session.
pub async fn server_info(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    client: ClientAddr,
    headers: HeaderMap,
) -> Response {
    // The site's name is the host the request came to, without its port.
    let site = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| crate::soap::endpoint::plain_host(h))
        .map(|h| match h.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => h,
        })
        .unwrap_or("localhost")
        .to_string();
    respond!(params, headers, client, "1.0", |ex| {
        let info = ex
            .call_value(&state, "GetServerInfo", Vec::new(), true)
            .await?;
        Ok(Some(objects::server_info(&info, &ex.version, &site)))
    })
}

/// An address under `/REST/` that names no resource: 404, error 112.
pub async fn no_resource(headers: HeaderMap, request: Request) -> Response {
    // Read (and drop) the body first, as the JSON API does: an unread body resets the
    // connection and the client can lose the answer.
    let _ = crate::router::read_limited(request.into_body(), crate::router::MAX_BODY_BYTES).await;
    RestError::NoResource.answer(negotiate::from_headers(&headers).unwrap_or(Format::Xml))
}

/// A verb the resource does not take: 405, error 113.
pub async fn verb_not_allowed(headers: HeaderMap, request: Request) -> Response {
    let _ = crate::router::read_limited(request.into_body(), crate::router::MAX_BODY_BYTES).await;
    RestError::Verb.answer(negotiate::from_headers(&headers).unwrap_or(Format::Xml))
}
