//! What closes an SSH connection from outside its own request loop: a watcher that ends it
//! when it has not signed in in time or its session has ended elsewhere (a password or role
//! change, a disabled user, a removed key, `Close` on another node), and a second handle on
//! its socket to shut it down whatever state the SSH session is in.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_core::Service;
use ferry_core::domain::SessionKey;
use tokio::net::TcpStream;

/// How often a signed-in connection checks that its session is still alive while idle: a
/// session ended by a password change, a role change, a disabled user or a removed key ends
/// its connections within this time.
const SESSION_WATCH: Duration = Duration::from_secs(5);

/// The stream, and a duplicate of its socket that can shut it down from outside.
pub(crate) fn with_closer(stream: TcpStream) -> std::io::Result<(TcpStream, std::net::TcpStream)> {
    let std_stream = stream.into_std()?;
    let closer = std_stream.try_clone()?;
    Ok((TcpStream::from_std(std_stream)?, closer))
}

/// The session a connection signed in to, once it has (shared with its watcher).
pub(crate) type SignedInAs = Arc<Mutex<Option<SessionKey>>>;

/// Ends when the connection must be closed, saying why: it has not signed in within
/// `sign_in_timeout`, or the session it signed in to has ended (checked every
/// [`SESSION_WATCH`], without counting as a use of the session).
pub(crate) async fn watch_session(
    service: Arc<Service>,
    signed_in: SignedInAs,
    sign_in_timeout: Duration,
) -> &'static str {
    let deadline = tokio::time::Instant::now() + sign_in_timeout;
    loop {
        tokio::time::sleep(SESSION_WATCH.min(sign_in_timeout)).await;
        let session = *signed_in.lock().expect("signed-in lock");
        match session {
            None if tokio::time::Instant::now() >= deadline => return "not signed in in time",
            None => {}
            Some(id) => match service.session_alive(&id).await {
                Ok(true) => {}
                Ok(false) => return "the session has ended",
                // The store is out of reach: the requests will say so; keep the connection.
                Err(e) => tracing::debug!(error = %e, "SFTP session watch could not check"),
            },
        }
    }
}
