//! Opening sessions: `Open`, `OpenImmutable`, `OpenImmutableImpersonate` and
//! `OpenImmutableUserString` of spec 2.3.2 (the ticket sign-ins are in `tickets.rs`).
//!
//! The session rules (DESIGN.md §2):
//! - a non-immutable sign-in replaces the user's previous non-immutable session for the same
//!   application; other applications' sessions live on;
//! - immutable sessions are never replaced; they expire `immutable_session_ttl_ms` after
//!   creation or are closed;
//! - for the SFTP and FTPS application IDs, an immutable sign-in hands back the immutable
//!   session the user already has (for the same impersonator and external user, so audit
//!   attribution never mixes) instead of making another.

use std::net::IpAddr;
use std::sync::Arc;

use super::hash_slots::HashTicket;
use super::lockout::LockoutKey;
use super::recheck::signin_gone_stale;
use super::second_factor::{FactorCheck, passcode_shaped};
use super::signin_requests::{ImpersonateRequest, OpenMode, OpenRequest};
use super::{Caller, Service, SessionContext, optional_text};
use crate::connection_limit::{ConnectionPermit, UserConnectionLimit};
use crate::domain::{
    Application, AuditEntry, OpenedSession, Operation, Outcome, Session, SessionData, SessionId,
    User, UserId, application,
};
use crate::error::{Error, Result};
use crate::text;

/// What a public sign-in answers: the ID of the session it made. Only Ferry's own SFTP and
/// FTPS front ends are handed back a session they already have (known by its key alone), and
/// the public API and the web client may not sign in to their applications.
pub(super) fn handed_out(opened: OpenedSession) -> Result<SessionData> {
    match opened.id {
        Some(session_id) => Ok(SessionData {
            session_id,
            user_id: opened.user_id,
        }),
        None => Err(Error::Internal(
            "a public sign-in was handed back a session it cannot name".into(),
        )),
    }
}

/// How long a successful sign-in makes its address "known" for the account.
pub(super) const KNOWN_ADDRESS_MS: i64 = 180 * 24 * 3600 * 1000;

/// Which front end a password sign-in comes through.
#[derive(Clone, Copy)]
enum SignInFront<'a> {
    /// The public API (`Open`, `OpenImmutable`): client applications only.
    Public,
    /// The web client's sign-in page: its own reserved application.
    Web,
    /// A file protocol that counts each user's connections in this limit.
    Counted(&'a Arc<UserConnectionLimit>),
}

/// Who a new session is for and how it came about.
pub(super) struct NewSession<'a> {
    pub(super) user: &'a User,
    pub(super) app: &'a Application,
    pub(super) mode: OpenMode,
    pub(super) client_version: Option<String>,
    /// Where the sign-in request came from.
    pub(super) client_ip: Option<String>,
    /// The impersonated user's workstation, as the service declared it (impersonation only);
    /// the session keeps it as its address.
    pub(super) declared_ip: Option<String>,
    /// The session that impersonates the user, if any: checked again as the session opens.
    pub(super) impersonator: Option<&'a SessionContext>,
    pub(super) external_user: Option<String>,
    /// Lock-out keys to clear on success.
    pub(super) clear_keys: Vec<LockoutKey>,
    /// How the user proved who they are, when not by password (for the audit detail).
    pub(super) proof: Option<String>,
    /// The SSH key that opened an SFTP session (its fingerprint).
    pub(super) ssh_key: Option<String>,
    /// Whether the user proved who they are from `client_ip` (a password or a key): the
    /// address becomes known for the account.
    pub(super) remember_address: bool,
}

impl NewSession<'_> {
    /// The impersonating user, if any.
    pub(super) fn impersonator_id(&self) -> Option<UserId> {
        self.impersonator.map(|ctx| ctx.user.id)
    }
}

impl Service {
    /// `Open` and `OpenImmutable`: a sign-in with user name and password.
    pub async fn open(&self, req: OpenRequest, caller: &Caller) -> Result<SessionData> {
        handed_out(
            self.open_admitted(req, caller, SignInFront::Public)
                .await?
                .0,
        )
    }

