//! Single sign-on by ticket: `OpenWithTicket`, `OpenImmutableWithTicket` and
//! `OpenWithTicketEx` (spec 2.3.2.2–2.3.2.3, DESIGN.md §4, docs/sso-tickets.md).
//!
//! A ticket proves that the integrator's portal, which knows the shared password, vouched for
//! a user a moment ago. Every way a ticket can fail (encoding, seal, XML, site, time window,
//! unknown or disabled user) answers the same [`Error::TicketRefused`]; the reason goes to the
//! log and the audit only, so a caller cannot probe which check failed.
//!
//! The portal is trusted to name its own users, not every account: by default a ticket never
//! opens an Administrator's or System user's account, nor one with a local password
//! ([`TicketSettings::admit_privileged`], [`TicketSettings::admit_password_accounts`]). The
//! audit records which ticket user asked for which account.

use std::sync::Arc;

use ferry_crypto::TicketKey;

use super::address_gate::AddressTurn;
use super::signin::NewSession;
use super::{Caller, OpenMode, Service, optional_text};
use crate::clock::Timestamp;
use crate::domain::{
    Application, AuditEntry, NewUser, Operation, Outcome, Role, SessionData, User,
};
use crate::error::{Error, Result};
use crate::text;
use crate::ticket::TicketClaims;

/// What ticket sign-in needs: the site's name and the key derived from the shared password.
#[derive(Debug)]
pub struct TicketSettings {
    /// The site name tickets must carry (compared case-insensitively, like host names).
    pub site_name: String,
    /// The sealing key, derived once from the shared password.
    pub key: TicketKey,
    /// How old a ticket may be.
    pub max_age_ms: i64,
    /// How far in the future a ticket's time may lie (the portal's clock may run ahead).
    pub max_skew_ms: i64,
    /// Whether a ticket may open an Administrator's or a System user's account (default no:
    /// the portal is trusted to name its own users, not Ferry's administrators).
    pub admit_privileged: bool,
    /// Whether a ticket may open an account that has a local password (default no: such an
    /// account belongs to someone who signs in by password, not to the portal).
    pub admit_password_accounts: bool,
    /// Whether a ticket opens one session only (default no: the spec lets a portal use a
    /// ticket until it expires). With it, a ticket read from a log, a proxy or a browser's
    /// history after its sign-in is worthless, which matters most for `OpenWithTicketEx`,
    /// where a ticket opens the account of whatever e-mail address comes with it.
    pub single_use: bool,
}

impl TicketSettings {
    /// Default age limit: five minutes.
    pub const DEFAULT_MAX_AGE_MS: i64 = 5 * 60 * 1000;
    /// Default clock-skew allowance: one minute.
    pub const DEFAULT_MAX_SKEW_MS: i64 = 60 * 1000;

    /// Why a ticket may not open `user`'s account, if it may not.
    fn refusal_for(&self, user: &User) -> Option<&'static str> {
        if !self.admit_privileged && user.role >= Role::Administrator {
            return Some("tickets do not open Administrator or System accounts");
        }
        if !self.admit_password_accounts && user.password_hash.is_some() {
            return Some("tickets do not open accounts that have a local password");
        }
        None
    }

    /// Seals a ticket for `username` dated `at` (for `ferry ticket issue` and tests).
    pub fn issue(&self, username: &str, at: Timestamp) -> Result<String> {
        let claims = TicketClaims {
            issued_at: at,
            site_name: self.site_name.clone(),
            username: username.trim().to_string(),
        };
        // What the server would refuse, it does not issue.
        TicketClaims::parse(claims.to_xml().as_bytes())
            .map_err(|e| Error::invalid(format!("user: {e}")))?;
        self.key
            .seal(claims.to_xml().as_bytes())
            .map_err(|e| Error::invalid(format!("cannot issue this ticket: {e}")))
    }

    /// Opens and checks a ticket at time `now`; the error is the reason, for the log.
    pub fn verify(
        &self,
        sealed: &str,
        now: Timestamp,
    ) -> std::result::Result<TicketClaims, String> {
        let plaintext = self.key.open(sealed).map_err(|e| e.to_string())?;
        let claims = TicketClaims::parse(&plaintext).map_err(|e| e.to_string())?;
        if !claims.site_name.eq_ignore_ascii_case(&self.site_name) {
            return Err("ticket is for another site".into());
        }
        let age = now.0 - claims.issued_at.0;
        if age > self.max_age_ms {
            return Err(format!("ticket expired ({} s old)", age / 1000));
        }
        if -age > self.max_skew_ms {
            return Err(format!("ticket dated {} s in the future", -age / 1000));
        }
        Ok(claims)
    }
}

