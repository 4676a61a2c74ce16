//! One control connection, from the greeting to `QUIT`: reading command lines (with a sign-in
//! deadline, and a watch on the session while idle), the TLS upgrade (`AUTH TLS`), sign-in,
//! and the dispatch to the data-connection set-up (`data_setup.rs`), the tree commands
//! (`tree_commands.rs`) and transfers (`transfer.rs`).
//!
//! Commands are handled one at a time; a transfer runs to its end before the next command is
//! read (as in vsftpd), so `ABOR` is answered after the data connection has closed.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::Service;
use ferry_core::connection_limit::{Limit, UserConnectionLimit};
use ferry_core::domain::UserId;
use ferry_core::service::{SessionContext, path_names};
use rustls::ServerConfig;
use rustls::server::ServerSessionMemoryCache;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::auth::SignedIn;
use crate::command::{BadLine, Command, MAX_LINE, parse, strip_terminator};
use crate::data::{DataPlan, OPEN_TIMEOUT, parse_eprt, parse_port};
use crate::listener::FtpsSettings;
use crate::reply::Reply;
use crate::stream::{Stream, Tcp};

/// Wrong passwords one connection may try before it is closed (the per-address and per-user
/// lock-out counts them too).
pub(crate) const MAX_FAILED_SIGN_INS: u32 = 3;

/// What every control connection shares.
pub struct Shared {
    /// The Service.
    pub service: Arc<Service>,
    /// How FTPS is served.
    pub settings: FtpsSettings,
    /// Connections per user.
    pub per_user: Arc<UserConnectionLimit>,
    /// Passive ports held per user.
    pub passive_per_user: Arc<Limit<UserId>>,
}

/// A control connection's state.
pub struct ControlSession {
    pub(crate) shared: Arc<Shared>,
    io: BufReader<Stream>,
    /// The client's address (IPv4-mapped addresses as IPv4).
    pub(crate) peer: IpAddr,
    pub(crate) local: SocketAddr,
    /// The TLS configuration of this connection's data connections (own session cache and
    /// ticket key, shared with the control connection's), after `AUTH TLS`.
    pub(crate) tls: Option<Arc<ServerConfig>>,
    /// The name `USER` gave, until `PASS`.
    pub(crate) user_name: Option<String>,
    pub(crate) signed_in: Option<SignedIn>,
    /// Wrong passwords on this connection (three close it).
    pub(crate) failed_sign_ins: u32,
    /// The current folder, an absolute tree path.
    pub(crate) cwd: String,
    /// `PROT P` given.
    pub(crate) protect_data: bool,
    /// The next transfer's data connection, and since when it waits (an unused passive port
    /// is given back after [`OPEN_TIMEOUT`]).
    pub(crate) plan: Option<DataPlan>,
    pub(crate) plan_since: Option<Instant>,
    pub(crate) epsv_all: bool,
    rest: u64,
    rename_from: Option<String>,
    /// The command line read so far (kept across reads, so that waking up to check the session
    /// never loses half a line).
    partial: Vec<u8>,
}

/// Why the wait for the next command line ended without one.
enum Waited {
    /// A line (`None` when it is longer than [`MAX_LINE`]).
    Line(Option<Vec<u8>>),
    /// The client closed the connection, or it failed.
    Closed,
    /// Nothing for the idle timeout.
    Idle,
    /// Not signed in in time.
    SignInTimeout,
    /// The session was ended elsewhere (password changed, user disabled, …).
    SessionEnded,
}

/// How often a connection wakes while waiting for a command: to check that its session is
/// still alive (a revoked session ends its connections within this time) and to give back a
/// passive port nobody connected to.
const WATCH_EVERY: Duration = Duration::from_secs(5);

/// What a handler answers: the final reply either way; `Err` only reads better with `?`.
pub(crate) type Outcome = Result<Reply, Reply>;

