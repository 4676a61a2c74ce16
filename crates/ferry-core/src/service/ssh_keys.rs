//! SSH public keys: administrators add, list and remove them (`ferry user add-key` …), and
//! the SFTP front end signs users in with them. A key sign-in is `OpenImmutable` for the SFTP
//! application like a password one, minus the password check: the SSH layer has verified the
//! signature, and the Service checks the key belongs to the active user named.

use std::sync::Arc;

use super::admin::revoke_sessions_where;
use super::recheck::target_in_change;
use super::signin::NewSession;
use super::{Actor, Caller, OpenMode, Service, optional_text};
use crate::connection_limit::{ConnectionPermit, UserConnectionLimit};
use crate::domain::ssh_key::parse_public_key;
use crate::domain::{AuditEntry, OpenedSession, Operation, Outcome, SshKey, application};
use crate::error::{Error, Result};
use crate::text;

impl Service {
    /// Adds a public key (OpenSSH one-line form) to a user.
    pub async fn add_ssh_key(&self, actor: &Actor, user_name: &str, line: &str) -> Result<SshKey> {
        Self::require_admin(actor)?;
        let user = self.user_named(user_name).await?;
        // A key is a way in: nobody adds one to an account above their own role.
        Self::require_role_at_most(actor, user.role)?;
        let key = parse_public_key(line)?;
        let mut tx = self.store.begin().await?;
        let now = self.clock.now();
        target_in_change(&mut tx, actor, user.id).await?;
        tx.insert_ssh_key(user.id, &key, now).await?;
        let mut e = AuditEntry::new(Operation::UserUpdated, Outcome::Success);
        actor.stamp(&mut e);
        e.target_user_id = Some(user.id);
        e.path = Some(user.name.clone());
        e.detail = Some(format!(
            "SSH key added: {} {}",
            key.algorithm, key.fingerprint
        ));
        tx.append_audit(now, e).await?;
        tx.commit().await?;
        self.store
            .ssh_keys(user.id)
            .await?
            .into_iter()
            .find(|k| k.fingerprint == key.fingerprint)
            .ok_or_else(|| Error::Internal("the key vanished after insert".into()))
    }

    /// A user's keys.
    pub async fn ssh_keys(&self, actor: &Actor, user_name: &str) -> Result<Vec<SshKey>> {
        Self::require_admin(actor)?;
        let user = self.user_named(user_name).await?;
        Ok(self.store.ssh_keys(user.id).await?)
    }

    /// Removes a user's key by its `SHA256:…` fingerprint.
    pub async fn remove_ssh_key(
        &self,
        actor: &Actor,
        user_name: &str,
        fingerprint: &str,
    ) -> Result<()> {
        Self::require_admin(actor)?;
        let user = self.user_named(user_name).await?;
        Self::require_role_at_most(actor, user.role)?;
        let fingerprint = fingerprint.trim();
        let mut tx = self.store.begin().await?;
        let now = self.clock.now();
        target_in_change(&mut tx, actor, user.id).await?;
        if !tx.delete_ssh_key(user.id, fingerprint).await? {
            return Err(Error::invalid("the user has no key with that fingerprint"));
        }
        let mut e = AuditEntry::new(Operation::UserUpdated, Outcome::Success);
        actor.stamp(&mut e);
        e.target_user_id = Some(user.id);
        e.path = Some(user.name.clone());
        e.detail = Some(format!("SSH key removed: {fingerprint}"));
        tx.append_audit(now, e).await?;
        // The sessions this key opened end with it (and their connections).
        revoke_sessions_where(&mut tx, user.id, "SSH key removed", now, |s| {
            s.ssh_key.as_deref() == Some(fingerprint)
        })
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Signs `user_name` in to SFTP with a key whose signature the SSH layer verified, taking
    /// the connection's place in `limit` (as [`Service::open_counted`] does). Unknown users,
    /// foreign keys and disabled users answer [`Error::BadCredentials`], unaudited (clients
    /// offer every key they hold); a user with no connection left is refused the same way,
    /// audited.
    pub async fn open_with_ssh_key(
        &self,
        user_name: &str,
        fingerprint: &str,
        client_version: Option<String>,
        caller: &Caller,
        limit: &Arc<UserConnectionLimit>,
    ) -> Result<(OpenedSession, ConnectionPermit)> {
        text::required("userName", user_name, text::MAX_USER_NAME)?;
        let client_version =
            optional_text("clientVersion", client_version, text::MAX_CLIENT_VERSION)?;
        let app = self.usable_application(application::SFTP).await?;
        let user = match self.store.user_by_name(user_name).await? {
            Some(u) if u.active && !u.deleted => u,
            _ => return Err(Error::BadCredentials),
        };
        let keys = self.store.ssh_keys(user.id).await?;
        if !keys.iter().any(|k| {
            ferry_crypto::constant_time_eq(k.fingerprint.as_bytes(), fingerprint.as_bytes())
        }) {
            return Err(Error::BadCredentials);
        }
        let client_ip = caller.ip_text();
        let failure = |detail: &str| {
            let mut e = AuditEntry::new(Operation::SignInFailed, Outcome::Failure);
            e.application_id = Some(app.id);
            e.client_version = client_version.clone();
            e.client_ip = client_ip.clone();
            e.path = Some(user_name.to_string());
            e.detail = Some(format!("public key: {detail}"));
            e
        };
        let permit = self.admit(limit, &user, failure).await?;
        let data = self
            .start_session(NewSession {
                user: &user,
                app: &app,
                mode: OpenMode::Immutable,
                client_version,
                client_ip,
                declared_ip: None,
                impersonator: None,
                external_user: None,
                clear_keys: Vec::new(),
                proof: Some(format!("public key {fingerprint}")),
                ssh_key: Some(fingerprint.to_string()),
                remember_address: true,
            })
            .await?;
        Ok((data, permit))
    }
}
