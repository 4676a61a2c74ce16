//! The web session as the browser holds it: one cookie naming a Service session of the web
//! client's application, the person it stands for, and the token every form carries.
//!
//! The cookie is `HttpOnly` and `SameSite=Strict`; over HTTPS (as a trusted proxy reports it)
//! it is also `Secure` and named with the `__Host-` prefix, so no subdomain or plain-HTTP page
//! can set or shadow it. It has no expiry of its own: the session ends in the store (sign-out,
//! idle timeout, an administrator), and a dead cookie is then cleared. Each sign-in makes a new
//! session and so a new cookie value, whatever cookie the browser brought (no fixation).
//!
//! Every state change must come from this origin (`Sec-Fetch-Site`, `Origin`) and carry the
//! session's form token: SHA-256 of a fixed label and the session ID, which a page of another
//! site can neither read nor compute. It needs no storage, so it holds on every node.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use ferry_core::Caller;
use ferry_core::domain::SessionId;
use ferry_core::service::SessionContext;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::error::WebError;
use crate::router::AppState;
use crate::server::{ClientAddr, OverHttps};

/// The cookie's name on plain HTTP.
pub const COOKIE: &str = "ferry_session";
/// The cookie's name over HTTPS.
pub const SECURE_COOKIE: &str = "__Host-ferry_session";
/// The form field that carries the token.
pub const CSRF_FIELD: &str = "csrf";

/// A signed-in person, for one request.
pub struct WebSession {
    /// The Service session.
    pub id: SessionId,
    /// The checked session, its user and the request's address.
    pub ctx: SessionContext,
    /// Who sent the request (the address a password check counts failures against).
    pub caller: Caller,
}

impl WebSession {
    /// The token this session's forms carry.
    pub fn csrf_token(&self) -> String {
        csrf_token(&self.id)
    }

    /// Refuses a form whose token is not this session's (compared in constant time).
    pub fn check_form(&self, presented: &str) -> Result<(), WebError> {
        if ferry_crypto::constant_time_eq(presented.as_bytes(), self.csrf_token().as_bytes()) {
            Ok(())
        } else {
            Err(WebError::Forged)
        }
    }
}

/// The form token of a session.
fn csrf_token(id: &SessionId) -> String {
    let mut input = b"ferry web form token\0".to_vec();
    input.extend_from_slice(id.to_wire().as_bytes());
    ferry_crypto::sha256_hex(&input)
}

impl FromRequestParts<AppState> for WebSession {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let safe = parts.method == Method::GET || parts.method == Method::HEAD;
        if !safe && crate::tools::cross_site(&parts.headers) {
            return Err(WebError::Forged);
        }
        let next = safe.then(|| {
            parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string()
        });
        let signed_out = || WebError::SignedOut { next: next.clone() };
        let id = presented_session(&parts.headers).ok_or_else(signed_out)?;
        let caller = web_caller(
            ClientAddr::from_request_parts(parts, state)
                .await
                .unwrap_or(ClientAddr(std::net::IpAddr::from([0, 0, 0, 0]))),
            &parts.headers,
        );
        let ctx = match state.service.authenticate(&id, &caller).await {
            Ok(ctx) => ctx,
            Err(ferry_core::Error::SessionNotFound) => return Err(signed_out()),
            Err(e) => return Err(e.into()),
        };
        // Only the web client's own sessions: an API session ID planted in the cookie is not
        // a way in (it has no idle timeout and was never given to a browser).
        if ctx.session.application_id != ferry_core::domain::application::WEB_CLIENT {
            return Err(signed_out());
        }
        // A role that requires two-step sign-in reaches only its account page (to set it up)
        // and sign-out until it has.
        let path = parts.uri.path();
        if !(path.starts_with("/web/account") || path == "/web/signout")
            && enrolment_pending(state, &ctx).await?
        {
            return Err(WebError::SetUpSecondFactor);
        }
        Ok(WebSession { id, ctx, caller })
    }
}

/// The session the browser presents, if its cookie holds one.
pub fn presented_session(headers: &HeaderMap) -> Option<SessionId> {
    let mut found = None;
    for value in headers.get_all(axum::http::header::COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            let Some((name, v)) = pair.trim().split_once('=') else {
                continue;
            };
            if name == SECURE_COOKIE || (name == COOKIE && found.is_none()) {
                found = SessionId::parse(v);
            }
        }
    }
    found
}