impl ControlSession {
    /// Serves one control connection until it ends.
    pub async fn run(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
        let Ok(local) = stream.local_addr() else {
            return;
        };
        let _ = stream.set_nodelay(true);
        let mut s = ControlSession {
            shared,
            io: BufReader::with_capacity(2048, Stream::Plain(stream)),
            peer: peer.ip().to_canonical(),
            local,
            tls: None,
            user_name: None,
            signed_in: None,
            failed_sign_ins: 0,
            cwd: "/".into(),
            protect_data: false,
            plan: None,
            plan_since: None,
            epsv_all: false,
            rest: 0,
            rename_from: None,
            partial: Vec::new(),
        };
        if s.send(&Reply::new(220, "Ferry FTPS ready; AUTH TLS first"))
            .await
            .is_err()
        {
            return;
        }
        s.serve().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), s.io.get_mut().shutdown()).await;
    }

    async fn serve(&mut self) {
        let sign_in_by = Instant::now() + self.shared.settings.sign_in_timeout;
        loop {
            let line = match self.next_line(sign_in_by).await {
                Waited::Line(line) => line,
                Waited::Closed => return,
                Waited::Idle => {
                    let _ = self
                        .send(&Reply::new(
                            421,
                            "Idle for too long; closing the connection",
                        ))
                        .await;
                    return;
                }
                Waited::SignInTimeout => {
                    let _ = self
                        .send(&Reply::new(
                            421,
                            "Not signed in in time; closing the connection",
                        ))
                        .await;
                    return;
                }
                Waited::SessionEnded => {
                    let _ = self
                        .send(&Reply::new(421, "Your session has ended; sign in again"))
                        .await;
                    return;
                }
            };
            let Some(line) = line else {
                let _ = self
                    .send(&Reply::new(
                        500,
                        "Command line too long; closing the connection",
                    ))
                    .await;
                return;
            };
            let reply = match parse(strip_terminator(&line)) {
                Ok(cmd) => self.dispatch(cmd).await,
                Err(BadLine(why)) => Reply::new(500, why),
            };
            if self.send(&reply).await.is_err() || reply.close {
                return;
            }
        }
    }

    /// Waits for the next command line: at most the idle timeout, and before sign-in no later
    /// than `sign_in_by` (a connection that never signs in is not held for the idle timeout).
    /// Meanwhile, every [`WATCH_EVERY`], checks the session and gives back a stale passive port.
    async fn next_line(&mut self, sign_in_by: Instant) -> Waited {
        let idle_until = Instant::now() + self.shared.settings.idle_timeout;
        loop {
            let deadline = if self.signed_in.is_some() {
                idle_until
            } else {
                idle_until.min(sign_in_by)
            };
            let wake = deadline.min(Instant::now() + WATCH_EVERY);
            tokio::select! {
                read = self.read_line() => return match read {
                    Ok(Some(line)) => Waited::Line(line),
                    Ok(None) | Err(_) => Waited::Closed,
                },
                _ = tokio::time::sleep_until(wake.into()) => {}
            }
            if Instant::now() >= deadline {
                return if self.signed_in.is_some() || deadline == idle_until {
                    Waited::Idle
                } else {
                    Waited::SignInTimeout
                };
            }
            if self.plan_since.is_some_and(|t| t.elapsed() >= OPEN_TIMEOUT) {
                self.set_plan(None);
            }
            if let Some(signed_in) = &self.signed_in {
                match self.shared.service.session_alive(&signed_in.session).await {
                    Ok(true) => {}
                    Ok(false) => return Waited::SessionEnded,
                    Err(e) => tracing::debug!(error = %e, "FTPS session watch could not check"),
                }
            }
        }
    }

    /// The next line; `Some(None)` when it is longer than [`MAX_LINE`], `None` at the end.
    /// Cancel-safe: what was read of a line stays in `partial`.
    async fn read_line(&mut self) -> io::Result<Option<Option<Vec<u8>>>> {
        let room = (MAX_LINE as u64 + 2).saturating_sub(self.partial.len() as u64);
        (&mut self.io)
            .take(room)
            .read_until(b'\n', &mut self.partial)
            .await?;
        let line = std::mem::take(&mut self.partial);
        if line.is_empty() {
            return Ok(None);
        }
        if !line.ends_with(b"\n") {
            // Either the limit was hit, or the connection ended in the middle of a line.
            return Ok(if line.len() > MAX_LINE {
                Some(None)
            } else {
                None
            });
        }
        Ok(Some(Some(line)))
    }

    /// Sends a reply on the control connection.
    pub(crate) async fn send(&mut self, reply: &Reply) -> io::Result<()> {
        let out = self.io.get_mut();
        out.write_all(reply.encode().as_bytes()).await?;
        out.flush().await
    }

    /// Sends a preliminary reply (`150`); a failure means the control connection is gone.
    pub(crate) async fn send_mark(&mut self, reply: Reply) -> Result<(), Reply> {
        self.send(&reply)
            .await
            .map_err(|_| Reply::new(421, "Control connection lost").closing())
    }

    async fn dispatch(&mut self, cmd: Command) -> Reply {
        if cmd.verb == "PASS" {
            tracing::debug!(peer = %self.peer, "FTPS PASS ****");
        } else {
            tracing::debug!(peer = %self.peer, verb = %cmd.verb, arg = %cmd.arg, "FTPS command");
        }
        // RNTO must follow RNFR, and a REST offset applies to the next command only.
        let rename_from = self.rename_from.take();
        let rest = std::mem::take(&mut self.rest);
        let arg = cmd.arg.as_str();
        match cmd.verb.as_str() {
            "AUTH" => return self.auth(arg).await,
            "USER" => return self.user(arg),
            "PASS" => return self.pass(arg).await,
            "PBSZ" if self.tls.is_some() => return Reply::new(200, "PBSZ=0"),
            "PROT" if self.tls.is_some() => return self.prot(arg),
            "PBSZ" | "PROT" => return Reply::new(503, "AUTH TLS first"),
            "CCC" => return Reply::new(534, "The control connection stays encrypted"),
            "QUIT" => return Reply::new(221, "Goodbye").closing(),
            "NOOP" => return Reply::new(200, "OK"),
            "SYST" => return Reply::new(215, "UNIX Type: L8"),
            "FEAT" => return features(),
            "OPTS" => return opts(arg),
            "HELP" => return help(),
            _ if self.signed_in.is_none() => {
                return Reply::new(530, "Sign in first: AUTH TLS, then USER and PASS");
            }
            _ => {}
        }
        let outcome = match cmd.verb.as_str() {
            "TYPE" => Ok(type_(arg)),
            "MODE" => Ok(one_of(arg, "S", "Mode S (stream) only")),
            "STRU" => Ok(one_of(arg, "F", "Structure F (file) only")),
            "ALLO" => Ok(Reply::new(202, "No storage allocation necessary")),
            "ABOR" => {
                self.set_plan(None);
                Ok(Reply::new(225, "No transfer in progress"))
            }
            "STAT" if arg.is_empty() => Ok(self.status()),
            "PASV" => self.pasv().await,
            "EPSV" => self.epsv(arg).await,
            "PORT" => self.port(parse_port(arg)),
            "EPRT" => self.port(parse_eprt(arg)),
            "REST" => match arg.trim().parse::<u64>() {
                Ok(n) => {
                    self.rest = n;
                    Ok(Reply::new(350, format!("Restarting at {n}; send RETR")))
                }
                Err(_) => Ok(Reply::new(501, "REST needs a byte offset")),
            },
            "PWD" | "XPWD" => Ok(Reply::new(
                257,
                format!("{} is the current folder", quote(&self.cwd)),
            )),
            "CWD" | "XCWD" => self.cwd(arg).await,
            "CDUP" | "XCUP" => self.cwd("..").await,
            "SIZE" => self.size(arg).await,
            "MDTM" => self.mdtm(arg).await,
            "MFMT" => self.mfmt(arg).await,
            "MLST" => self.mlst(arg).await,
            "HASH" => self.hash(arg, true).await,
            "XSHA256" => self.hash(arg, false).await,
            "DELE" => self.dele(arg).await,
            "MKD" | "XMKD" => self.mkd(arg).await,
            "RMD" | "XRMD" => self.rmd(arg).await,
            "RNFR" => self.rnfr(arg).await,
            "RNTO" => self.rnto(rename_from, arg).await,
            "SITE" => self.site(arg).await,
            "RETR" => self.retr(arg, rest).await,
            "STOR" => self.stor(arg, rest, false).await,
            "APPE" => self.stor(arg, rest, true).await,
            "LIST" | "NLST" | "MLSD" => self.list(&cmd.verb, arg).await,
            "STOU" => Ok(Reply::new(
                502,
                "Not supported: name the file with STOR (an existing name gets a new version)",
            )),
            _ => Ok(Reply::new(502, "Command not implemented")),
        };
        match outcome {
            Ok(r) | Err(r) => r,
        }
    }

    /// `AUTH TLS`: the reply in clear, then the handshake. Bytes the client sent after the
    /// command, before the handshake, would be read as if they had come over TLS (the
    /// STARTTLS command-injection attack): such a connection is closed.
    async fn auth(&mut self, arg: &str) -> Reply {
        if self.tls.is_some() {
            return Reply::new(503, "TLS is already on");
        }
        if !matches!(
            arg.trim().to_ascii_uppercase().as_str(),
            "TLS" | "TLS-C" | "SSL" | "TLS-P"
        ) {
            return Reply::new(504, "AUTH TLS only");
        }
        if self
            .send(&Reply::new(234, "AUTH TLS successful"))
            .await
            .is_err()
        {
            return Reply::none().closing();
        }
        if !self.io.buffer().is_empty() {
            tracing::warn!(peer = %self.peer, "FTPS: bytes after AUTH TLS before the handshake; connection closed");
            return Reply::new(421, "Commands sent before the TLS handshake; closing").closing();
        }
        let Stream::Plain(tcp) = std::mem::replace(self.io.get_mut(), Stream::Taken) else {
            return Reply::none().closing();
        };
        let (control, data) = connection_tls(&self.shared.settings.tls);
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(control));
        match tokio::time::timeout(
            Duration::from_secs(30),
            acceptor.accept(Tcp::handshaking(tcp)),
        )
        .await
        {
            Ok(Ok(mut tls)) => {
                tls.get_mut().0.handshake_done();
                *self.io.get_mut() = Stream::Tls(Box::new(tls));
                self.tls = Some(Arc::new(data));
                // RFC 4217: the sign-in starts over under TLS.
                self.user_name = None;
                // Nothing to send: the client speaks next.
                Reply::none()
            }
            _ => {
                tracing::debug!(peer = %self.peer, "FTPS TLS handshake failed");
                Reply::none().closing()
            }
        }
    }

    fn prot(&mut self, arg: &str) -> Reply {
        match arg.trim().to_ascii_uppercase().as_str() {
            "P" => {
                self.protect_data = true;
                Reply::new(200, "Data connections will be protected")
            }
            "C" if self.shared.settings.allow_plain_data => {
                self.protect_data = false;
                Reply::new(200, "Data connections will be in clear")
            }
            "C" => Reply::new(536, "Data connections must be protected: PROT P"),
            _ => Reply::new(504, "PROT P only"),
        }
    }

    fn status(&self) -> Reply {
        let who = self
            .signed_in
            .as_ref()
            .map(|s| s.name.as_str())
            .unwrap_or("-");
        Reply::multi(
            211,
            "Ferry FTPS status",
            &[
                format!("Signed in as {who}"),
                format!("Current folder {}", self.cwd),
                format!(
                    "Data connections {}",
                    if self.protect_data {
                        "protected"
                    } else {
                        "in clear"
                    }
                ),
            ],
            "End of status",
        )
    }

    /// Remembers `RNFR`'s path for the `RNTO` that must follow.
    pub(crate) fn set_rename_from(&mut self, path: String) {
        self.rename_from = Some(path);
    }

    /// The session of the signed-in user, checked now (a revoked session ends the connection).
    pub(crate) async fn ctx(&self) -> Result<SessionContext, Reply> {
        let Some(signed_in) = &self.signed_in else {
            return Err(Reply::new(530, "Sign in first"));
        };
        let caller = ferry_core::Caller {
            ip: Some(self.peer),
            client_version: None,
        };
        self.shared
            .service
            .authenticate_key(&signed_in.session, &caller)
            .await
            .map_err(|e| Reply::from_error(&e))
    }

    /// `arg` as an absolute tree path, against the current folder.
    pub(crate) fn path(&self, arg: &str) -> Result<String, Reply> {
        let joined = if arg.starts_with('/') {
            arg.to_string()
        } else if arg.is_empty() {
            self.cwd.clone()
        } else {
            format!("{}/{arg}", self.cwd.trim_end_matches('/'))
        };
        let names = path_names(&joined).map_err(|e| Reply::from_error(&e))?;
        Ok(format!("/{}", names.join("/")))
    }
}