/// `OpenWithTicket(ticket, applicationID, clientVersion?)` and its immutable twin.
#[derive(Clone)]
pub struct TicketRequest {
    /// The sealed ticket.
    pub ticket: String,
    /// `applicationID`.
    pub application_id: i64,
    /// `clientVersion`.
    pub client_version: Option<String>,
    /// Replace (`OpenWithTicket`) or immutable (`OpenImmutableWithTicket`).
    pub mode: OpenMode,
}

impl std::fmt::Debug for TicketRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketRequest")
            .field("ticket", &"<redacted>")
            .field("application_id", &self.application_id)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// `OpenWithTicketEx(ticket, EmailAddress, FirstName, LastName, applicationID, ClientVersion)`.
#[derive(Clone)]
pub struct TicketExRequest {
    /// The sealed ticket (its user name is ignored).
    pub ticket: String,
    /// `EmailAddress`: who signs in.
    pub email: String,
    /// `FirstName`, used when the user is created.
    pub first_name: String,
    /// `LastName`, used when the user is created.
    pub last_name: String,
    /// `applicationID`.
    pub application_id: i64,
    /// `ClientVersion`.
    pub client_version: Option<String>,
}

impl std::fmt::Debug for TicketExRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketExRequest")
            .field("ticket", &"<redacted>")
            .field("email", &self.email)
            .field("application_id", &self.application_id)
            .finish_non_exhaustive()
    }
}

/// The shared first steps of both ticket sign-ins.
struct Checked {
    app: Application,
    client_version: Option<String>,
    client_ip: Option<String>,
    ip: Option<std::net::IpAddr>,
}

impl Checked {
    /// The audit record of a refused ticket sign-in (`how`: which call).
    fn failure(&self, how: &str, reason: &str) -> AuditEntry {
        let mut e = AuditEntry::new(Operation::SignInFailed, Outcome::Failure);
        e.application_id = Some(self.app.id);
        e.client_version = self.client_version.clone();
        e.client_ip = self.client_ip.clone();
        e.detail = Some(format!("{how}: {reason}"));
        e
    }
}

impl Service {
    /// The ticket settings, or the "not configured" error.
    fn ticket_settings(&self) -> Result<&Arc<TicketSettings>> {
        self.config
            .tickets
            .as_ref()
            .ok_or(Error::TicketsNotConfigured)
    }

    /// Seals a ticket for `username`, dated now (for `ferry ticket issue`).
    pub fn issue_ticket(&self, username: &str) -> Result<String> {
        self.ticket_settings()?.issue(username, self.clock.now())
    }

    /// Audits a refused ticket sign-in and answers the one ticket error.
    async fn refuse_ticket(
        &self,
        how: &str,
        reason: &str,
        checked: &Checked,
        user: Option<&User>,
    ) -> Result<Error> {
        tracing::warn!(how, reason, "ticket sign-in refused");
        let mut e = checked.failure(how, reason);
        e.user_id = user.map(|u| u.id);
        self.audit_alone(e).await?;
        Ok(Error::TicketRefused)
    }

    /// Refuses a ticket that did not open, was for another site or out of its time window:
    /// what a forger sends. Counted toward the address lock-out like a wrong password (a
    /// portal's own refusals, of users it named with a good ticket, are not).
    async fn refuse_forged_ticket(
        &self,
        how: &str,
        reason: &str,
        checked: &Checked,
    ) -> Result<Error> {
        let Some(ip) = checked.ip else {
            return self.refuse_ticket(how, reason, checked, None).await;
        };
        tracing::warn!(how, reason, "ticket sign-in refused");
        let keys = self.config.lockout.address_keys(ip);
        self.record_failed_signin(&keys, checked.failure(how, reason))
            .await?;
        Ok(Error::TicketRefused)
    }

    /// The claims of a ticket that opens and passes every check, spent if tickets are single
    /// use; otherwise the one ticket refusal, counted by the address's lock-out like a forgery
    /// (a replayed ticket is someone else's).
    async fn verified_ticket(
        &self,
        how: &str,
        settings: &TicketSettings,
        ticket: &str,
        checked: &Checked,
    ) -> Result<TicketClaims> {
        let now = self.clock.now();
        let claims = match settings.verify(ticket, now) {
            Ok(claims) => claims,
            Err(reason) => return Err(self.refuse_forged_ticket(how, &reason, checked).await?),
        };
        if settings.single_use {
            // Remembered until the ticket would have expired anyway. The sealed text is the
            // key: each ticket sealed has a random nonce, and strict base64 has one spelling.
            let until = claims.issued_at.plus_millis(settings.max_age_ms);
            let digest = ferry_crypto::sha256_hex(ticket.as_bytes());
            let mut tx = self.store.begin().await?;
            let fresh = tx
                .spend_token(&digest, until.max(now.plus_millis(1)), now)
                .await?;
            tx.commit().await?;
            if !fresh {
                return Err(self
                    .refuse_forged_ticket(how, "ticket used before (single use)", checked)
                    .await?);
            }
        }
        Ok(claims)
    }

