//! Sign-in for FTPS: `USER`/`PASS` become an `OpenImmutable` for application 3 through the
//! Service, so the lock-out shared by every protocol applies and a user's FTPS connections
//! share one immutable session (spec 2.3.2.4). libunftp hands the authenticator's answer to
//! the user-detail provider by name only, so the session ID waits in a small map between the
//! two calls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ferry_core::connection_limit::{ConnectionPermit, UserConnectionLimit};
use ferry_core::domain::{SessionId, UserId, application};
use ferry_core::service::{OpenMode, OpenRequest};
use ferry_core::{Caller, Error, Service};
use unftp_core::auth::{
    AuthenticationError, Authenticator, ChannelEncryptionState, Credentials, Principal, UserDetail,
    UserDetailError, UserDetailProvider,
};

/// The signed-in user of one FTPS connection.
#[derive(Debug, Clone)]
pub struct FtpsUser {
    /// The immutable FTPS session the connection acts in.
    pub session: SessionId,
    /// The login name, for libunftp's logs.
    pub name: String,
}

impl std::fmt::Display for FtpsUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl UserDetail for FtpsUser {}

/// Sessions opened by the authenticator, by login name as typed, for the user-detail provider.
/// Entries are kept (one per name, overwritten at each sign-in): two connections of one user
/// signing in at once both find theirs, and it is the same immutable session anyway.
#[derive(Debug, Default)]
struct Pending(Mutex<HashMap<String, SessionId>>);

/// The authenticator: passwords checked by the Service.
pub struct FerryAuthenticator {
    service: Arc<Service>,
    pending: Arc<Pending>,
}

/// One control connection's authenticator: the shared one, plus the connection's place in its
/// user's connection count, held until the connection ends (this value is dropped with it).
pub struct ConnectionAuthenticator {
    shared: Arc<FerryAuthenticator>,
    limit: Arc<UserConnectionLimit>,
    permit: Mutex<Option<ConnectionPermit>>,
}

impl ConnectionAuthenticator {
    /// An authenticator for one new connection.
    pub fn new(shared: Arc<FerryAuthenticator>, limit: Arc<UserConnectionLimit>) -> Self {
        ConnectionAuthenticator {
            shared,
            limit,
            permit: Mutex::new(None),
        }
    }
}

impl std::fmt::Debug for ConnectionAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionAuthenticator")
    }
}

#[async_trait]
impl Authenticator for ConnectionAuthenticator {
    async fn authenticate(
        &self,
        username: &str,
        creds: &Credentials,
    ) -> Result<Principal, AuthenticationError> {
        let (principal, user) = self.shared.sign_in(username, creds).await?;
        let mut held = self.permit.lock().expect("permit lock");
        // A second sign-in on the same connection gives the first one's place back.
        held.take();
        match self.limit.admit(user) {
            Some(permit) => {
                *held = Some(permit);
                Ok(principal)
            }
            None => {
                tracing::warn!(
                    user,
                    max = self.limit.max(),
                    "FTPS sign-in refused: too many connections for this user"
                );
                Err(AuthenticationError::new(format!(
                    "this user already has {} FTPS connections open",
                    self.limit.max()
                )))
            }
        }
    }
}

impl std::fmt::Debug for FerryAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FerryAuthenticator")
    }
}

/// Builds the authenticator and the provider that share its pending sessions.
pub fn authenticator(service: Arc<Service>) -> (Arc<FerryAuthenticator>, Arc<FerryUserProvider>) {
    let pending = Arc::new(Pending::default());
    (
        Arc::new(FerryAuthenticator {
            service,
            pending: Arc::clone(&pending),
        }),
        Arc::new(FerryUserProvider { pending }),
    )
}

impl FerryAuthenticator {
    /// Checks the password through the Service; the principal and the user's ID.
    async fn sign_in(
        &self,
        username: &str,
        creds: &Credentials,
    ) -> Result<(Principal, UserId), AuthenticationError> {
        // Never a password over a plaintext channel, whatever libunftp was told.
        if creds.command_channel_security != ChannelEncryptionState::Tls {
            return Err(AuthenticationError::new("sign-in requires AUTH TLS"));
        }
        let Some(password) = creds.password.clone() else {
            return Err(AuthenticationError::BadPassword);
        };
        let req = OpenRequest {
            user_name: username.to_string(),
            password,
            application_id: application::FTPS,
            client_version: Some("FTPS".into()),
            mode: OpenMode::Immutable,
        };
        let caller = Caller {
            ip: Some(creds.source_ip),
            client_version: None,
        };
        match self.service.open(req, &caller).await {
            Ok(data) => {
                self.pending
                    .0
                    .lock()
                    .expect("pending sessions lock")
                    .insert(username.to_string(), data.session_id);
                Ok((
                    Principal {
                        username: username.to_string(),
                    },
                    data.user_id,
                ))
            }
            Err(Error::BadCredentials) | Err(Error::LockedOut { .. }) => {
                Err(AuthenticationError::BadPassword)
            }
            Err(e) => Err(AuthenticationError::new(format!("sign-in failed: {e}"))),
        }
    }
}

/// Turns the authenticated name into the connection's [`FtpsUser`].
#[derive(Debug)]
pub struct FerryUserProvider {
    pending: Arc<Pending>,
}

#[async_trait]
impl UserDetailProvider for FerryUserProvider {
    type User = FtpsUser;

    async fn provide_user_detail(
        &self,
        principal: &Principal,
    ) -> Result<FtpsUser, UserDetailError> {
        let session = self
            .pending
            .0
            .lock()
            .expect("pending sessions lock")
            .get(&principal.username)
            .cloned()
            .ok_or_else(|| UserDetailError::UserNotFound {
                username: principal.username.clone(),
            })?;
        Ok(FtpsUser {
            session,
            name: principal.username.clone(),
        })
    }
}
