//! Data connections: where they come from (a passive port Ferry listens on, or the client's
//! own address in active mode), who may use them, and how they end.
//!
//! A data connection is accepted only from the control connection's address, and, when
//! `require_tls_session_reuse` is on (the default), only if its TLS handshake resumes a session
//! of *this* control connection: each control connection gets a TLS configuration with a
//! session cache of its own, so a resumption proves the data connection was opened by the
//! holder of the control channel's keys and not by someone racing for the passive port.
//! Active mode connects only to the client's own address (no FTP bounce).
//!
//! Ends are explicit: Ferry sends TLS's close_notify after every transfer, and an upload is
//! complete only when the client's close_notify arrives (a cut TCP connection is an abort).

use std::io;
use std::net::{IpAddr, SocketAddr};

use ferry_core::proxy_protocol::{TrustedProxies, client_of};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use ferry_core::connection_limit::Permit;
use ferry_core::domain::UserId;
use rustls::HandshakeKind;
use rustls::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::stream::{Stream, Tcp};
use tokio::net::{TcpListener, TcpStream};

/// How long a client has to open the data connection and finish its TLS handshake.
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(30);

/// How the next transfer's data connection is made.
#[derive(Debug)]
pub enum DataPlan {
    /// The client connects to a passive port (`PASV`, `EPSV`), accepted at once.
    Passive(PassiveData),
    /// Ferry connects to the client (`PORT`, `EPRT`), at the client's own address.
    Active(SocketAddr),
}

/// A passive port's data connection. It is accepted, and its TLS handshake run, as soon as the
/// client connects, before the transfer command: aioftp (and vsftpd's other clients) finish
/// the handshake before sending `STOR`. The task holds a place in its user's count of passive
/// ports until it ends; dropping the plan ends it.
pub struct PassiveData {
    task: tokio::task::JoinHandle<Result<Opened, DataError>>,
    _place: Permit<UserId>,
}

impl std::fmt::Debug for PassiveData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PassiveData")
    }
}

impl Drop for PassiveData {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A data connection as the passive port's task left it.
enum Opened {
    /// Accepted; no TLS asked for when the port was opened.
    Plain(TcpStream),
    /// Accepted and its handshake done; whether it resumed the control connection's session.
    Tls(Stream, bool),
}

impl PassiveData {
    /// Starts accepting on `listener`: the first connection from `peer` (others are dropped
    /// and logged), then its TLS handshake under `tls` if data is protected. Behind a trusted balancer the data connection's client is what its PROXY header names
    /// (the balancer must send one on the passive ports too: docs/cluster.md).
    pub fn start(
        listener: TcpListener,
        place: Permit<UserId>,
        peer: IpAddr,
        tls: Option<Arc<ServerConfig>>,
        proxies: TrustedProxies,
    ) -> PassiveData {
        let task = tokio::spawn(async move {
            let tcp = loop {
                let (mut stream, from) = listener.accept().await?;
                let from = match client_of(&mut stream, from, &proxies).await {
                    Ok(client) => client,
                    Err(e) => {
                        tracing::warn!(%from, error = %e, "FTPS data connection's PROXY header refused");
                        continue;
                    }
                };
                if from.ip().to_canonical() == peer {
                    break stream;
                }
                tracing::warn!(%from, expected = %peer, "FTPS data connection from another address dropped");
            };
            drop(listener);
            let _ = tcp.set_nodelay(true);
            match tls {
                None => Ok(Opened::Plain(tcp)),
                Some(config) => {
                    let (stream, resumed) = Stream::handshake(tcp, &config).await?;
                    Ok(Opened::Tls(stream, resumed))
                }
            }
        });
        PassiveData {
            task,
            _place: place,
        }
    }
}

/// Why a data connection could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The client did not connect (or accept) in time.
    #[error("no data connection within {} seconds", OPEN_TIMEOUT.as_secs())]
    Timeout,
    /// The TCP or TLS layer failed.
    #[error("data connection failed: {0}")]
    Io(#[from] io::Error),
    /// The data connection's TLS handshake did not resume the control connection's session.
    #[error("the data connection did not resume the control connection's TLS session")]
    NotResumed,
    /// The passive port was opened under `PROT P` and the transfer asked for `PROT C`.
    #[error("the data connection is protected, and the transfer asked for clear text")]
    ProtectionChanged,
}

/// Binds a passive listener on `ip`, on a port of `ports` picked at random (so that the next
/// port cannot be guessed), trying the others in turn if it is taken.
pub async fn bind_passive(ip: IpAddr, ports: &RangeInclusive<u16>) -> io::Result<TcpListener> {
    let first = u32::from(*ports.start());
    let count = u32::from(*ports.end()) - first + 1;
    let mut seed = [0u8; 4];
    getrandom::fill(&mut seed).map_err(|e| io::Error::other(e.to_string()))?;
    let start = u32::from_le_bytes(seed) % count;
    let mut last = io::Error::new(io::ErrorKind::AddrInUse, "no passive port is free");
    for i in 0..count.min(200) {
        let port = (first + (start + i) % count) as u16;
        match TcpListener::bind(SocketAddr::new(ip, port)).await {
            Ok(l) => return Ok(l),
            Err(e) => last = e,
        }
    }
    Err(last)
}

impl DataPlan {
    /// The data connection of a transfer, protected by `tls` when given: the passive port's
    /// (waiting for the client to connect, if it has not yet), or Ferry's connection to the
    /// client in active mode. With `require_resumption`, a handshake that did not resume the
    /// control connection's session is refused.
    pub async fn open(
        self,
        tls: Option<&Arc<ServerConfig>>,
        require_resumption: bool,
    ) -> Result<Stream, DataError> {
        let opened = match self {
            DataPlan::Passive(mut passive) => tokio::time::timeout(OPEN_TIMEOUT, &mut passive.task)
                .await
                .map_err(|_| DataError::Timeout)?
                .map_err(|e| DataError::Io(io::Error::other(e.to_string())))??,
            DataPlan::Active(addr) => {
                let tcp = tokio::time::timeout(OPEN_TIMEOUT, TcpStream::connect(addr))
                    .await
                    .map_err(|_| DataError::Timeout)??;
                let _ = tcp.set_nodelay(true);
                Opened::Plain(tcp)
            }
        };
        let (stream, resumed) = match (opened, tls) {
            (Opened::Plain(tcp), None) => return Ok(Stream::Plain(tcp)),
            // `PROT P` sent after the passive port was opened: the handshake runs now.
            (Opened::Plain(tcp), Some(config)) => Stream::handshake(tcp, config).await?,
            (Opened::Tls(stream, resumed), Some(_)) => (stream, resumed),
            (Opened::Tls(stream, _), None) => {
                stream.finish().await;
                return Err(DataError::ProtectionChanged);
            }
        };
        if require_resumption && !resumed {
            // Ended cleanly, so that the client goes on to read the reply that says why.
            stream.finish().await;
            return Err(DataError::NotResumed);
        }
        Ok(stream)
    }
}

/// An open data connection: protected, or (only if the administrator allows it) not.
impl Stream {
    /// Runs the TLS handshake (within [`OPEN_TIMEOUT`]); the stream, and whether the
    /// handshake resumed a session of this control connection.
    async fn handshake(
        tcp: TcpStream,
        config: &Arc<ServerConfig>,
    ) -> Result<(Stream, bool), DataError> {
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(config));
        let mut stream = tokio::time::timeout(OPEN_TIMEOUT, acceptor.accept(Tcp::handshaking(tcp)))
            .await
            .map_err(|_| DataError::Timeout)??;
        stream.get_mut().0.handshake_done();
        let resumed = stream.get_ref().1.handshake_kind() == Some(HandshakeKind::Resumed);
        Ok((Stream::Tls(Box::new(stream)), resumed))
    }

