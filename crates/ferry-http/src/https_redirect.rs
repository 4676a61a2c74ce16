//! The plain HTTP listener when HTTPS is on and `[https] redirect_http` is set: every request
//! is answered with a permanent redirect (308, so a method and its body are kept) to the same
//! path and query on the HTTPS port, and nothing else. `/healthz` and `/readyz` still answer,
//! because load balancers probe them in plain HTTP, and so do ACME's HTTP-01 challenges.

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// `app` with every route but the probes redirected to `https://HOST[:https_port]`.
pub fn redirect_to_https(app: Router, https_port: u16) -> Router {
    app.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| redirect(req, next, https_port),
    ))
}

async fn redirect(req: Request, next: Next, https_port: u16) -> Response {
    // ACME's HTTP-01 answers stay on the plain listener, where the CA asks for them.
    if matches!(req.uri().path(), "/healthz" | "/readyz")
        || req.uri().path().starts_with("/.well-known/acme-challenge/")
    {
        return next.run(req).await;
    }
    let host = req
        .uri()
        .host()
        .map(str::to_string)
        .or_else(|| {
            let value = req.headers().get(header::HOST)?.to_str().ok()?;
            Some(host_part(value).to_string())
        })
        .filter(|h| plausible_host(h));
    let Some(host) = host else {
        return (
            StatusCode::BAD_REQUEST,
            "This server answers over HTTPS; the request named no usable host.\n",
        )
            .into_response();
    };
    let port = if https_port == 443 {
        String::new()
    } else {
        format!(":{https_port}")
    };
    let rest = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let location = format!("https://{host}{port}{rest}");
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, location)],
    )
        .into_response()
}

/// The host of a `Host` header value, without its port (`[::1]:80` → `[::1]`).
fn host_part(value: &str) -> &str {
    if value.starts_with('[') {
        return value.split_inclusive(']').next().unwrap_or(value);
    }
    value.split(':').next().unwrap_or(value)
}

/// A DNS name, an IPv4 address, or a bracketed IPv6 address: nothing that could make the
/// redirect point at a path, a user or another scheme.
fn plausible_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_checked_before_they_go_into_a_location() {
        assert_eq!(host_part("files.example.com:8080"), "files.example.com");
        assert_eq!(host_part("[::1]:80"), "[::1]");
        for good in ["files.example.com", "127.0.0.1", "[::1]", "localhost"] {
            assert!(plausible_host(good), "{good}");
        }
        for bad in [
            "",
            "evil.com/x",
            "a@b",
            "[nope]",
            "a b",
            "évil.com",
            "x\r\nSet-Cookie",
        ] {
            assert!(!plausible_host(bad), "{bad}");
        }
    }
}
