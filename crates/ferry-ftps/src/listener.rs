//! Accepting FTPS control connections. Ferry runs the accept loop itself (libunftp serves each
//! connection) so that it knows the bound port when asked for port 0, and can refuse a
//! client address that holds too many connections before any work is done for it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_core::Service;
use libunftp::ServerBuilder;
use libunftp::options::{FtpsRequired, PassiveHost};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::auth::{ConnectionAuthenticator, authenticator};
use crate::storage::FerryStorage;
use ferry_core::connection_limit::UserConnectionLimit;

/// How FTPS is served.
#[derive(Debug, Clone)]
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
    /// PEM certificate chain and key (checked with [`crate::TlsIdentity::check`]).
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
}

/// A bound FTPS listener.
pub struct FtpsServer {
    listener: TcpListener,
    service: Arc<Service>,
    settings: FtpsSettings,
    main: tokio::runtime::Handle,
}

impl FtpsServer {
    /// Binds `addr`. Uploads are hashed and written on `main` (see `storage.rs`).
    pub async fn bind(
        addr: &str,
        service: Arc<Service>,
        settings: FtpsSettings,
        main: tokio::runtime::Handle,
    ) -> std::io::Result<FtpsServer> {
        Ok(FtpsServer {
            listener: TcpListener::bind(addr).await?,
            service,
            settings,
            main,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the task is dropped.
    pub async fn run(self) {
        let per_ip: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
        let (auth, provider) = authenticator(Arc::clone(&self.service));
        let per_user = UserConnectionLimit::new(self.settings.max_connections_per_user);
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
                if *n >= self.settings.max_connections_per_ip {
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
            let storage_service = Arc::clone(&self.service);
            let main = self.main.clone();
            let builder = ServerBuilder::with_user_detail_provider(
                Box::new(move || FerryStorage::new(Arc::clone(&storage_service), main.clone())),
                provider.clone(),
            )
            .authenticator(Arc::new(ConnectionAuthenticator::new(
                Arc::clone(&auth),
                Arc::clone(&per_user),
            )))
            .greeting("Ferry FTPS ready; AUTH TLS first")
            .ftps(
                self.settings.cert_file.clone(),
                self.settings.key_file.clone(),
            )
            .ftps_required(
                FtpsRequired::All,
                if self.settings.allow_plain_data {
                    FtpsRequired::None
                } else {
                    FtpsRequired::All
                },
            )
            .passive_ports(self.settings.passive_ports.clone())
            .idle_session_timeout(self.settings.idle_timeout.as_secs().max(1));
            let builder = match self.settings.passive_host {
                Some(host) => builder.passive_host(PassiveHost::Ip(host)),
                None => builder,
            };
            let per_ip = Arc::clone(&per_ip);
            tokio::spawn(async move {
                match builder.build() {
                    Ok(server) => {
                        if let Err(e) = server.service(stream).await {
                            tracing::debug!(error = ?e, "FTPS control connection ended with an error");
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "FTPS server configuration refused"),
                }
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