/// The TLS configurations of one control connection and of its data connections: the shared
/// certificate, with a session cache and a ticket key of their own, so only this connection's
/// client can resume its sessions on data connections (see `data.rs`).
///
/// Data connections send no TLS 1.3 session tickets: a client that only writes (an upload)
/// never reads them, and closing a socket with unread bytes makes the kernel send a reset,
/// which can overtake the last bytes of the upload. The control connection's ticket is
/// reusable (stateless), so every data connection resumes with it.
fn connection_tls(base: &Arc<ServerConfig>) -> (ServerConfig, ServerConfig) {
    let mut control = ServerConfig::clone(base);
    control.session_storage = ServerSessionMemoryCache::new(32);
    match rustls::crypto::aws_lc_rs::Ticketer::new() {
        Ok(ticketer) => control.ticketer = ticketer,
        Err(e) => tracing::warn!(error = %e, "FTPS: no TLS ticket key; stateful resumption only"),
    }
    let mut data = control.clone();
    data.send_tls13_tickets = 0;
    (control, data)
}

/// A path in a 257 reply: quoted, with quotes inside doubled (RFC 959).
pub(crate) fn quote(path: &str) -> String {
    format!("\"{}\"", path.replace('"', "\"\""))
}

fn features() -> Reply {
    let lines: Vec<String> = [
        "AUTH TLS",
        "PBSZ",
        "PROT",
        "EPSV",
        "EPRT",
        "PASV",
        "SIZE",
        "MDTM",
        "MFMT",
        "REST STREAM",
        "MLST type*;size*;modify*;perm*;unique*;",
        "HASH SHA-256*",
        "UTF8",
        "TVFS",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    Reply::multi(211, "Features:", &lines, "End")
}

fn opts(arg: &str) -> Reply {
    let upper = arg.trim().to_ascii_uppercase();
    let (option, value) = upper.split_once(' ').unwrap_or((upper.as_str(), ""));
    match (option, value.trim()) {
        ("UTF8", "ON" | "") => Reply::new(200, "UTF-8 is always on"),
        ("HASH", "" | "SHA-256") => Reply::new(200, "SHA-256"),
        ("HASH", _) => Reply::new(501, "SHA-256 is the only hash"),
        ("MLST", _) => Reply::new(200, "MLST OPTS type;size;modify;perm;unique;"),
        _ => Reply::new(501, "Unknown option"),
    }
}

fn help() -> Reply {
    Reply::multi(
        214,
        "Commands:",
        &[
            "AUTH PBSZ PROT USER PASS QUIT NOOP SYST FEAT OPTS HELP STAT".into(),
            "PWD CWD CDUP TYPE MODE STRU ALLO ABOR PASV EPSV PORT EPRT REST".into(),
            "LIST NLST MLSD MLST SIZE MDTM MFMT HASH XSHA256 RETR STOR DELE MKD RMD RNFR RNTO"
                .into(),
            "APPE SITE CHMOD".into(),
        ],
        "End",
    )
}

fn type_(arg: &str) -> Reply {
    match arg.trim().to_ascii_uppercase().as_str() {
        // ASCII is accepted and transfers are binary, as with vsftpd's defaults: rewriting
        // line ends would change the SHA-256 a file is checked by.
        "A" | "A N" => Reply::new(200, "Type set to A (transfers are binary)"),
        "I" | "L 8" => Reply::new(200, "Type set to I"),
        _ => Reply::new(504, "Type A or I only"),
    }
}

fn one_of(arg: &str, only: &str, text: &str) -> Reply {
    if arg.trim().eq_ignore_ascii_case(only) {
        Reply::new(200, "OK")
    } else {
        Reply::new(504, text)
    }
}
