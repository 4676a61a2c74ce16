//! SSH connections: our accept loop (port 0, per-address limit), russh sessions with
//! password sign-in through the Service (application 2's immutable session, the lock-out
//! every protocol shares), and the `sftp` subsystem. Shells, exec and forwarding are refused.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ferry_core::connection_limit::{ConnectionGate, Limit};
use ferry_core::domain::{SessionKey, UserId, application};
use ferry_core::service::{OpenMode, OpenRequest};
use ferry_core::{Caller, Service};
use russh::keys::PrivateKey;
use russh::server::{Auth, Msg, Session};
use russh::{Channel, ChannelId, ChannelOpenFailure, MethodKind, MethodSet};

use crate::interactive::{Interactive, PASSCODE_HINT, first_methods, prompt, refused};
use tokio::net::TcpListener;

use crate::channel::SftpChannel;
use crate::client_id::{ClientId, IdTap};
use crate::handles::HandleLimits;
use crate::session_watch::{SignedInAs, watch_session, with_closer};
use crate::sftp::SftpHandler;
use ferry_core::connection_limit::{ConnectionPermit, UserConnectionLimit};

/// How SFTP is served.
#[derive(Debug, Clone)]
pub struct SftpSettings {
    /// Idle connections are closed after this.
    pub idle_timeout: Duration,
    /// A connection must have signed in this long after it opened, or it is closed.
    pub sign_in_timeout: Duration,
    /// Connections per client address, within the node-wide limit every listener shares.
    pub gate: Arc<ConnectionGate>,
    /// Most simultaneous signed-in connections of one user.
    pub max_connections_per_user: usize,
    /// Most session channels one connection may have open at once (OpenSSH's
    /// `MaxSessions`): each holds state of its own, and one signed-in connection could
    /// otherwise open them until the node runs out of memory.
    pub max_sessions_per_connection: usize,
    /// Most handles (open files and listings) one SFTP session channel may hold.
    pub max_handles_per_connection: usize,
    /// Most handles one user may hold across their connections.
    pub max_handles_per_user: usize,
    /// Balancers whose PROXY header names the client.
    pub proxies: ferry_core::proxy_protocol::TrustedProxies,
}

/// A bound SFTP listener.
pub struct SftpServer {
    listener: TcpListener,
    service: Arc<Service>,
    config: Arc<russh::server::Config>,
    settings: SftpSettings,
}