    /// Refuses at once, with the one ticket answer, a ticket sign-in from an address locked
    /// out (by forged tickets or wrong passwords); audited once per window. Otherwise the
    /// address's turn, to hold until the ticket is verified and a forgery counted, so that a
    /// burst of forged tickets is counted one by one (`address_gate.rs`).
    async fn refuse_if_address_locked(
        &self,
        how: &str,
        checked: &Checked,
    ) -> Result<Option<AddressTurn>> {
        let Some(ip) = checked.ip else {
            return Ok(None);
        };
        let turn = self.address_gate.turn(ip).await;
        let keys = self.config.lockout.address_keys(ip);
        if let Some((_, key)) = self.lockout_in_force(&keys, false).await? {
            let e = checked.failure(how, "address locked out");
            self.audit_repeated(&key.key, Some(ip), e).await?;
            return Err(Error::TicketRefused);
        }
        Ok(Some(turn))
    }

    /// Checks the configuration, the client version and the application; audits a refused
    /// application like a password sign-in does.
    async fn ticket_preamble(
        &self,
        how: &str,
        application_id: i64,
        client_version: Option<String>,
        caller: &Caller,
    ) -> Result<Checked> {
        self.ticket_settings()?;
        let client_version = optional_text(
            "clientVersion",
            client_version.or_else(|| caller.client_version.clone()),
            text::MAX_CLIENT_VERSION,
        )?;
        let client_ip = caller.ip_text();
        match self.client_application(application_id).await? {
            Ok(app) => Ok(Checked {
                app,
                client_version,
                client_ip,
                ip: caller.ip,
            }),
            Err(why) => {
                let mut e = AuditEntry::new(Operation::SignInFailed, Outcome::Failure);
                e.application_id = Some(application_id);
                e.client_version = client_version;
                e.client_ip = client_ip;
                e.detail = Some(format!("{how}: {why}"));
                self.audit_alone(e).await?;
                Err(Error::UnknownApplication)
            }
        }
    }

    /// `OpenWithTicket` / `OpenImmutableWithTicket`: signs in the active user whose
    /// `DomainUsername` the ticket names, exactly as `Open` would.
    pub async fn open_with_ticket(
        &self,
        req: TicketRequest,
        caller: &Caller,
    ) -> Result<SessionData> {
        const HOW: &str = "OpenWithTicket";
        let checked = self
            .ticket_preamble(HOW, req.application_id, req.client_version, caller)
            .await?;
        let turn = self.refuse_if_address_locked(HOW, &checked).await?;
        let settings = self.ticket_settings()?;
        let claims = self
            .verified_ticket(HOW, settings, &req.ticket, &checked)
            .await?;
        drop(turn);
        let asked = format!("ticket of {:?}", claims.username);
        let user = match self.store.user_by_domain_username(&claims.username).await? {
            Some(u) if u.active && !u.deleted => u,
            Some(u) => {
                let reason = format!("{asked}: user disabled");
                return Err(self.refuse_ticket(HOW, &reason, &checked, Some(&u)).await?);
            }
            None => {
                let reason = format!("{asked}: no user has that DomainUsername");
                return Err(self.refuse_ticket(HOW, &reason, &checked, None).await?);
            }
        };
        if let Some(why) = settings.refusal_for(&user) {
            let reason = format!("{asked}: {why}");
            return Err(self
                .refuse_ticket(HOW, &reason, &checked, Some(&user))
                .await?);
        }
        self.ticket_session(&user, checked, req.mode, asked).await
    }

