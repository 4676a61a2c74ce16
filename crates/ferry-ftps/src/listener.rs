//! Accepting FTPS control connections: a client address that holds too many connections is
//! refused before any work is done for it; every other connection gets a task of its own
//! (`session.rs`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_core::Service;
use ferry_core::connection_limit::UserConnectionLimit;
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
    /// Most simultaneous control connections from one client address.
    pub max_connections_per_ip: usize,
    /// Most simultaneous signed-in control connections of one user.
    pub max_connections_per_user: usize,
    /// Allow data connections without TLS (logins always need TLS).
    pub allow_plain_data: bool,
    /// Refuse a protected data connection whose TLS handshake does not resume the control
    /// connection's session (see `data.rs`).
    pub require_tls_session_reuse: bool,
    /// The TLS configuration (see [`crate::TlsIdentity::server_config`]).
    pub tls: Arc<rustls::ServerConfig>,
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
        let per_user = UserConnectionLimit::new(settings.max_connections_per_user);
        Ok(FtpsServer {
            listener: TcpListener::bind(addr).await?,
            shared: Arc::new(Shared {
                service,
                settings,
                per_user,
            }),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the task is dropped.
    pub async fn run(self) {
        let per_ip: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
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
            let admitted = {
                let mut counts = per_ip.lock().expect("connection counts lock");
                let n = counts.entry(ip).or_insert(0);
                if *n >= self.shared.settings.max_connections_per_ip {
                    false
                } else {
                    *n += 1;
                    true
                }
            };
            if !admitted {
                tracing::warn!(%ip, "FTPS connection refused: too many from this address");
                tokio::spawn(refuse(stream));
                continue;
            }
            let shared = Arc::clone(&self.shared);
            let per_ip = Arc::clone(&per_ip);
            tokio::spawn(async move {
                ControlSession::run(shared, stream, peer).await;
                let mut counts = per_ip.lock().expect("connection counts lock");
                if let Some(n) = counts.get_mut(&ip) {
                    *n -= 1;
                    if *n == 0 {
                        counts.remove(&ip);
                    }
                }
            });
        }
    }
}

/// Tells a refused client why, then closes.
async fn refuse(mut stream: TcpStream) {
    let _ = stream
        .write_all(b"421 Too many connections from your address; try again later.\r\n")
        .await;
    let _ = stream.shutdown().await;
}