impl SftpServer {
    /// Binds `addr` with `host_key`.
    pub async fn bind(
        addr: &str,
        service: Arc<Service>,
        host_key: PrivateKey,
        settings: SftpSettings,
    ) -> std::io::Result<SftpServer> {
        let methods = first_methods();
        let config = russh::server::Config {
            server_id: russh::SshId::Standard(
                concat!("SSH-2.0-Ferry_", env!("CARGO_PKG_VERSION")).into(),
            ),
            methods,
            keys: vec![host_key],
            // The Service's lock-out paces password guessing; this only spaces retries.
            auth_rejection_time: Duration::from_millis(300),
            auth_rejection_time_initial: Some(Duration::ZERO),
            max_auth_attempts: 6,
            inactivity_timeout: Some(settings.idle_timeout),
            // Without it, libssh2 clients (curl) upload at a few MB/s.
            nodelay: true,
            preferred: modern_algorithms(),
            ..Default::default()
        };
        Ok(SftpServer {
            listener: TcpListener::bind(addr).await?,
            service,
            config: Arc::new(config),
            settings,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the task is dropped.
    pub async fn run(self) {
        let per_user = UserConnectionLimit::new("sftp", self.settings.max_connections_per_user);
        let handles_per_user = Limit::new(self.settings.max_handles_per_user);
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "SFTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let ip = peer.ip().to_canonical();
            // A trusted balancer carries many clients: its address has no per-address limit.
            let permit = match self
                .settings
                .gate
                .admit(ip, self.settings.proxies.trusts(ip))
            {
                Ok(p) => p,
                Err(why) => {
                    tracing::warn!(%ip, limit = ?why, "SFTP connection refused: connection limit");
                    metrics::counter!("ferry_connections_refused_total", "protocol" => "sftp", "limit" => format!("{why:?}").to_lowercase()).increment(1);
                    continue; // dropping the stream closes it
                }
            };
            let client_id = ClientId::default();
            let signed_in: SignedInAs = Arc::default();
            let mut handler = Connection {
                service: Arc::clone(&self.service),
                ip,
                client_id: Arc::clone(&client_id),
                per_user: Arc::clone(&per_user),
                handles_per_user: Arc::clone(&handles_per_user),
                max_handles: self.settings.max_handles_per_connection,
                permit: None,
                session: None,
                user: None,
                signed_in: Arc::clone(&signed_in),
                channels: HashMap::new(),
                open_channels: HashSet::new(),
                max_channels: self.settings.max_sessions_per_connection,
                sftp: HashMap::new(),
                interactive: Interactive::Idle,
            };
            let proxies = self.settings.proxies.clone();
            let config = Arc::clone(&self.config);
            let service = Arc::clone(&self.service);
            let sign_in_timeout = self.settings.sign_in_timeout;
            tokio::spawn(async move {
                let _permit = permit;
                // Behind a balancer that speaks the PROXY protocol, the client is who its
                // header names (read only from a trusted proxy, before the SSH banner).
                let mut stream = stream;
                let ip = match ferry_core::proxy_protocol::client_of(&mut stream, peer, &proxies)
                    .await
                {
                    Ok(client) => client.ip(),
                    Err(e) => return tracing::debug!(%peer, error = %e, "PROXY header refused"),
                };
                handler.ip = ip;
                // A second handle on the socket, to close it whatever state the SSH session is
                // in (a disconnect message cannot be sent before the key exchange).
                let (stream, closer) = match with_closer(stream) {
                    Ok(pair) => pair,
                    Err(e) => {
                        return tracing::warn!(error = %e, "SFTP connection dropped: cannot duplicate it");
                    }
                };
                let stream = IdTap::new(stream, client_id);
                // The client's identification line is read inside `run_stream`: a client that
                // sends nothing gets the sign-in time, not the idle timeout.
                let started = tokio::time::timeout(
                    sign_in_timeout,
                    russh::server::run_stream(config, stream, handler),
                );
                let running = match started.await {
                    Ok(Ok(running)) => running,
                    Ok(Err(e)) => return tracing::debug!(error = %e, "SSH handshake failed"),
                    Err(_) => {
                        return tracing::debug!(%ip, "SSH connection sent no identification in time");
                    }
                };
                let handle = running.handle();
                tokio::select! {
                    ended = running => {
                        if let Err(e) = ended {
                            tracing::debug!(error = %e, "SSH connection ended with an error");
                        }
                    }
                    why = watch_session(service, signed_in, sign_in_timeout) => {
                        tracing::info!(%ip, reason = why, "SSH connection closed");
                        let polite = handle.disconnect(
                            russh::Disconnect::ByApplication,
                            why.into(),
                            String::new(),
                        );
                        let _ = tokio::time::timeout(Duration::from_secs(1), polite).await;
                        let _ = closer.shutdown(std::net::Shutdown::Both);
                    }
                }
            });
        }
    }
}

/// Ends a subsystem channel as OpenSSH's server does: the subsystem's exit status, then EOF,
/// then close. Clients report the status as their own (`scp` and `ssh -s sftp` exit 1 and 255
/// without it, which breaks `scp … && next`). russh forgets a channel it closes, and then
/// ignores the client's close of it: so the caller also counts it closed.
fn end_channel(session: &mut Session, channel: ChannelId, status: u32) -> Result<(), russh::Error> {
    session.exit_status_request(channel, status)?;
    session.eof(channel)?;
    session.close(channel)
}

/// Only modern algorithms: X25519 (and its ML-KEM hybrid) key exchange, Ed25519 and ECDSA
/// keys (no RSA, no finite-field Diffie-Hellman), AEAD ciphers first. AES-CTR (with russh's
/// SHA-2 MACs) stays last for libssh2 up to 1.10 (Debian 12's curl), which has no GCM or
/// ChaCha20; CBC and 3DES are gone. OpenSSH's strict-kex and ext-info markers are kept (the
/// Terrapin mitigation).
fn modern_algorithms() -> russh::Preferred {
    use russh::keys::{Algorithm, EcdsaCurve};
    use russh::{cipher, kex};
    use std::borrow::Cow;
    russh::Preferred {
        kex: Cow::Borrowed(&[
            kex::MLKEM768X25519_SHA256,
            kex::CURVE25519,
            kex::CURVE25519_PRE_RFC_8731,
            kex::EXTENSION_SUPPORT_AS_SERVER,
            kex::EXTENSION_OPENSSH_STRICT_KEX_AS_SERVER,
        ]),
        key: Cow::Owned(vec![
            Algorithm::Ed25519,
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256,
            },
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP384,
            },
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP521,
            },
        ]),
        cipher: Cow::Borrowed(&[
            cipher::CHACHA20_POLY1305,
            cipher::AES_256_GCM,
            cipher::AES_128_GCM,
            cipher::AES_256_CTR,
            cipher::AES_128_CTR,
        ]),
        ..russh::Preferred::DEFAULT
    }
}