    /// A sign-in at the web client's page: a password sign-in to the reserved
    /// [`application::WEB_CLIENT`], with the lock-out every protocol shares. The session is
    /// immutable (a second browser does not sign the first out) and ends when idle for
    /// [`super::ServiceConfig::web_idle_ms`]; `caller`'s client version (the browser's user
    /// agent) is recorded with it.
    pub async fn open_web(
        &self,
        user_name: String,
        password: String,
        passcode: Option<String>,
        caller: &Caller,
    ) -> Result<SessionData> {
        let req = OpenRequest {
            user_name,
            password,
            application_id: application::WEB_CLIENT,
            client_version: None,
            mode: OpenMode::Immutable,
            passcode,
            user_string: None,
            passcode_appended: false,
        };
        handed_out(self.open_admitted(req, caller, SignInFront::Web).await?.0)
    }

    /// [`Service::open`] for a file protocol that caps how many connections one user holds:
    /// once the password is right, the connection takes its place in `limit`, given back when
    /// the permit is dropped. A user with no place left is refused with
    /// [`Error::BadCredentials`], like a wrong password, so that the answer never tells a
    /// guesser the password was right; the audit records the reason, no session is started,
    /// and the lock-out does not count it.
    pub async fn open_counted(
        &self,
        req: OpenRequest,
        caller: &Caller,
        limit: &Arc<UserConnectionLimit>,
    ) -> Result<(OpenedSession, ConnectionPermit)> {
        match self
            .open_admitted(req, caller, SignInFront::Counted(limit))
            .await?
        {
            (data, Some(permit)) => Ok((data, permit)),
            (_, None) => Err(Error::Internal(
                "a counted sign-in came without a permit".into(),
            )),
        }
    }

    /// A password sign-in through `front`, admitted in its connection limit when it has one.
    async fn open_admitted(
        &self,
        req: OpenRequest,
        caller: &Caller,
        front: SignInFront<'_>,
    ) -> Result<(OpenedSession, Option<ConnectionPermit>)> {
        let limit = match front {
            SignInFront::Counted(limit) => Some(limit),
            SignInFront::Public | SignInFront::Web => None,
        };
        // The public API may not name a reserved application; the web client names only its
        // own.
        let reserved_ok = match front {
            SignInFront::Public => false,
            SignInFront::Web => req.application_id == application::WEB_CLIENT,
            SignInFront::Counted(_) => true,
        };
        text::required("userName", &req.user_name, text::MAX_USER_NAME)?;
        text::presented_password("password", &req.password)?;
        let client_version = optional_text(
            "clientVersion",
            req.client_version
                .clone()
                .or_else(|| caller.client_version.clone()),
            text::MAX_CLIENT_VERSION,
        )?;
        let user_string =
            optional_text("userString", req.user_string.clone(), text::MAX_USER_STRING)?;
        let failure = |detail: &str| {
            let mut e = AuditEntry::new(Operation::SignInFailed, Outcome::Failure);
            e.application_id = Some(req.application_id);
            e.client_version = client_version.clone();
            e.client_ip = caller.ip_text();
            e.path = Some(req.user_name.clone());
            e.detail = Some(detail.to_string());
            e
        };

        let app = match self
            .signin_application(req.application_id, !reserved_ok)
            .await?
        {
            Ok(app) => app,
            Err(why) => {
                self.audit_alone(failure(why)).await?;
                return Err(Error::UnknownApplication);
            }
        };

        let keys = self.config.lockout.keys(&req.user_name, caller.ip);
        let user = self.store.user_by_name(&req.user_name).await?;
        let known = self.known_address(user.as_ref(), caller.ip).await?;
        self.refuse_if_locked(&keys, known, caller.ip, || failure("locked out"))
            .await?;

        let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let password = req.password.clone();
        let split: Option<(String, String)> = req
            .password
            .rsplit_once('+')
            .filter(|(p, code)| req.passcode_appended && !p.is_empty() && passcode_shaped(code))
            .map(|(p, code)| (p.to_string(), code.to_string()));
        let ticket = HashTicket::signin(user.as_ref().map(|u| u.id), caller.ip, known);
        // Held until a failure is recorded, so the next attempt in the slot counts it.
        let slot = self
            .signin_slot(ticket, &keys, known, caller.ip, || failure("locked out"))
            .await?;
        // `Some(passcode found in the text, if any)` when a password matched. An unknown user
        // costs as many hashes as a known one would (one more when the text has a tail).
        let matched: Option<Option<String>> = self
            .hash_in(&slot, move |h| match stored_hash {
                Some(hash) => match split {
                    Some((before, code)) if h.verify(&before, &hash) => Some(Some(code)),
                    _ => h.verify(&password, &hash).then_some(None),
                },
                None => {
                    if let Some((before, _)) = &split {
                        let _ = h.verify_decoy(before);
                    }
                    h.verify_decoy(&password);
                    None
                }
            })
            .await?;
        let password_ok = matched.is_some();
        let passcode = matched.flatten().or_else(|| req.passcode.clone());

        let user = match user {
            Some(u) if password_ok && u.active && !u.deleted => u,
            other => {
                let mut entry = failure(match &other {
                    None => "unknown user",
                    Some(_) if !password_ok => "wrong password",
                    Some(_) => "disabled user",
                });
                entry.user_id = other.map(|u| u.id);
                self.record_failed_signin(&keys, entry).await?;
                return Err(Error::BadCredentials);
            }
        };

        let web = matches!(front, SignInFront::Web);
        let proof = match self
            .check_second_factor(&user, passcode.as_deref(), web)
            .await?
        {
            FactorCheck::Passed(proof) => proof,
            FactorCheck::Refused(error, why) => {
                let mut entry = failure(why);
                entry.user_id = Some(user.id);
                self.record_failed_signin(&keys, entry).await?;
                return Err(error);
            }
        };
        drop(slot);

        let permit = match limit {
            Some(limit) => Some(self.admit(limit, &user, failure).await?),
            None => None,
        };
        let clear_keys = keys
            .into_iter()
            .filter(LockoutKey::cleared_by_success)
            .collect();
        let data = self
            .start_session(NewSession {
                user: &user,
                app: &app,
                mode: req.mode,
                client_version,
                client_ip: caller.ip_text(),
                declared_ip: None,
                impersonator: None,
                external_user: user_string,
                clear_keys,
                proof: proof.map(str::to_string),
                ssh_key: None,
                remember_address: true,
            })
            .await?;
        Ok((data, permit))
    }

