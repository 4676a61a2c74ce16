//! Users that come from a directory: `CreateDomainUser` (public Thru reference) and the
//! directory sync behind `ferry sso-sync` (DESIGN.md §4).
//!
//! The sync is given the complete membership of one directory group, already read (reading is
//! the LDAP adapter's job, so a failure half-way through reading changes nothing), computes a
//! plan against the users Ferry has, and applies it in one change: all or nothing. Users are
//! keyed by their directory GUID (`UserSyncID`), so a renamed account stays the same user.

use std::collections::{HashMap, HashSet};

use super::admin::{actor_user, revoke_sessions};
use super::change_races::{Attempt, until_settled};
use super::recheck::actor_still_may;
use super::{Actor, Service};
use crate::domain::{
    AuditEntry, NewUser, Operation, Outcome, Role, User, domain_username_key, email_key,
};
use crate::error::{Error, Result};
use crate::store::StoreTx;
use crate::text;

/// Longest `UserSyncID` accepted (a GUID needs 36).
pub const MAX_SYNC_ID: usize = 255;
/// Longest `DOMAIN\name` accepted.
pub const MAX_DOMAIN_USERNAME: usize = 255;

/// `CreateDomainUser(sessionID, domainUsername, userSyncID, firstName, lastName, email,
/// createHomeFolder, role, active)`.
#[derive(Debug, Clone)]
pub struct DomainUserRequest {
    /// `DOMAIN\name`; the part after the backslash becomes the login name.
    pub domain_username: String,
    /// The directory GUID, if known.
    pub user_sync_id: Option<String>,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E-mail address (may be empty).
    pub email: String,
    /// Whether to make the user's home folder.
    pub create_home_folder: bool,
    /// Role.
    pub role: Role,
    /// Active from the start?
    pub active: bool,
}

/// One member of the synchronised directory group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// `objectGUID` or `entryUUID`, as lowercase hyphenated text.
    pub sync_id: String,
    /// `sAMAccountName` or `uid`: the login name and the name after `DOMAIN\`.
    pub account: String,
    /// `mail`, possibly empty.
    pub email: String,
    /// `givenName`.
    pub first_name: String,
    /// `sn`.
    pub last_name: String,
}

/// How a sync runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The `DOMAIN` of `DOMAIN\name`.
    pub domain: String,
    /// Compute and report the plan without applying it.
    pub dry_run: bool,
    /// Refuse to deactivate more than this share (percent) of the active synced users...
    pub max_deactivate_percent: u32,
    /// ... when that is also more than this many users (a small company's one leaver is not
    /// a mass deactivation).
    pub max_deactivate_count: u32,
    /// Apply even beyond those bounds (and for an empty group).
    pub force: bool,
}

/// What a sync did (or, for a dry run, would do): login names per kind of change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncSummary {
    /// Users created.
    pub created: Vec<String>,
    /// Users whose names, e-mail or account changed, or who came back to the group.
    pub updated: Vec<String>,
    /// Users who left the group and were deactivated.
    pub deactivated: Vec<String>,
    /// Members already up to date.
    pub unchanged: usize,
    /// Members left alone, with the reason (collisions with local users, invalid names).
    pub conflicts: Vec<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

impl std::fmt::Display for SyncSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "created {}, updated {}, deactivated {}, unchanged {}, conflicts {}{}",
            self.created.len(),
            self.updated.len(),
            self.deactivated.len(),
            self.unchanged,
            self.conflicts.len(),
            if self.dry_run { " (dry run)" } else { "" }
        )
    }
}

/// One planned change.
enum Change {
    Create(NewUser),
    Update { before: Box<User>, after: Box<User> },
    Deactivate(User),
}

/// Checks `DOMAIN\name` and returns the login name part.
fn account_of(domain_username: &str) -> Result<&str> {
    text::required("domainUsername", domain_username, MAX_DOMAIN_USERNAME)?;
    match domain_username.split_once('\\') {
        Some((domain, account)) if !domain.trim().is_empty() && !account.contains('\\') => {
            text::user_name("domainUsername", account.trim())?;
            Ok(account.trim())
        }
        _ => Err(Error::invalid(
            "domainUsername must have the form DOMAIN\\name",
        )),
    }
}