/// One SSH connection.
struct Connection {
    service: Arc<Service>,
    ip: IpAddr,
    /// The client's SSH identification string, once it has been read.
    client_id: ClientId,
    /// Signed-in connections per user, and this connection's place once signed in (given
    /// back when the connection, and so this handler, is dropped).
    per_user: Arc<UserConnectionLimit>,
    /// Open handles per user, and how many one connection may hold.
    handles_per_user: Arc<Limit<UserId>>,
    max_handles: usize,
    permit: Option<ConnectionPermit>,
    session: Option<SessionKey>,
    user: Option<UserId>,
    /// The same session, for the connection's watcher.
    signed_in: SignedInAs,
    channels: HashMap<ChannelId, Channel<Msg>>,
    /// Every session channel accepted and not yet closed, and how many may be.
    open_channels: HashSet<ChannelId>,
    max_channels: usize,
    /// Channels running the SFTP subsystem, served in this task (see [`crate::channel`]).
    sftp: HashMap<ChannelId, SftpChannel>,
    /// Where a keyboard-interactive sign-in stands.
    interactive: Interactive,
}

/// Errors end the connection; their text goes to the debug log only.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// From russh.
    #[error(transparent)]
    Russh(#[from] russh::Error),
}

impl Connection {
    fn signed_in_to(&mut self, session: SessionKey, user: UserId, permit: ConnectionPermit) {
        self.session = Some(session);
        self.user = Some(user);
        self.permit = Some(permit);
        *self.signed_in.lock().expect("signed-in lock") = Some(session);
    }

    /// A password sign-in through the Service (application 2, immutable, counted).
    async fn sign_in(
        &mut self,
        user: &str,
        password: &str,
        passcode: Option<String>,
    ) -> Result<(), ferry_core::Error> {
        let req = OpenRequest {
            user_name: user.to_string(),
            password: password.to_string(),
            application_id: application::SFTP,
            client_version: Some(self.client_version()),
            mode: OpenMode::Immutable,
            passcode,
            user_string: None,
            passcode_appended: false,
        };
        let caller = Caller {
            ip: Some(self.ip),
            client_version: None,
        };
        let (data, permit) = self
            .service
            .open_counted(req, &caller, &self.per_user)
            .await?;
        self.signed_in_to(data.key, data.user_id, permit);
        Ok(())
    }

    /// The session's `clientVersion`: the client's SSH identification string (always read by
    /// the time a client authenticates), or "SFTP".
    fn client_version(&self) -> String {
        self.client_id
            .get()
            .cloned()
            .unwrap_or_else(|| "SFTP".into())
    }
}

impl russh::server::Handler for Connection {
    type Error = SshError;

