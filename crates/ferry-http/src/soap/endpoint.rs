//! `/soap`: the SOAP 1.1 and 1.2 endpoint and its WSDL (`GET /soap?wsdl`). A call is read
//! within fixed bounds (the body's size before anything is read, then the XML's size, depth
//! and element count; no DTD), found in the method table by its element's name, and goes
//! through [`methods::call`] exactly as a JSON call does: the same checks, audit and metrics.
//! The content type picks the binding (`text/xml` 1.1, `application/soap+xml` 1.2) and the
//! envelope must be of that version; a `SOAPAction` (1.1) or `action` (1.2) that names
//! another operation is refused. A refusal is a fault carrying Ferry's error code.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_core::Error;

use super::envelope::{EnvelopeError, SoapVersion, fault, read_call};
use super::xml_tree::Limits;
use super::{params, reply, wsdl};
use crate::methods;
use crate::router::{AppState, read_limited};
use crate::server::{ClientAddr, OverHttps};

/// `GET /soap?wsdl`: the WSDL, its address the one this request reached.
pub async fn describe(
    State(state): State<AppState>,
    over_https: OverHttps,
    request: Request,
) -> Response {
    let asks_wsdl = request
        .uri()
        .query()
        .is_some_and(|q| q.eq_ignore_ascii_case("wsdl"));
    if !asks_wsdl {
        return (
            StatusCode::NOT_FOUND,
            "SOAP calls are POSTed here; the WSDL is at /soap?wsdl\n",
        )
            .into_response();
    }
    let scheme = if over_https.0 { "https" } else { "http" };
    let host = request
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            request
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .filter(|h| plain_host(h))
        .unwrap_or_else(|| "localhost".into());
    let location = format!("{scheme}://{host}/soap");
    (
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        wsdl::document(&state.soap_namespace, &location),
    )
        .into_response()
}

/// A `Host` that can stand in a URL as it is: letters, digits, `.`, `-`, `:` and IPv6's
/// brackets (anything else falls back to `localhost` rather than into the WSDL).
pub(crate) fn plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

/// `POST /soap`: one call.
pub async fn call(State(state): State<AppState>, client: ClientAddr, request: Request) -> Response {
    let limits = Limits::default();
    let namespace = &*state.soap_namespace;
    let (parts, body) = request.into_parts();
    let Some((version, action)) = binding(&parts.headers) else {
        crate::drain::discard(body).await;
        return refuse(
            SoapVersion::V11,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "SOAP 1.1 is sent as text/xml, SOAP 1.2 as application/soap+xml",
            Some(110),
        );
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_bytes as u64) {
        // Refused before a byte of it is read; the connection closes rather than drain it.
        let mut r = too_large(version, limits);
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return r;
    }
    let Some(bytes) = read_limited(body, limits.max_bytes).await else {
        return too_large(version, limits);
    };
    let call = match read_call(&bytes, Some(version), limits) {
        Ok(call) => call,
        Err(e) => return envelope_refused(version, &e),
    };
    let operation = &call.operation;
    let method = methods::all()
        .find(|m| m.name == operation.name)
        .filter(|_| operation.namespace.as_deref() == Some(namespace));
    let Some(method) = method else {
        return refuse(
            version,
            sender_status(version),
            &format!(
                "no operation {{{}}}{} (operations are in the namespace {namespace})",
                operation.namespace.as_deref().unwrap_or(""),
                operation.name
            ),
            Some(112),
        );
    };
    if let Some(action) = action.filter(|a| !a.is_empty())
        && action != format!("{namespace}{}", method.name)
    {
        return refuse(
            version,
            sender_status(version),
            &format!("the SOAP action {action:?} does not name the operation in the Body"),
            Some(112),
        );
    }
    let args = params::arguments(operation, method, namespace);
    match methods::call(&state.service, method, args, client.caller()).await {
        Ok(answer) => answered(
            version,
            StatusCode::OK,
            around(
                version,
                &reply::response(method, answer.as_ref(), namespace),
            ),
        ),
        Err(e) => service_fault(version, &e),
    }
}

/// The SOAP version the content type names, and the action it or `SOAPAction` gives.
fn binding(headers: &HeaderMap) -> Option<(SoapVersion, Option<String>)> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mut parts = content_type.split(';').map(str::trim);
    let media = parts.next()?.to_ascii_lowercase();
    let unquote = |v: &str| v.trim().trim_matches('"').to_string();
    match media.as_str() {
        "text/xml" => {
            let action = headers
                .get("soapaction")
                .and_then(|v| v.to_str().ok())
                .map(unquote);
            Some((SoapVersion::V11, action))
        }
        "application/soap+xml" => {
            let action = parts.find_map(|p| {
                let (k, v) = p.split_once('=')?;
                k.trim().eq_ignore_ascii_case("action").then(|| unquote(v))
            });
            Some((SoapVersion::V12, action))
        }
        _ => None,
    }
}

/// HTTP's status for a sender's fault: SOAP 1.1's HTTP binding answers every fault with 500;
/// SOAP 1.2's answers a sender's with 400.
fn sender_status(version: SoapVersion) -> StatusCode {
    match version {
        SoapVersion::V11 => StatusCode::INTERNAL_SERVER_ERROR,
        SoapVersion::V12 => StatusCode::BAD_REQUEST,
    }
}

fn too_large(version: SoapVersion, limits: Limits) -> Response {
    refuse(
        version,
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!(
            "the request is larger than the SOAP endpoint accepts ({} bytes)",
            limits.max_bytes
        ),
        Some(111),
    )
}

fn envelope_refused(version: SoapVersion, e: &EnvelopeError) -> Response {
    let body = fault(
        version,
        e.is_version_mismatch(),
        true,
        &e.to_string(),
        Some(110),
    );
    let status = if e.is_version_mismatch() {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        sender_status(version)
    };
    answered(version, status, body)
}

/// A fault for the Service's error `e`: the sender's fault unless the server is at fault
/// (120, 90000); a lock-out says when to try again, as over JSON.
fn service_fault(version: SoapVersion, e: &Error) -> Response {
    let server_side = matches!(e, Error::Unavailable | Error::Internal(_));
    let body = fault(
        version,
        false,
        !server_side,
        &e.to_string(),
        Some(i64::from(e.code())),
    );
    let status = if server_side {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        sender_status(version)
    };
    let mut response = answered(version, status, body);
    if let Error::LockedOut { retry_after_secs } = e
        && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

fn refuse(version: SoapVersion, status: StatusCode, message: &str, code: Option<i64>) -> Response {
    answered(version, status, fault(version, false, true, message, code))
}

/// The answer `envelope` (a whole SOAP message) with `status`.
fn answered(version: SoapVersion, status: StatusCode, envelope: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, version.content_type())],
        Body::from(envelope),
    )
        .into_response()
}

/// A whole SOAP message around a response element.
fn around(version: SoapVersion, content: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soap:Body>{content}</soap:Body></soap:Envelope>",
        version.namespace()
    )
}
