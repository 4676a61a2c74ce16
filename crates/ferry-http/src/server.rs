//! Serving the router on a TCP listener, with the limits that keep one client from taking the
//! server down (slowloris): every connection is admitted through the node's
//! [`ConnectionGate`] (per address, unless the peer is a trusted proxy, and node-wide), must
//! send its first bytes and then each request's headers within `header_read_timeout`, and
//! each request body must keep arriving (no pause longer than `body_read_timeout`).
//!
//! Each request learns its client's address here, once, for every route: the socket's peer,
//! or, from a trusted proxy, the address `X-Forwarded-For` names ([`ClientAddr`]).
//!
//! The same loop serves HTTPS when given a [`TlsFront`]: the handshake must finish within the
//! header timeout, a plain HTTP request on the TLS port gets a short 400 saying so (as nginx
//! does) instead of a dropped connection, and every answer carries the configured
//! `Strict-Transport-Security`.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use ferry_core::Caller;
use ferry_core::connection_limit::{ConnectionGate, GateRefusal};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::client_addr::{ForwardedHeaders, TrustedProxies};
use crate::record_cork;
use crate::request_body::RequestBody;
use crate::stay_on_worker::stay_on_worker;

/// How long requests may take to arrive.
#[derive(Debug, Clone, Copy)]
pub struct HttpTimeouts {
    /// From the connection (or the end of the previous request) to the end of a request's
    /// headers.
    pub header_read: Duration,
    /// The longest pause while a request body is being sent.
    pub body_read: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        HttpTimeouts {
            header_read: Duration::from_secs(20),
            body_read: Duration::from_secs(60),
        }
    }
}

/// What makes a listener HTTPS: the TLS configuration (with its reloading certificate) and
/// the `Strict-Transport-Security` value its answers carry, if any.
#[derive(Clone)]
pub struct TlsFront {
    /// The rustls configuration (ALPN `h2` and `http/1.1`).
    pub config: Arc<rustls::ServerConfig>,
    /// The HSTS header's value; `None` sends none.
    pub hsts: Option<HeaderValue>,
}

/// What a plain HTTP request sent to the HTTPS port is told.
const PLAIN_ON_TLS: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\ncontent-length: 50\r\n\r\nThis port speaks HTTPS: use an https:// address.\r\n";

/// The client's address for this request: the socket's peer, or the address a trusted proxy
/// reports. Every handler takes the client's address from here (and only from here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Whether this request came over HTTPS (as a trusted proxy reports it): the web client's
/// cookie is then `Secure` and `__Host-` prefixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OverHttps(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for OverHttps {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<OverHttps>()
            .copied()
            .unwrap_or_default())
    }
}

impl ClientAddr {
    /// The Service's view of the caller.
    pub fn caller(self) -> Caller {
        Caller {
            ip: Some(self.0),
            client_version: None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Every request passes through `serve`, which sets it; an unspecified address would
        // only ever show in the audit, never grant anything.
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .unwrap_or(ClientAddr(IpAddr::from([0, 0, 0, 0]))))
    }
}