    /// A password sign-in. For a user with two-step sign-in the right password is only the
    /// first step: the client is told (partial success) to go on with keyboard-interactive,
    /// which asks for the passcode.
    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        self.interactive = Interactive::Idle;
        match self.sign_in(user, password, None).await {
            Ok(()) => Ok(Auth::Accept),
            Err(ferry_core::Error::PasscodeRequired) => {
                self.interactive = Interactive::AskedPasscode(user.into(), password.into());
                let mut next = MethodSet::empty();
                next.push(MethodKind::KeyboardInteractive);
                Ok(Auth::Reject {
                    proceed_with_methods: Some(next),
                    partial_success: true,
                })
            }
            Err(e) => {
                tracing::debug!(error = %e, "SFTP sign-in refused");
                // Password stays on the list (as OpenSSH keeps it): without it paramiko
                // falls back to keyboard-interactive with the same password.
                Ok(Auth::Reject {
                    proceed_with_methods: Some(first_methods()),
                    partial_success: false,
                })
            }
        }
    }

    /// Keyboard-interactive: the password, then the passcode when the user has two-step
    /// sign-in (see [`Interactive`]). Each answer goes through the same Service sign-in as a
    /// `password` request, so the lock-out counts it the same way.
    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _submethods: &str,
        response: Option<russh::server::Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        let again = || Auth::Reject {
            proceed_with_methods: Some(first_methods()),
            partial_success: false,
        };
        let state = std::mem::take(&mut self.interactive);
        let Some(mut response) = response else {
            // A new keyboard-interactive request: after a right password, the passcode;
            // otherwise the password.
            return Ok(match state {
                Interactive::AskedPasscode(name, password) if name == user => {
                    self.interactive = Interactive::AskedPasscode(name, password);
                    prompt("Passcode: ", PASSCODE_HINT)
                }
                _ => {
                    self.interactive = Interactive::AskedPassword;
                    prompt("Password: ", "")
                }
            });
        };
        let answer = response
            .next()
            .map(|b| String::from_utf8_lossy(&b).to_string())
            .unwrap_or_default();
        match state {
            Interactive::AskedPassword => match self.sign_in(user, &answer, None).await {
                Ok(()) => Ok(Auth::Accept),
                Err(ferry_core::Error::PasscodeRequired) => {
                    self.interactive = Interactive::AskedPasscode(user.into(), answer);
                    Ok(prompt("Passcode: ", PASSCODE_HINT))
                }
                Err(e) => {
                    tracing::debug!(error = %e, "SFTP sign-in refused");
                    Ok(refused(&mut self.interactive, &e, again()))
                }
            },
            Interactive::AskedPasscode(name, password) if name == user => {
                match self
                    .sign_in(&name, &password, Some(answer.trim().to_string()))
                    .await
                {
                    Ok(()) => Ok(Auth::Accept),
                    Err(e) => {
                        tracing::debug!(error = %e, "SFTP passcode refused");
                        Ok(refused(&mut self.interactive, &e, again()))
                    }
                }
            }
            _ => Ok(again()),
        }
    }

    /// Called once russh has verified the client's signature with `key`: the Service checks
    /// the key is one of the named user's. Rejections are not counted in the lock-out (clients
    /// offer every key they hold, one after another) and not audited.
    async fn auth_publickey(
        &mut self,
        user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let fingerprint = key
            .public_key
            .fingerprint(russh::keys::HashAlg::Sha256)
            .to_string();
        let caller = Caller {
            ip: Some(self.ip),
            client_version: None,
        };
        match self
            .service
            .open_with_ssh_key(
                user,
                &fingerprint,
                Some(self.client_version()),
                &caller,
                &self.per_user,
            )
            .await
        {
            Ok((data, permit)) => {
                self.signed_in_to(data.key, data.user_id, permit);
                Ok(Auth::Accept)
            }
            Err(e) => {
                tracing::debug!(error = %e, "SFTP key sign-in refused");
                Ok(Auth::reject())
            }
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.open_channels.len() >= self.max_channels {
            tracing::info!(
                ip = %self.ip,
                max = self.max_channels,
                "SFTP channel refused: too many sessions on one connection"
            );
            reply.reject(ChannelOpenFailure::ResourceShortage).await;
            return Ok(());
        }
        self.open_channels.insert(channel.id());
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel_id: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match (
            name,
            self.session,
            self.user,
            self.channels.remove(&channel_id),
        ) {
            ("sftp", Some(sid), Some(user), Some(channel)) => {
                // The channel's data is taken in `data` below; its stream is not read, so it
                // is dropped (russh then skips it).
                drop(channel);
                session.channel_success(channel_id)?;
                let caller = Caller {
                    ip: Some(self.ip),
                    client_version: None,
                };
                let handles = HandleLimits {
                    per_user: Arc::clone(&self.handles_per_user),
                    user,
                    per_channel: self.max_handles,
                };
                let handler = SftpHandler::new(Arc::clone(&self.service), sid, caller, handles);
                self.sftp.insert(channel_id, SftpChannel::new(handler));
            }
            _ => session.channel_failure(channel_id)?,
        }
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(sftp) = self.sftp.get_mut(&channel) else {
            return Ok(());
        };
        match sftp.feed(data).await {
            Ok(replies) => {
                for reply in replies {
                    session.data(channel, reply)?;
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "SFTP channel closed");
                // Dropping the channel's state drops its open uploads: nothing is committed.
                self.sftp.remove(&channel);
                self.open_channels.remove(&channel);
                end_channel(session, channel, 1)?;
            }
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.sftp.remove(&channel).is_some() {
            self.open_channels.remove(&channel);
            end_channel(session, channel, 0)?;
        }
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.sftp.remove(&channel);
        self.channels.remove(&channel);
        self.open_channels.remove(&channel);
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }
}