    /// `OpenWithTicketEx`: the ticket only proves freshness and knowledge of the password;
    /// the user is the one with `EmailAddress`, created (Member, with a home folder) if none.
    pub async fn open_with_ticket_ex(
        &self,
        req: TicketExRequest,
        caller: &Caller,
    ) -> Result<SessionData> {
        const HOW: &str = "OpenWithTicketEx";
        text::required("EmailAddress", &req.email, text::MAX_EMAIL)?;
        text::email("EmailAddress", &req.email)?;
        text::plain("FirstName", &req.first_name, text::MAX_PERSON_NAME)?;
        text::plain("LastName", &req.last_name, text::MAX_PERSON_NAME)?;
        let checked = self
            .ticket_preamble(HOW, req.application_id, req.client_version.clone(), caller)
            .await?;
        let turn = self.refuse_if_address_locked(HOW, &checked).await?;
        let settings = self.ticket_settings()?;
        let claims = self
            .verified_ticket(HOW, settings, &req.ticket, &checked)
            .await?;
        drop(turn);
        let email = req.email.trim().to_string();
        // The ticket's user does not choose the account, but the audit says who asked.
        let asked = format!("ticket of {:?} for e-mail {email:?}", claims.username);

        // Two passes at most: a concurrent first sign-in with the same address may create
        // the user between our lookup and our insert.
        let mut user = None;
        for _ in 0..2 {
            let mut found = self.store.users_by_email(&email).await?;
            match found.len() {
                0 => match self.create_ticket_user(&req, &email, &checked).await {
                    Ok(u) => {
                        user = Some(u);
                        break;
                    }
                    Err(Error::AlreadyExists(_)) => continue,
                    Err(e) => return Err(e),
                },
                1 => {
                    user = found.pop();
                    break;
                }
                _ => {
                    let why = format!("{} users share the e-mail", found.len());
                    self.audit_alone(checked.failure(HOW, &why)).await?;
                    return Err(Error::AmbiguousEmail);
                }
            }
        }
        let user = user.ok_or_else(|| {
            Error::Internal("user creation kept colliding in OpenWithTicketEx".into())
        })?;
        if !user.active {
            let reason = format!("{asked}: user disabled");
            return Err(self
                .refuse_ticket(HOW, &reason, &checked, Some(&user))
                .await?);
        }
        if let Some(why) = settings.refusal_for(&user) {
            let reason = format!("{asked}: {why}");
            return Err(self
                .refuse_ticket(HOW, &reason, &checked, Some(&user))
                .await?);
        }
        self.ticket_session(&user, checked, OpenMode::Replace, asked)
            .await
    }

    /// The session a ticket that passed every check opens for `user`: the same for both ticket
    /// sign-ins but for its mode.
    async fn ticket_session(
        &self,
        user: &User,
        checked: Checked,
        mode: OpenMode,
        asked: String,
    ) -> Result<SessionData> {
        self.start_session(NewSession {
            user,
            app: &checked.app,
            mode,
            client_version: checked.client_version,
            client_ip: checked.client_ip,
            declared_ip: None,
            impersonator: None,
            external_user: None,
            clear_keys: Vec::new(),
            proof: Some(asked),
            ssh_key: None,
            remember_address: false,
        })
        .await
        .and_then(super::signin::handed_out)
    }

    /// Creates the user `OpenWithTicketEx` names by e-mail: login name from the address, made
    /// unique with a numeric suffix if a local user already has it.
    async fn create_ticket_user(
        &self,
        req: &TicketExRequest,
        email: &str,
        checked: &Checked,
    ) -> Result<User> {
        let base = login_name_from_email(email);
        let mut last_err = None;
        for n in 1..=20 {
            let name = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            if self.store.user_by_name(&name).await?.is_some() {
                continue;
            }
            let new = NewUser {
                name,
                domain_username: None,
                first_name: req.first_name.trim().to_string(),
                last_name: req.last_name.trim().to_string(),
                email: email.to_string(),
                role: Role::Member,
                active: true,
                user_sync_id: None,
                password_hash: None,
            };
            let stamp = |e: &mut AuditEntry| {
                e.application_id = Some(checked.app.id);
                e.client_version = checked.client_version.clone();
                e.client_ip = checked.client_ip.clone();
                e.detail = Some("created by OpenWithTicketEx".into());
            };
            let mut tx = self.store.begin().await?;
            match self
                .insert_user_with_home(&mut tx, &stamp, &new, true, None)
                .await
            {
                Ok(user) => {
                    tx.commit().await?;
                    return Ok(user);
                }
                Err(e @ Error::AlreadyExists(_)) => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| Error::AlreadyExists("a user with that name".into())))
    }
}

/// A login name made from an e-mail address: the characters login names allow, at most 56 of
/// them (room for a suffix), never starting with `.` or `-`.
fn login_name_from_email(email: &str) -> String {
    let kept: String = email
        .chars()
        .filter(|c| c.is_alphanumeric() || ".-_@+".contains(*c))
        .take(56)
        .collect();
    let kept = kept.trim_start_matches(['.', '-']).to_string();
    if kept.is_empty() { "user".into() } else { kept }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names_from_addresses_are_valid() {
        for email in [
            "ann@example.com",
            "-o'brien@example.com",
            "ünïcødé@exämple.de",
            &format!("{}@example.com", "x".repeat(200)),
            "'''@x",
        ] {
            let name = login_name_from_email(email);
            text::user_name("name", &name).unwrap();
            text::user_name("name", &format!("{name}-20")).unwrap();
        }
    }
}