/// The ALPN protocol of ACME's TLS-ALPN-01 validation (offered by `ferry_tls` when ACME
/// answers that challenge).
const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` completes, then lets
/// requests in flight finish (for up to 30 s).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    gate: Arc<ConnectionGate>,
    proxies: TrustedProxies,
    timeouts: HttpTimeouts,
    tls: Option<TlsFront>,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = tls
        .as_ref()
        .map(|t| tokio_rustls::TlsAcceptor::from(Arc::clone(&t.config)));
    let proxies = Arc::new(proxies);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors, usually: back off instead of spinning.
                    tracing::warn!(error = %e, "HTTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let peer_ip = peer.ip().to_canonical();
        let permit = match gate.admit(peer_ip, proxies.trusts(peer_ip)) {
            Ok(p) => p,
            Err(why) => {
                refused(peer_ip, why);
                continue; // dropping the stream closes it
            }
        };
        let watcher = graceful.watcher();
        let app = app.clone();
        let proxies = Arc::clone(&proxies);
        let acceptor = acceptor.clone();
        let hsts = tls.as_ref().and_then(|t| t.hsts.clone());
        tokio::spawn(stay_on_worker(async move {
            let _permit = permit;
            // Behind a balancer that speaks the PROXY protocol, the client is who its header
            // names (read only from a trusted proxy, and before any TLS).
            let mut stream = stream;
            let peer =
                match ferry_core::proxy_protocol::client_of(&mut stream, peer, &proxies).await {
                    Ok(client) => client,
                    Err(e) => return tracing::debug!(%peer, error = %e, "PROXY header refused"),
                };
            // A connection that sends nothing never reaches hyper's header timeout (the
            // protocol is not known yet): it gets the same time to start.
            let mut first = [0u8; 1];
            match tokio::time::timeout(timeouts.header_read, stream.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            let Some(acceptor) = acceptor else {
                let front = Front {
                    peer,
                    app,
                    proxies,
                    timeouts,
                    https: false,
                    hsts: None,
                };
                return serve_connection(stream, front, watcher).await;
            };
            // A TLS connection starts with a handshake record (22); anything else is most
            // likely plain HTTP sent to the wrong port.
            if first[0] != 0x16 {
                let mut stream = stream;
                let _ = stream.write_all(PLAIN_ON_TLS).await;
                let _ = stream.shutdown().await;
                return;
            }
            match tokio::time::timeout(timeouts.header_read, acceptor.accept(stream)).await {
                Ok(Ok(tls_stream)) => {
                    // An ACME CA validating TLS-ALPN-01 only needed the handshake (RFC 8737
                    // §3: the connection carries nothing after it).
                    if tls_stream.get_ref().1.alpn_protocol() == Some(ACME_TLS_ALPN) {
                        tracing::debug!(%peer, "ACME TLS-ALPN-01 validation answered");
                        return;
                    }
                    let front = Front {
                        peer,
                        app,
                        proxies,
                        timeouts,
                        https: true,
                        hsts,
                    };
                    if tls_stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                        let (corked, uncork) = record_cork::cork(tls_stream);
                        let serve = serve_connection(corked, front, watcher);
                        record_cork::uncorking(serve, uncork).await;
                    } else {
                        serve_connection(tls_stream, front, watcher).await;
                    }
                }
                Ok(Err(e)) => {
                    metrics::counter!("ferry_tls_handshakes_failed_total", "protocol" => "https")
                        .increment(1);
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                }
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }));
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after 30 s of shutdown were cut");
    }
}

fn refused(ip: IpAddr, why: GateRefusal) {
    let reason = match why {
        GateRefusal::Address => "address",
        GateRefusal::Node => "node",
    };
    metrics::counter!("ferry_connections_refused_total", "protocol" => "http", "limit" => reason)
        .increment(1);
    tracing::debug!(%ip, limit = reason, "HTTP connection refused: connection limit");
}

/// What one connection is served with.
struct Front {
    peer: SocketAddr,
    app: Router,
    proxies: Arc<TrustedProxies>,
    timeouts: HttpTimeouts,
    /// Whether the connection itself is TLS.
    https: bool,
    hsts: Option<HeaderValue>,
}

async fn serve_connection<S>(
    stream: S,
    front: Front,
    watcher: hyper_util::server::graceful::Watcher,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Front {
        peer,
        app,
        proxies,
        timeouts,
        https,
        hsts,
    } = front;
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let client = ClientAddr(proxies.client_ip(peer, req.headers()));
        let https = OverHttps(https || proxies.over_https(peer, req.headers()));
        let version = req.version();
        let holds_back = crate::drain::holds_body_back(req.headers());
        let mut req = req.map(|body| {
            Body::new(RequestBody::new(
                body,
                timeouts.body_read,
                version,
                holds_back,
            ))
        });
        // HTTP/2 names the host in `:authority`, not `Host`: give every handler the one
        // header (the same-origin checks compare `Origin` with it).
        if !req.headers().contains_key(axum::http::header::HOST)
            && let Some(value) = req
                .uri()
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        {
            req.headers_mut().insert(axum::http::header::HOST, value);
        }
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(client);
        req.extensions_mut().insert(https);
        let answer = app.clone().oneshot(req);
        let hsts = hsts.clone();
        async move {
            let mut answer = answer.await?;
            if let Some(value) = hsts {
                answer
                    .headers_mut()
                    .insert(axum::http::header::STRICT_TRANSPORT_SECURITY, value);
            }
            Ok::<_, std::convert::Infallible>(answer)
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // A client may shut down its sending side once its request is out and wait for the answer
    // (raw-socket clients, some scripts): it still gets one, as nginx gives it.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read)
        .half_close(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(20))
        .initial_stream_window_size(Some(4 << 20))
        .initial_connection_window_size(Some(8 << 20))
        .max_frame_size(Some(64 << 10));
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(conn.into_owned()).await {
        tracing::trace!(error = %e, "HTTP connection ended with an error");
    }
}