impl Service {
    /// `CreateDomainUser`: an administrator creates a user who signs in by ticket.
    pub async fn create_domain_user(&self, actor: &Actor, req: DomainUserRequest) -> Result<User> {
        Self::require_admin(actor)?;
        Self::require_role_at_most(actor, req.role)?;
        let account = account_of(&req.domain_username)?.to_string();
        let sync_id = match req.user_sync_id.as_deref().map(str::trim) {
            Some("") | None => None,
            Some(id) => {
                text::plain("userSyncID", id, MAX_SYNC_ID)?;
                Some(id.to_lowercase())
            }
        };
        text::email("email", req.email.trim())?;
        text::plain("firstName", &req.first_name, text::MAX_PERSON_NAME)?;
        text::plain("lastName", &req.last_name, text::MAX_PERSON_NAME)?;
        let new = NewUser {
            name: account,
            domain_username: Some(req.domain_username.trim().to_string()),
            first_name: req.first_name.trim().to_string(),
            last_name: req.last_name.trim().to_string(),
            email: req.email.trim().to_string(),
            role: req.role,
            active: req.active,
            user_sync_id: sync_id,
            password_hash: None,
        };
        let mut tx = self.store.begin().await?;
        actor_still_may(&mut tx, actor, Some(new.role)).await?;
        let user = self
            .insert_user_with_home(
                &mut tx,
                &|e| actor.stamp(e),
                &new,
                req.create_home_folder,
                actor_user(actor),
            )
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Brings the users of one directory group in line with `entries`. See the module
    /// documentation.
    pub async fn sync_directory(
        &self,
        actor: &Actor,
        entries: Vec<DirectoryEntry>,
        opts: &SyncOptions,
    ) -> Result<SyncSummary> {
        Self::require_admin(actor)?;
        text::required("domain", &opts.domain, 64)?;
        if opts.domain.contains('\\') {
            return Err(Error::invalid("domain may not contain a backslash"));
        }
        let summary = until_settled(|| self.sync_attempt(actor, entries.clone(), opts)).await?;
        if !summary.dry_run {
            tracing::info!(%summary, "directory sync applied");
        }
        Ok(summary)
    }

    /// One try of [`Service::sync_directory`]: planned against the users as they are, and
    /// [`Attempt::Raced`] if one it changes was changed by someone else (disabled, its role
    /// or password changed) before the sync's change began, which would otherwise undo that.
    async fn sync_attempt(
        &self,
        actor: &Actor,
        entries: Vec<DirectoryEntry>,
        opts: &SyncOptions,
    ) -> Result<Attempt<SyncSummary>> {
        let users = self.store.users().await?;
        let (changes, mut summary) = plan(&users, entries, opts);
        summary.dry_run = opts.dry_run;

        let active_synced = users
            .iter()
            .filter(|u| u.user_sync_id.is_some() && u.active && !u.deleted)
            .count();
        let leaving = summary.deactivated.len();
        if leaving > 0 && !opts.force {
            let too_many = leaving * 100 > opts.max_deactivate_percent as usize * active_synced
                && leaving > opts.max_deactivate_count as usize;
            if too_many || leaving == active_synced {
                let why = format!(
                    "the sync would deactivate {leaving} of {active_synced} synced users ({}), \
                     more than {}% and more than {} users{}; nothing was changed: check the \
                     group, or force it",
                    summary.deactivated.join(", "),
                    opts.max_deactivate_percent,
                    opts.max_deactivate_count,
                    if leaving == active_synced {
                        ", or every one of them"
                    } else {
                        ""
                    }
                );
                tracing::warn!(leaving, active_synced, "directory sync held back: {why}");
                let mut e = AuditEntry::new(Operation::DirectorySynced, Outcome::Failure);
                actor.stamp(&mut e);
                e.detail = Some(format!("held back: {why}"));
                self.audit_alone(e).await?;
                return Err(Error::invalid(why));
            }
        }
        if opts.dry_run {
            return Ok(Attempt::Done(summary));
        }

        let by = actor_user(actor);
        let mut tx = self.store.begin().await?;
        let now = self.clock.now();
        for change in changes {
            match change {
                Change::Create(new) => {
                    let stamp = |e: &mut AuditEntry| {
                        actor.stamp(e);
                        e.detail = Some("directory sync".into());
                    };
                    self.insert_user_with_home(&mut tx, &stamp, &new, true, by)
                        .await?;
                }
                Change::Update { before, after } => {
                    if !unchanged(&mut tx, &before).await? {
                        tx.rollback().await;
                        return Ok(Attempt::Raced);
                    }
                    tx.update_user(&after).await?;
                    let op = if !before.active {
                        Operation::UserEnabled
                    } else {
                        Operation::UserUpdated
                    };
                    let mut e = AuditEntry::new(op, Outcome::Success);
                    actor.stamp(&mut e);
                    e.target_user_id = Some(after.id);
                    e.path = Some(after.name.clone());
                    e.detail = Some(format!("directory sync: {}", describe(&before, &after)));
                    tx.append_audit(now, e).await?;
                }
                Change::Deactivate(mut user) => {
                    if !unchanged(&mut tx, &user).await? {
                        tx.rollback().await;
                        return Ok(Attempt::Raced);
                    }
                    user.active = false;
                    tx.update_user(&user).await?;
                    revoke_sessions(&mut tx, user.id, "user left the directory group", now).await?;
                    let mut e = AuditEntry::new(Operation::UserDisabled, Outcome::Success);
                    actor.stamp(&mut e);
                    e.target_user_id = Some(user.id);
                    e.path = Some(user.name.clone());
                    e.detail = Some("directory sync: left the group".into());
                    tx.append_audit(now, e).await?;
                }
            }
        }
        let mut e = AuditEntry::new(Operation::DirectorySynced, Outcome::Success);
        actor.stamp(&mut e);
        e.detail = Some(summary.to_string());
        tx.append_audit(now, e).await?;
        tx.commit().await?;
        Ok(Attempt::Done(summary))
    }
}

/// Whether `seen` is the user as `tx` finds it.
async fn unchanged(tx: &mut Box<dyn StoreTx>, seen: &User) -> Result<bool> {
    Ok(tx.user_by_id(seen.id).await?.as_ref() == Some(seen))
}

/// Which fields changed, for the audit detail.
fn describe(before: &User, after: &User) -> String {
    let mut parts = Vec::new();
    if before.name != after.name {
        parts.push(format!("renamed from {}", before.name));
    }
    if before.domain_username != after.domain_username {
        parts.push("DomainUsername".to_string());
    }
    if before.email != after.email {
        parts.push("e-mail".to_string());
    }
    if before.first_name != after.first_name || before.last_name != after.last_name {
        parts.push("names".to_string());
    }
    if before.user_sync_id != after.user_sync_id {
        parts.push("linked to the directory".to_string());
    }
    if !before.active {
        parts.push("back in the group".to_string());
    }
    parts.join(", ")
}

/// Computes the changes that make `users` match `entries`.
fn plan(
    users: &[User],
    entries: Vec<DirectoryEntry>,
    opts: &SyncOptions,
) -> (Vec<Change>, SyncSummary) {
    let mut summary = SyncSummary::default();
    let mut changes = Vec::new();
    let by_sync_id: HashMap<&str, &User> = users
        .iter()
        .filter_map(|u| u.user_sync_id.as_deref().map(|id| (id, u)))
        .collect();
    // Login names and e-mail keys as they will be after the plan, to catch collisions
    // between members too.
    let mut name_owner: HashMap<String, i64> = users
        .iter()
        .map(|u| (u.name.to_lowercase(), u.id))
        .collect();
    let local_emails: HashMap<String, &User> = users
        .iter()
        .filter(|u| u.user_sync_id.is_none() && !u.deleted && !u.email.is_empty())
        .map(|u| (email_key(&u.email), u))
        .collect();
    let unlinked_domain_users: HashMap<String, &User> = users
        .iter()
        .filter(|u| u.user_sync_id.is_none() && !u.deleted)
        .filter_map(|u| {
            u.domain_username
                .as_deref()
                .map(|d| (domain_username_key(d), u))
        })
        .collect();

    let mut seen = HashSet::new();
    for entry in entries {
        let sync_id = entry.sync_id.trim().to_lowercase();
        if sync_id.is_empty() || !seen.insert(sync_id.clone()) {
            continue;
        }
        let account = entry.account.trim().to_string();
        let email = entry.email.trim().to_string();
        if text::user_name("account", &account).is_err()
            || text::email("mail", &email).is_err()
            || text::plain("givenName", &entry.first_name, text::MAX_PERSON_NAME).is_err()
            || text::plain("sn", &entry.last_name, text::MAX_PERSON_NAME).is_err()
        {
            summary.conflicts.push(format!(
                "{account:?} ({sync_id}): account name, e-mail or names not acceptable"
            ));
            continue;
        }
        let domain_username = format!("{}\\{}", opts.domain.trim(), account);
        let existing = by_sync_id.get(sync_id.as_str()).copied().or_else(|| {
            unlinked_domain_users
                .get(&domain_username_key(&domain_username))
                .copied()
        });
        if let Some(user) = existing.filter(|u| u.deleted) {
            summary
                .conflicts
                .push(format!("{}: the Ferry user is deleted", user.name));
            continue;
        }
        let owner_of_name = name_owner.get(&account.to_lowercase()).copied();
        if let Some(user) = existing {
            if owner_of_name.is_some_and(|id| id != user.id) {
                summary.conflicts.push(format!(
                    "{account}: renamed in the directory, but another Ferry user has that name"
                ));
                continue;
            }
            if let Some(local) = local_emails.get(&email_key(&email))
                && local.id != user.id
            {
                summary.conflicts.push(format!(
                    "{account}: e-mail {email} belongs to the local user {}",
                    local.name
                ));
                continue;
            }
            let mut after = user.clone();
            after.name = account.clone();
            after.domain_username = Some(domain_username);
            after.email = email;
            after.first_name = entry.first_name.trim().to_string();
            after.last_name = entry.last_name.trim().to_string();
            after.user_sync_id = Some(sync_id);
            after.active = true;
            if after == *user {
                summary.unchanged += 1;
            } else {
                name_owner.remove(&user.name.to_lowercase());
                name_owner.insert(account.to_lowercase(), user.id);
                summary.updated.push(account);
                changes.push(Change::Update {
                    before: Box::new(user.clone()),
                    after: Box::new(after),
                });
            }
            continue;
        }
        if owner_of_name.is_some() {
            summary.conflicts.push(format!(
                "{account}: a local Ferry user already has that login name"
            ));
            continue;
        }
        if let Some(local) = local_emails.get(&email_key(&email)) {
            summary.conflicts.push(format!(
                "{account}: e-mail {email} belongs to the local user {}",
                local.name
            ));
            continue;
        }
        name_owner.insert(account.to_lowercase(), -1);
        summary.created.push(account.clone());
        changes.push(Change::Create(NewUser {
            name: account,
            domain_username: Some(domain_username),
            first_name: entry.first_name.trim().to_string(),
            last_name: entry.last_name.trim().to_string(),
            email,
            role: Role::Member,
            active: true,
            user_sync_id: Some(sync_id),
            password_hash: None,
        }));
    }

    for user in users {
        if let Some(id) = &user.user_sync_id
            && user.active
            && !user.deleted
            && !seen.contains(id.as_str())
        {
            summary.deactivated.push(user.name.clone());
            changes.push(Change::Deactivate(user.clone()));
        }
    }
    (changes, summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;

    fn user(id: i64, name: &str, email: &str, sync_id: Option<&str>) -> User {
        User {
            id,
            name: name.into(),
            domain_username: sync_id.map(|_| format!("CORP\\{name}")),
            first_name: String::new(),
            last_name: String::new(),
            email: email.into(),
            role: Role::Member,
            active: true,
            deleted: false,
            user_sync_id: sync_id.map(str::to_string),
            home_folder_id: None,
            password_hash: None,
            created_at: Timestamp(0),
            quota: Default::default(),
        }
    }

    fn entry(sync_id: &str, account: &str, email: &str) -> DirectoryEntry {
        DirectoryEntry {
            sync_id: sync_id.into(),
            account: account.into(),
            email: email.into(),
            first_name: String::new(),
            last_name: String::new(),
        }
    }

    fn opts() -> SyncOptions {
        SyncOptions {
            domain: "CORP".into(),
            dry_run: false,
            max_deactivate_percent: 25,
            max_deactivate_count: 10,
            force: false,
        }
    }

    #[test]
    fn plan_creates_updates_renames_and_deactivates() {
        let users = vec![
            user(1, "admin", "admin@corp.example", None),
            user(2, "ann", "ann@corp.example", Some("g-ann")),
            user(3, "bob", "bob@corp.example", Some("g-bob")),
            user(4, "carl", "carl@corp.example", Some("g-carl")),
        ];
        let entries = vec![
            entry("g-ann", "ann", "ann@corp.example"),
            entry("G-BOB", "robert", "bob@corp.example"),
            entry("g-dora", "dora", "dora@corp.example"),
            entry("g-eve", "eve", "ADMIN@corp.example"),
            entry("g-fay", "admin", "fay@corp.example"),
            entry("g-bad", "no spaces allowed", "x@y"),
        ];
        let (_, s) = plan(&users, entries, &opts());
        assert_eq!(s.created, vec!["dora"]);
        assert_eq!(s.updated, vec!["robert"]);
        assert_eq!(s.deactivated, vec!["carl"]);
        assert_eq!(s.unchanged, 1);
        assert_eq!(s.conflicts.len(), 3, "{:?}", s.conflicts);
    }
}