    /// The connection's place in `limit` for `user`, whose credentials were right; a user with
    /// no place left is refused as [`Error::BadCredentials`] (see [`Service::open_counted`]),
    /// audited with `failure` and the reason.
    pub(super) async fn admit(
        &self,
        limit: &Arc<UserConnectionLimit>,
        user: &User,
        failure: impl FnOnce(&str) -> AuditEntry,
    ) -> Result<ConnectionPermit> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let max = limit.max() as i64;
        let counted = self
            .store
            .count_connection(&id, user.id, limit.protocol(), &self.holder, max)
            .await?;
        if counted {
            return Ok(ConnectionPermit::new(Arc::clone(&self.store), id));
        }
        tracing::warn!(
            user = user.name,
            max = limit.max(),
            "sign-in refused: the user holds every connection allowed"
        );
        let mut entry = failure(&format!(
            "too many connections: the user already holds {}",
            limit.max()
        ));
        entry.user_id = Some(user.id);
        self.audit_alone(entry).await?;
        Err(Error::BadCredentials)
    }

    /// `OpenImmutableImpersonate` (no `user_string`) and `OpenImmutableUserString`.
    pub async fn open_impersonated(
        &self,
        req: ImpersonateRequest,
        caller: &Caller,
    ) -> Result<SessionData> {
        let ip: IpAddr = req
            .ip_address
            .trim()
            .parse()
            .map_err(|_| Error::invalid("ipAddress is not an IPv4 or IPv6 address"))?;
        let user_string = optional_text("userString", req.user_string, text::MAX_USER_STRING)?;
        let service = self.authenticate(&req.service_session_id, caller).await?;

        let refuse = |detail: &str| {
            let mut e = AuditEntry::new(Operation::ImpersonationRefused, Outcome::Failure);
            service.stamp(&mut e);
            e.target_user_id = Some(req.user_id);
            e.detail = Some(detail.to_string());
            e
        };
        if !service.user.role.may_impersonate() {
            self.audit_alone(refuse("service user lacks the impersonation privilege"))
                .await?;
            return Err(Error::NotPermitted(
                "impersonation needs an Administrator or System session",
            ));
        }
        // An impersonated session never impersonates again: every record of an
        // impersonated session names the one human (or service) who started it.
        if let Some(original) = service.session.impersonator_id {
            self.audit_alone(refuse(&format!(
                "the service session is itself impersonated (by user {original})"
            )))
            .await?;
            return Err(Error::NotPermitted(
                "an impersonated session cannot impersonate",
            ));
        }
        let app = match self.client_application(req.application_id).await? {
            Ok(app) => app,
            Err(why) => {
                self.audit_alone(refuse(why)).await?;
                return Err(Error::UnknownApplication);
            }
        };
        let target = match self.store.user_by_id(req.user_id).await? {
            Some(u) if !u.deleted => u,
            _ => {
                self.audit_alone(refuse("no such user")).await?;
                return Err(Error::UserNotFound);
            }
        };
        // Nobody becomes more than they are: System is above Administrator.
        if target.role > service.user.role {
            self.audit_alone(refuse(&format!(
                "the target's role ({}) is above the service user's ({})",
                target.role.name(),
                service.user.role.name()
            )))
            .await?;
            return Err(Error::NotPermitted(
                "a user may not impersonate a user of a higher role",
            ));
        }
        if !target.active {
            self.audit_alone(refuse("user disabled")).await?;
            return Err(Error::UserInactive);
        }

        self.start_session(NewSession {
            user: &target,
            app: &app,
            mode: OpenMode::Immutable,
            client_version: service.session.client_version.clone(),
            client_ip: caller.ip_text(),
            declared_ip: Some(ip.to_canonical().to_string()),
            impersonator: Some(&service),
            external_user: user_string,
            clear_keys: Vec::new(),
            proof: None,
            ssh_key: None,
            remember_address: false,
        })
        .await
        .and_then(handed_out)
    }

    /// Creates (or, for SFTP/FTPS immutable sign-ins, reuses) a session, in one change with
    /// the replaced sessions' removal and the audit records.
    pub(super) async fn start_session(&self, new: NewSession<'_>) -> Result<OpenedSession> {
        let mut tx = self.store.begin().await?;
        let now = self.clock.now();
        if let Some((why, error)) = signin_gone_stale(&mut tx, &new).await? {
            drop(tx);
            let mut e = AuditEntry::new(Operation::SignInFailed, Outcome::Failure);
            e.user_id = Some(new.user.id);
            e.impersonator_id = new.impersonator_id();
            e.application_id = Some(new.app.id);
            e.client_version = new.client_version.clone();
            e.client_ip = new.client_ip.clone();
            e.path = Some(new.user.name.clone());
            e.detail = Some(why.into());
            self.audit_alone(e).await?;
            return Err(error);
        }
        let mut signin = AuditEntry::new(Operation::SignIn, Outcome::Success);
        signin.user_id = Some(new.user.id);
        signin.impersonator_id = new.impersonator_id();
        signin.application_id = Some(new.app.id);
        signin.client_version = new.client_version.clone();
        signin.client_ip = new.client_ip.clone();
        signin.declared_ip = new.declared_ip.clone();
        signin.external_user = new.external_user.clone();

        if new.mode == OpenMode::Immutable && application::reuses_immutable_sessions(new.app.id) {
            let existing = tx
                .immutable_sessions(new.user.id, new.app.id)
                .await?
                .into_iter()
                .find(|s| {
                    s.impersonator_id == new.impersonator_id()
                        && s.external_user == new.external_user
                        && s.ssh_key == new.ssh_key
                        && s.expires_at.is_none_or(|t| t > now)
                });
            if let Some(s) = existing {
                signin.session_tag = Some(s.key.tag());
                signin.detail = Some("existing immutable session returned".into());
                tx.append_audit(now, signin).await?;
                Self::after_proof(&mut tx, &new, now).await?;
                tx.commit().await?;
                return Ok(OpenedSession {
                    id: None,
                    key: s.key,
                    user_id: new.user.id,
                });
            }
        }

        if new.mode == OpenMode::Replace {
            for old in tx.replaceable_sessions(new.user.id, new.app.id).await? {
                tx.delete_session(&old.key).await?;
                let mut e = AuditEntry::new(Operation::SessionReplaced, Outcome::Success);
                e.user_id = Some(old.user_id);
                e.application_id = Some(old.application_id);
                e.session_tag = Some(old.key.tag());
                e.client_ip = new.client_ip.clone();
                tx.append_audit(now, e).await?;
            }
        }

        let id = SessionId::generate();
        let session = Session {
            key: id.key(),
            user_id: new.user.id,
            application_id: new.app.id,
            immutable: new.mode == OpenMode::Immutable,
            created_at: now,
            last_used_at: now,
            expires_at: if new.app.id == application::WEB_CLIENT {
                Some(self.config.web_expiry(now, now))
            } else {
                (new.mode == OpenMode::Immutable)
                    .then(|| now.plus_millis(self.config.immutable_session_ttl_ms))
            },
            client_version: new.client_version.clone(),
            client_ip: new.declared_ip.clone().or_else(|| new.client_ip.clone()),
            impersonator_id: new.impersonator_id(),
            impersonator_application_id: new.impersonator.map(|ctx| ctx.session.application_id),
            external_user: new.external_user.clone(),
            ssh_key: new.ssh_key.clone(),
        };
        if session.immutable {
            self.make_room_for_session(&mut tx, new.user.id, now)
                .await?;
        }
        tx.insert_session(&session).await?;
        signin.session_tag = Some(session.key.tag());
        signin.detail = match (&new.proof, new.mode) {
            (Some(proof), OpenMode::Immutable) => Some(format!("{proof}; immutable")),
            (Some(proof), OpenMode::Replace) => Some(proof.clone()),
            (None, OpenMode::Immutable) => Some("immutable".into()),
            (None, OpenMode::Replace) => None,
        };
        tx.append_audit(now, signin).await?;
        Self::after_proof(&mut tx, &new, now).await?;
        tx.commit().await?;
        tracing::info!(user_id = new.user.id, application_id = new.app.id, session = %session.key.tag(), immutable = session.immutable, "session opened");
        Ok(OpenedSession {
            id: Some(id),
            key: session.key,
            user_id: new.user.id,
        })
    }

    /// What a successful sign-in changes besides the session: the account's failure counts
    /// are cleared and, when the user proved who they are from an address, the address is
    /// remembered as known for the account.
    async fn after_proof(
        tx: &mut Box<dyn crate::store::StoreTx>,
        new: &NewSession<'_>,
        now: crate::clock::Timestamp,
    ) -> Result<()> {
        for k in &new.clear_keys {
            tx.clear_lockout(&k.key).await?;
        }
        if new.remember_address
            && let Some(ip) = &new.client_ip
        {
            // As the address lock-out counts it: an IPv6 address as its /64, so that the
            // owner's next temporary address (RFC 8981: a new one each day) is known too.
            let known = match ip.parse::<std::net::IpAddr>() {
                Ok(ip) => super::lockout::network_text(ip),
                Err(_) => ip.clone(),
            };
            tx.record_signin_address(new.user.id, &known, now).await?;
        }
        Ok(())
    }

    /// Counts a failed sign-in under every key and audits it, in one change.
    pub(super) async fn record_failed_signin(
        &self,
        keys: &[LockoutKey],
        entry: AuditEntry,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let now = self.clock.now();
        for k in keys {
            let previous = tx.lockout(&k.key).await?;
            let state = self
                .config
                .lockout
                .after_failure(previous, k.threshold, now);
            tx.put_lockout(&k.key, &state).await?;
        }
        tx.append_audit(now, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes one audit record in a change of its own (for refusals that change nothing else).
    pub(crate) async fn audit_alone(&self, entry: AuditEntry) -> Result<()> {
        Ok(self
            .store
            .append_audit_alone(self.clock.now(), entry)
            .await?)
    }
}
