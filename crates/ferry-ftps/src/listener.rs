//! Accepting FTPS control connections: a client address that holds too many connections (or
//! a node at its connection limit) is refused before any work is done for it; every other
//! connection gets a task of its own (`session.rs`).

use ferry_core::proxy_protocol::{TrustedProxies, client_of};
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use ferry_core::Service;
use ferry_core::connection_limit::{ConnectionGate, GateRefusal, Limit, UserConnectionLimit};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::session::{ControlSession, Shared};

/// How FTPS is served.
#[derive(Clone)]
pub struct FtpsSettings {
    /// Passive-mode data ports.
    pub passive_ports: RangeInclusive<u16>,
    /// The address advertised in `PASV` replies (behind NAT); default: the control connection's.
    pub passive_host: Option<Ipv4Addr>,
    /// Idle control connections are closed after this.
    pub idle_timeout: Duration,
    /// A control connection must have signed in this long after it opened, or it is closed.
    pub sign_in_timeout: Duration,
    /// Control connections per client address, within the node-wide limit every listener
    /// shares.
    pub gate: Arc<ConnectionGate>,
    /// Most simultaneous signed-in control connections of one user.
    pub max_connections_per_user: usize,
    /// Most passive ports one user may hold open at once (across their connections).
    pub max_passive_ports_per_user: usize,
    /// Allow data connections without TLS (logins always need TLS).
    pub allow_plain_data: bool,
    /// Refuse a protected data connection whose TLS handshake does not resume the control
    /// connection's session (see `data.rs`).
    pub require_tls_session_reuse: bool,
    /// The TLS configuration (see [`crate::TlsIdentity::server_config`]).
    pub tls: Arc<rustls::ServerConfig>,
    /// Accept `PASS password+passcode` from users with two-step sign-in (docs/second-factor.md);
    /// without it such users cannot sign in to FTPS with a password.
    pub passcode_in_password: bool,
    /// Balancers whose PROXY header names the client, on control and data connections.
    pub proxies: TrustedProxies,
}

/// A bound FTPS listener.
pub struct FtpsServer {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl FtpsServer {
    /// Binds `addr`.
    pub async fn bind(
        addr: &str,
        service: Arc<Service>,
        settings: FtpsSettings,
    ) -> std::io::Result<FtpsServer> {
        let per_user = UserConnectionLimit::new("ftps", settings.max_connections_per_user);
        let passive_per_user = Limit::new(settings.max_passive_ports_per_user);
        Ok(FtpsServer {
            listener: TcpListener::bind(addr).await?,
            shared: Arc::new(Shared {
                service,
                settings,
                per_user,
                passive_per_user,
            }),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the task is dropped.
    pub async fn run(self) {
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors, usually: back off instead of spinning.
                    tracing::warn!(error = %e, "FTPS accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let ip = peer.ip().to_canonical();
            // A trusted balancer carries many clients: its address has no per-address limit.
            let trusted = self.shared.settings.proxies.trusts(ip);
            let permit = match self.shared.settings.gate.admit(ip, trusted) {
                Ok(p) => p,
                Err(why) => {
                    tracing::warn!(%ip, limit = ?why, "FTPS connection refused: connection limit");
                    metrics::counter!("ferry_connections_refused_total", "protocol" => "ftps", "limit" => format!("{why:?}").to_lowercase()).increment(1);
                    if why == GateRefusal::Address {
                        // Said in a line, with a bound on how long the saying may take; a
                        // node at its limit just closes (no descriptor to spare).
                        tokio::spawn(refuse(stream));
                    }
                    continue;
                }
            };
            let shared = Arc::clone(&self.shared);
            tokio::spawn(async move {
                let _permit = permit;
                let mut stream = stream;
                let peer = match client_of(&mut stream, peer, &shared.settings.proxies).await {
                    Ok(client) => client,
                    Err(e) => return tracing::debug!(%peer, error = %e, "PROXY header refused"),
                };
                ControlSession::run(shared, stream, peer).await;
            });
        }
    }
}

/// Tells a refused client why, then closes.
async fn refuse(mut stream: TcpStream) {
    let say = async {
        let _ = stream
            .write_all(b"421 Too many connections from your address; try again later.\r\n")
            .await;
        let _ = stream.shutdown().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), say).await;
}