/// The `Set-Cookie` value that hands the browser a new session.
pub fn session_cookie(id: &SessionId, https: OverHttps) -> String {
    if https.0 {
        format!(
            "{SECURE_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Secure",
            id.to_wire()
        )
    } else {
        format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
            id.to_wire()
        )
    }
}

/// `Set-Cookie` values that make the browser forget either cookie.
pub fn clearing_cookies() -> [String; 2] {
    [
        format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
        format!("{SECURE_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0"),
    ]
}

/// The Service's view of a browser: its address, and its user agent as the client version
/// (cut to the Service's limit, control characters dropped, so that no browser is refused
/// for what it calls itself).
pub fn web_caller(client: ClientAddr, headers: &HeaderMap) -> Caller {
    let mut caller = client.caller();
    caller.client_version = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| {
            ua.chars()
                .filter(|c| !c.is_control() && !ferry_core::text::is_bidi_control(*c))
                .take(ferry_core::text::MAX_CLIENT_VERSION)
                .collect::<String>()
        })
        .filter(|ua| !ua.trim().is_empty());
    caller
}

/// Where to go after signing in: a path of the web client only (never another site, never
/// `//host`), else the start page.
pub fn safe_next(next: Option<&str>) -> Option<&str> {
    next.filter(|n| {
        n.starts_with("/web/")
            && !n.contains("//")
            && !n.contains('\\')
            && n.chars().all(|c| c.is_ascii_graphic())
    })
}

const NEXT_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.');

/// `next` as a query value.
pub fn encode_next(next: &str) -> String {
    utf8_percent_encode(next, NEXT_SET).to_string()
}

/// Whether `ctx`'s user must set up two-step sign-in before anything else (only roles in
/// `[totp] required_roles` are looked up).
pub async fn enrolment_pending(
    state: &AppState,
    ctx: &SessionContext,
) -> Result<bool, ferry_core::Error> {
    if !state.service.second_factor_required(&ctx.user) {
        return Ok(false);
    }
    Ok(!state.service.second_factor_status(&ctx.user).await?.enabled)
}

/// The header a page's script sends its form token in (uploads and other `fetch` calls).
pub const TOKEN_HEADER: &str = "ferry-form-token";

/// The session of a request a web-client page's script makes (a tus upload): from this
/// origin, with the cookie of a live web session and that session's form token in
/// [`TOKEN_HEADER`]. Any failure is [`ferry_core::Error::SessionNotFound`], so the script
/// learns only that it must sign in again.
pub async fn script_session(
    state: &AppState,
    client: ClientAddr,
    headers: &HeaderMap,
) -> Result<SessionContext, ferry_core::Error> {
    use ferry_core::Error;
    if crate::tools::cross_site(headers) {
        return Err(Error::SessionNotFound);
    }
    let id = presented_session(headers).ok_or(Error::SessionNotFound)?;
    let presented = headers
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ferry_crypto::constant_time_eq(presented.as_bytes(), csrf_token(&id).as_bytes()) {
        return Err(Error::SessionNotFound);
    }
    let ctx = state
        .service
        .authenticate(&id, &web_caller(client, headers))
        .await?;
    if ctx.session.application_id != ferry_core::domain::application::WEB_CLIENT
        || enrolment_pending(state, &ctx).await?
    {
        return Err(Error::SessionNotFound);
    }
    Ok(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_web_paths_are_followed() {
        assert_eq!(safe_next(Some("/web/folders/7")), Some("/web/folders/7"));
        for bad in [
            "https://evil.example/",
            "//evil.example/web/",
            "/web//evil",
            "/web/\\evil",
            "/api/v1/Close",
            "/web/a b",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad}");
        }
    }

    #[test]
    fn the_secure_cookie_wins_and_garbage_is_ignored() {
        let a = SessionId::generate();
        let b = SessionId::generate();
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            format!(
                "x=1; {SECURE_COOKIE}={}; {COOKIE}={}",
                a.to_wire(),
                b.to_wire()
            )
            .parse()
            .unwrap(),
        );
        assert_eq!(presented_session(&h), Some(a));
        h.insert(
            axum::http::header::COOKIE,
            "ferry_session=nonsense".parse().unwrap(),
        );
        assert_eq!(presented_session(&h), None);
    }

    #[test]
    fn form_tokens_differ_per_session_and_reveal_nothing() {
        let a = SessionId::generate();
        let b = SessionId::generate();
        assert_ne!(csrf_token(&a), csrf_token(&b));
        assert!(!csrf_token(&a).contains(&a.to_wire()));
    }
}
