//! Two-step sign-in: a TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s), enrolled by the
//! user (`BeginTotpEnrollment` → secret and `otpauth://` URL, `ConfirmTotpEnrollment` with a
//! correct passcode turns it on and hands out ten single-use recovery codes), turned off by
//! the user with a passcode, or reset by an administrator (`ferry user reset-totp` too).
//!
//! At a password sign-in ([`Service::check_second_factor`]) a user with the factor on must
//! bring a passcode (or a recovery code): missing, wrong, malformed and reused passcodes are
//! refused and counted by the lock-out like a wrong password. A passcode works once: the step
//! it matched is recorded, and an equal or earlier step is refused. Roles listed in
//! `required_roles` cannot sign in without the factor except through the web client, which
//! sends them to enrol. Ticket and impersonated sign-ins are unchanged (the portal or the
//! service vouches), and so is SFTP public-key sign-in.
//!
//! Turning the factor on or off ends every other session of the user, on every protocol, and
//! those they opened impersonating others, as a password change does: a user who turns it on
//! because they fear their password is known means to shut out whoever holds it, and before
//! 2026-12-07 a session opened with the password alone (an immutable one lives 48 hours, an
//! SFTP connection as long as it is used) went on after the factor was on.
//!
//! The secret is sealed under `[totp] key` for its user's row and never logged.

use std::sync::Arc;

use ferry_crypto::totp::{self, TotpKey};

use super::admin::{revoke_impersonations, revoke_sessions_where};
use super::recheck::{caller_unchanged, target_in_change};
use super::{Actor, Caller, Service, SessionContext};
use crate::domain::{AuditEntry, Operation, Outcome, Role, SecondFactor, User, UserId};
use crate::error::{Error, Result};
use crate::text;

/// How many recovery codes an enrolment hands out.
pub const RECOVERY_CODES: usize = 10;

/// `[totp]`: the sealing key and the policy.
#[derive(Debug)]
pub struct TotpSettings {
    /// Seals the secrets in the database.
    pub key: TotpKey,
    /// The issuer authenticator apps show beside the account (`otpauth` label).
    pub issuer: String,
    /// Roles that must have the factor on to sign in (except to enrol in the web client).
    pub required_roles: Vec<Role>,
}

/// What enrolment hands the user: the secret to type in, or the URL a QR code carries.
#[derive(Debug, Clone)]
pub struct TotpEnrollment {
    /// Base32, no padding.
    pub secret: String,
    /// `otpauth://totp/…`.
    pub otpauth_url: String,
}

/// A user's two-step state, for their account page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondFactorStatus {
    /// Two-step sign-in is configured on this server.
    pub available: bool,
    /// The factor is on.
    pub enabled: bool,
    /// The user's role requires it.
    pub required: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
}

/// The result of the second step of a password sign-in.
pub(super) enum FactorCheck {
    /// Nothing more is needed, or the passcode was right; the audit detail of the proof.
    Passed(Option<&'static str>),
    /// Refused with this error; the audit detail. The lock-out counts it.
    Refused(Error, &'static str),
}

/// Whether `text` has the shape of a passcode (six ASCII digits) or of a recovery code
/// (`xxxxx-xxxxx`): what a front end that must find a passcode inside other text looks for.
pub fn passcode_shaped(text: &str) -> bool {
    (text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit()))
        || totp::looks_like_recovery_code(text)
}

/// Ends, inside `tx`, every session of `ctx`'s user but `ctx`'s own, and the sessions they
/// opened impersonating others, auditing each with `why` (see the module documentation).
async fn end_other_sessions(
    tx: &mut Box<dyn crate::store::StoreTx>,
    ctx: &SessionContext,
    why: &str,
    now: crate::clock::Timestamp,
) -> Result<()> {
    let own = ctx.session.key;
    revoke_sessions_where(tx, ctx.user.id, why, now, |s| s.key != own).await?;
    revoke_impersonations(tx, ctx.user.id, why, now).await
}

impl Service {
    fn totp_settings(&self) -> Result<&Arc<TotpSettings>> {
        self.config
            .totp
            .as_ref()
            .ok_or(Error::SecondFactorUnavailable)
    }

    /// `BeginTotpEnrollment`: a new secret for the caller, pending until confirmed. Replaces a
    /// pending one; refused while the factor is on (turn it off first), and to an
    /// impersonated session.
    pub async fn begin_totp_enrollment(&self, ctx: &SessionContext) -> Result<TotpEnrollment> {
        let settings = self.totp_settings()?;
        refuse_impersonated(ctx)?;
        let user = &ctx.user;
        if self.factor_on(user.id).await?.is_some() {
            return Err(Error::AlreadyExists(
                "two-step sign-in is already on; turn it off first".into(),
            ));
        }
        let secret = totp::new_secret();
        let factor = SecondFactor {
            user_id: user.id,
            sealed_secret: settings.key.seal(user.id, &secret),
            confirmed_at: None,
            last_step: 0,
            created_at: self.clock.now(),
        };
        let mut tx = self.store.begin().await?;
        // A session ended meanwhile (a password reset shutting out an intruder) enrols nothing:
        // a factor set after the reset would lock the owner out of their own account.
        caller_unchanged(&mut tx, ctx).await?;
        tx.put_second_factor(&factor).await?;
        tx.commit().await?;
        Ok(TotpEnrollment {
            secret: totp::secret_base32(&secret),
            otpauth_url: totp::otpauth_url(&secret, &settings.issuer, &user.name),
        })
    }