    /// Ends the connection: close_notify (TLS) and a TCP shutdown, then, on a task of its own,
    /// waits briefly for the client to close its side so that its own close_notify does not
    /// meet a closed socket (an RST some clients report as an error).
    pub async fn finish(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.shutdown()).await;
        tokio::spawn(async move {
            let mut sink = [0u8; 1024];
            let drain = async { while matches!(self.read(&mut sink).await, Ok(n) if n > 0) {} };
            let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
        });
    }
}

/// Parses `PORT h1,h2,h3,h4,p1,p2`.
pub fn parse_port(arg: &str) -> Option<SocketAddr> {
    let n: Vec<u8> = arg
        .trim()
        .split(',')
        .map(|p| p.trim().parse::<u8>())
        .collect::<Result<_, _>>()
        .ok()?;
    if n.len() != 6 {
        return None;
    }
    let ip = IpAddr::from([n[0], n[1], n[2], n[3]]);
    Some(SocketAddr::new(ip, u16::from(n[4]) << 8 | u16::from(n[5])))
}

/// Parses `EPRT |1|ip|port|` (or `|2|` for IPv6; any delimiter character, as RFC 2428 allows).
pub fn parse_eprt(arg: &str) -> Option<SocketAddr> {
    let arg = arg.trim();
    let delim = arg.chars().next()?;
    let parts: Vec<&str> = arg.split(delim).collect();
    let [_, proto, ip, port, _] = parts.as_slice() else {
        return None;
    };
    let ip: IpAddr = ip.parse().ok()?;
    let port: u16 = port.parse().ok()?;
    match (*proto, ip) {
        ("1", IpAddr::V4(_)) | ("2", IpAddr::V6(_)) => Some(SocketAddr::new(ip, port)),
        _ => None,
    }
}

/// Whether an active-mode target is acceptable: the client's own address, and not a
/// privileged port (where a bounce would reach a service, not an FTP client).
pub fn active_target_allowed(target: SocketAddr, peer: IpAddr) -> bool {
    target.ip().to_canonical() == peer && target.port() >= 1024
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_and_eprt_parse() {
        assert_eq!(
            parse_port("127,0,0,1,4,1"),
            Some("127.0.0.1:1025".parse().unwrap())
        );
        assert_eq!(parse_port("127,0,0,1,4"), None);
        assert_eq!(parse_port("300,0,0,1,4,1"), None);
        assert_eq!(
            parse_eprt("|1|10.0.0.1|1025|"),
            Some("10.0.0.1:1025".parse().unwrap())
        );
        assert_eq!(
            parse_eprt("!2!::1!2000!"),
            Some("[::1]:2000".parse().unwrap())
        );
        assert_eq!(parse_eprt("|2|10.0.0.1|1025|"), None);
        assert_eq!(parse_eprt("|1|10.0.0.1|99999|"), None);
    }

    #[test]
    fn bounces_are_refused() {
        let me: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(active_target_allowed(
            "127.0.0.1:40000".parse().unwrap(),
            me
        ));
        assert!(!active_target_allowed(
            "10.0.0.1:40000".parse().unwrap(),
            me
        ));
        assert!(!active_target_allowed("127.0.0.1:25".parse().unwrap(), me));
    }
}
