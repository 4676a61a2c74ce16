//! Serving the router on a TCP listener, with the limits that keep one client from taking the
//! server down (slowloris): every connection is admitted through the node's
//! [`ConnectionGate`] (per address, unless the peer is a trusted proxy, and node-wide), must
//! send its first bytes and then each request's headers within `header_read_timeout`, and
//! each request body must keep arriving (no pause longer than `body_read_timeout`).
//!
//! Each request learns its client's address here, once, for every route: the socket's peer,
//! or, from a trusted proxy, the address `X-Forwarded-For` names ([`ClientAddr`]).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use ferry_core::Caller;
use ferry_core::connection_limit::{ConnectionGate, GateRefusal};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use crate::client_addr::TrustedProxies;

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

/// Serves `app` on `listener` until `shutdown` completes, then lets requests in flight finish
/// (for up to 30 s).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    gate: Arc<ConnectionGate>,
    proxies: TrustedProxies,
    timeouts: HttpTimeouts,
    shutdown: impl Future<Output = ()>,
) {
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
        tokio::spawn(async move {
            let _permit = permit;
            // A connection that sends nothing never reaches hyper's header timeout (the
            // protocol is not known yet): it gets the same time to start.
            let mut first = [0u8; 1];
            match tokio::time::timeout(timeouts.header_read, stream.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            serve_connection(stream, peer, app, proxies, timeouts, watcher).await;
        });
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

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    proxies: Arc<TrustedProxies>,
    timeouts: HttpTimeouts,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let client = ClientAddr(proxies.client_ip(peer, req.headers()));
        let https = OverHttps(proxies.over_https(peer, req.headers()));
        let mut req = req.map(|body| Body::new(ReadTimeout::new(body, timeouts.body_read)));
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(client);
        req.extensions_mut().insert(https);
        app.clone().oneshot(req)
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(20));
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(conn.into_owned()).await {
        tracing::trace!(error = %e, "HTTP connection ended with an error");
    }
}

/// A request body that fails when the client pauses for longer than the limit: a stalled
/// upload ends (and is dropped, as any interrupted upload) instead of holding its connection.
struct ReadTimeout {
    inner: Incoming,
    limit: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl ReadTimeout {
    fn new(inner: Incoming, limit: Duration) -> Self {
        ReadTimeout {
            inner,
            limit,
            sleep: Box::pin(tokio::time::sleep(limit)),
        }
    }
}

impl hyper::body::Body for ReadTimeout {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = tokio::time::Instant::now() + self.limit;
                self.sleep.as_mut().reset(deadline);
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(format!(
                    "no request body bytes for {} s",
                    self.limit.as_secs()
                )
                .into()))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