    /// `ConfirmTotpEnrollment`: turns the pending factor on with a correct passcode and the
    /// user's password; returns the recovery codes (shown once, stored only as digests).
    ///
    /// The password because a factor outlives the session: without it, whoever held a
    /// session (stolen, or an administrator's impersonation) could turn on a factor only they
    /// have, and the owner's next password sign-in would be refused for want of a passcode
    /// until an administrator reset it. `ChangePassword` asks for it for the same reason.
    pub async fn confirm_totp_enrollment(
        &self,
        ctx: &SessionContext,
        passcode: &str,
        password: String,
        caller: &Caller,
    ) -> Result<Vec<String>> {
        let settings = self.totp_settings()?;
        refuse_impersonated(ctx)?;
        text::presented_password("password", &password)?;
        let factor = match self.store.second_factor(ctx.user.id).await? {
            Some(f) if f.confirmed_at.is_none() => f,
            Some(_) => {
                return Err(Error::AlreadyExists(
                    "two-step sign-in is already on".into(),
                ));
            }
            None => return Err(Error::invalid("begin the enrolment first")),
        };
        self.prove_own_password(ctx, password, caller, Operation::SecondFactorEnabled)
            .await?;
        let secret = settings
            .key
            .open(ctx.user.id, &factor.sealed_secret)
            .ok_or_else(|| Error::Internal("a second-factor secret does not open".into()))?;
        let step = totp::matching_step(&secret, passcode, self.unix_secs())
            .ok_or(Error::PasscodeRefused)?;
        let codes: Vec<String> = (0..RECOVERY_CODES)
            .map(|_| totp::new_recovery_code())
            .collect();
        let digests: Vec<String> = codes.iter().map(|c| totp::recovery_digest(c)).collect();
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        caller_unchanged(&mut tx, ctx).await?;
        if !tx
            .confirm_second_factor(ctx.user.id, now, step as i64, &digests)
            .await?
        {
            return Err(Error::invalid("begin the enrolment first"));
        }
        let mut e = AuditEntry::new(Operation::SecondFactorEnabled, Outcome::Success);
        ctx.stamp(&mut e);
        e.target_user_id = Some(ctx.user.id);
        tx.append_audit(now, e).await?;
        end_other_sessions(&mut tx, ctx, "second factor turned on", now).await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Turns the caller's factor off; needs a current passcode or a recovery code, and a
    /// session that is not impersonated. A wrong or reused passcode is counted by the
    /// lock-out like a wrong password at sign-in, and audited: a stolen session must not be
    /// able to guess its way to turning the factor off (before, nothing counted or recorded
    /// the guesses, and a million six-digit codes, three of them right at any moment, fall to
    /// a few minutes of requests). One check at a time per address, so a burst is counted too.
    pub async fn disable_totp(
        &self,
        ctx: &SessionContext,
        passcode: &str,
        caller: &Caller,
    ) -> Result<()> {
        refuse_impersonated(ctx)?;
        let failure = |detail: &str| {
            let mut e = AuditEntry::new(Operation::SecondFactorDisabled, Outcome::Failure);
            ctx.stamp(&mut e);
            e.target_user_id = Some(ctx.user.id);
            e.detail = Some(detail.to_string());
            e
        };
        let keys = self.config.lockout.keys(&ctx.user.name, caller.ip);
        let known = self.known_address(Some(&ctx.user), caller.ip).await?;
        let _turn = match caller.ip {
            Some(ip) => Some(self.address_gate.turn(ip).await),
            None => None,
        };
        self.refuse_if_locked(&keys, known, caller.ip, || failure("locked out"))
            .await?;
        let Some(factor) = self.factor_on(ctx.user.id).await? else {
            return Err(Error::PasscodeRefused);
        };
        if !self.spend_passcode(&ctx.user, &factor, passcode).await? {
            self.record_failed_signin(&keys, failure("wrong or reused passcode"))
                .await?;
            return Err(Error::PasscodeRefused);
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        caller_unchanged(&mut tx, ctx).await?;
        tx.delete_second_factor(ctx.user.id).await?;
        let mut e = AuditEntry::new(Operation::SecondFactorDisabled, Outcome::Success);
        ctx.stamp(&mut e);
        e.target_user_id = Some(ctx.user.id);
        e.detail = Some("turned off by the user".into());
        tx.append_audit(now, e).await?;
        end_other_sessions(&mut tx, ctx, "second factor turned off", now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An administrator (or the command line) removes a user's factor, for a lost phone;
    /// the user enrols again. Not for accounts above the actor's role.
    pub async fn reset_totp(&self, actor: &Actor, name: &str) -> Result<bool> {
        Self::require_admin(actor)?;
        let user = self.user_named(name).await?;
        Self::require_role_at_most(actor, user.role)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        target_in_change(&mut tx, actor, user.id).await?;
        let had = tx.delete_second_factor(user.id).await?;
        if had {
            let mut e = AuditEntry::new(Operation::SecondFactorDisabled, Outcome::Success);
            actor.stamp(&mut e);
            e.target_user_id = Some(user.id);
            e.detail = Some("reset by an administrator".into());
            tx.append_audit(now, e).await?;
        }
        tx.commit().await?;
        Ok(had)
    }

    /// The caller's two-step state.
    pub async fn second_factor_status(&self, user: &User) -> Result<SecondFactorStatus> {
        let enabled = self.factor_on(user.id).await?.is_some();
        Ok(SecondFactorStatus {
            available: self.config.totp.is_some(),
            enabled,
            required: self.second_factor_required(user),
            recovery_codes_left: if enabled {
                self.store.recovery_codes_left(user.id).await?
            } else {
                0
            },
        })
    }

    /// Whether `user`'s role must have the factor on.
    pub fn second_factor_required(&self, user: &User) -> bool {
        self.config
            .totp
            .as_ref()
            .is_some_and(|t| t.required_roles.contains(&user.role))
    }

    /// The second step of a password sign-in for `user`, whose password was right. `web`:
    /// the web client, where an account that must enrol may sign in to do so.
    pub(super) async fn check_second_factor(
        &self,
        user: &User,
        passcode: Option<&str>,
        web: bool,
    ) -> Result<FactorCheck> {
        let Some(factor) = self.factor_on(user.id).await? else {
            if self.second_factor_required(user) && !web {
                return Ok(FactorCheck::Refused(
                    Error::SecondFactorSetupRequired,
                    "two-step sign-in required and not set up",
                ));
            }
            return Ok(FactorCheck::Passed(None));
        };
        let Some(passcode) = passcode.filter(|p| !p.is_empty()) else {
            return Ok(FactorCheck::Refused(
                Error::PasscodeRequired,
                "passcode missing",
            ));
        };
        let recovery = totp::looks_like_recovery_code(passcode);
        Ok(if self.spend_passcode(user, &factor, passcode).await? {
            FactorCheck::Passed(Some(if recovery {
                "password and recovery code"
            } else {
                "password and passcode"
            }))
        } else {
            FactorCheck::Refused(Error::PasscodeRefused, "wrong or reused passcode")
        })
    }

    /// The user's factor when it is on (confirmed).
    async fn factor_on(&self, user: UserId) -> Result<Option<SecondFactor>> {
        Ok(self
            .store
            .second_factor(user)
            .await?
            .filter(|f| f.confirmed_at.is_some()))
    }

    /// Checks and spends a passcode (its step) or a recovery code of `user`'s `factor` (on);
    /// false when wrong, malformed or reused.
    async fn spend_passcode(
        &self,
        user: &User,
        factor: &SecondFactor,
        passcode: &str,
    ) -> Result<bool> {
        let Some(settings) = self.config.totp.as_ref() else {
            return Ok(false);
        };
        let now = self.clock.now();
        if totp::looks_like_recovery_code(passcode) {
            let mut tx = self.store.begin().await?;
            let spent = tx
                .spend_recovery_code(user.id, &totp::recovery_digest(passcode), now)
                .await?;
            if spent {
                let mut e = AuditEntry::new(Operation::RecoveryCodeUsed, Outcome::Success);
                e.user_id = Some(user.id);
                e.target_user_id = Some(user.id);
                tx.append_audit(now, e).await?;
            }
            tx.commit().await?;
            return Ok(spent);
        }
        let secret = settings
            .key
            .open(user.id, &factor.sealed_secret)
            .ok_or_else(|| Error::Internal("a second-factor secret does not open".into()))?;
        let Some(step) = totp::matching_step(&secret, passcode, self.unix_secs()) else {
            return Ok(false);
        };
        let mut tx = self.store.begin().await?;
        let spent = tx.spend_totp_step(user.id, step as i64).await?;
        tx.commit().await?;
        Ok(spent)
    }

    fn unix_secs(&self) -> u64 {
        u64::try_from(self.clock.now().0 / 1000).unwrap_or(0)
    }
}

/// A user's factor is theirs to set: an administrator's impersonated session may not turn it
/// on or off (as it may not change the password), and an administrator who must reset it does
/// so as themselves (`reset_totp`), audited as such.
fn refuse_impersonated(ctx: &SessionContext) -> Result<()> {
    match ctx.session.impersonator_id {
        Some(_) => Err(Error::NotPermitted(
            "an impersonated session cannot change the user's two-step sign-in",
        )),
        None => Ok(()),
    }
}
