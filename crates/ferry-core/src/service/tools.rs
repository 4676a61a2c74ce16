//! The browser tools' access (spec 004, DESIGN.md §4, docs/upload-tool.md): a token opened
//! once, when the page opens, and exchanged for a short-lived *grant* that the page's own
//! requests carry. The token never rides on an upload.
//!
//! Opening checks everything the spec and DESIGN.md ask, in one place: the seal (version 1 or
//! 2) and the plaintext's `Version` agreeing with it, the tool (a folder token opens the
//! upload tool, a file token the download tool), the time window, the browser's address
//! against `AllowedIP`, the session alive, and the session's user allowed to create in the
//! folder (or to download the files). Every failure is the same [`Error::ToolTokenRefused`]
//! (the reason goes to the log and the audit) and counts toward the address lock-out, so
//! version 1's CBC cannot serve as a padding oracle. Optionally each token opens once
//! (a replay cache in the metadata store, shared by every node).
//!
//! A download token without `Session` (SARG 2.7.2.2's) names its files by access ID instead
//! (`access_ids.rs`): the page acts as the user the IDs were given to, who must be active.
//!
//! A grant is checked on every use: not expired, used from the token's address, its session
//! still alive (or, without one, its user still active). What is done through it is audited under the session's user with the token's
//! `Email` as the external user and the browser's address.

use std::net::IpAddr;

use ferry_crypto::ToolTokenKeys;

use super::path_upload::split_relative_path;
use super::tool_grants::GrantRecord;
use super::{FileView, FolderView, Service, SessionContext, Upload, UploadRequest};
use crate::clock::Timestamp;
use crate::domain::{AuditEntry, Operation, Outcome, Permissions};
use crate::error::{Error, Result};
use crate::tool_token::{ToolClaims, ToolTarget};

/// How the browser tools accept tokens.
#[derive(Debug)]
pub struct ToolSettings {
    /// The shared key (and IV, for version 1).
    pub keys: ToolTokenKeys,
    /// How old a token may be when its page opens.
    pub max_age_ms: i64,
    /// How far in the future a token's time may lie.
    pub max_skew_ms: i64,
    /// Whether each token opens its page once only.
    pub single_use: bool,
    /// How long a page's grant lasts after the page opened.
    pub grant_ttl_ms: i64,
}

impl ToolSettings {
    /// Default token window: ten minutes (DESIGN.md §4).
    pub const DEFAULT_MAX_AGE_MS: i64 = 10 * 60 * 1000;
    /// Default clock-skew allowance: one minute.
    pub const DEFAULT_MAX_SKEW_MS: i64 = 60 * 1000;
    /// Default grant lifetime: twelve hours, long enough for a large upload on a slow link.
    pub const DEFAULT_GRANT_TTL_MS: i64 = 12 * 3600 * 1000;

    /// Encrypts a token as an integrator would (for `ferry token issue` and tests): version 1
    /// with the CBC key and IV, version 2 sealed with GCM. What the server would refuse to
    /// read, it does not issue.
    pub fn issue(&self, claims: &ToolClaims) -> Result<String> {
        let json = claims.to_json();
        ToolClaims::parse(json.as_bytes()).map_err(Error::invalid)?;
        let sealed = match claims.version {
            1 => self.keys.seal_v1(json.as_bytes()),
            2 => self.keys.seal_v2(json.as_bytes()),
            v => return Err(Error::invalid(format!("token version {v} does not exist"))),
        };
        sealed.map_err(|e| Error::invalid(format!("cannot issue this token: {e}")))
    }
}

/// Which page a token is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolKind {
    /// `/tools/upload`: the token names a folder.
    Upload,
    /// `/tools/download`: the token names files.
    Download,
}

/// What a page allows beyond the token (the compatibility link's `ThruMaxFileNumber`,
/// `ThruFileFilter`, `ThruFileFilterExceptions`), enforced by the server for the grant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ToolLimits {
    /// Most files one token may upload (in progress or done).
    pub max_files: Option<u32>,
    /// Extensions allowed (lowercase, without the dot); `None` allows every one.
    pub allowed_extensions: Option<Vec<String>>,
    /// Extensions refused (lowercase, without the dot).
    pub refused_extensions: Vec<String>,
}

impl ToolLimits {
    fn check_name(&self, name: &str) -> Result<()> {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_lowercase())
            .unwrap_or_default();
        let allowed = self
            .allowed_extensions
            .as_ref()
            .is_none_or(|list| list.contains(&ext));
        if !allowed || self.refused_extensions.contains(&ext) {
            return Err(Error::ToolLimit(format!(
                "files of this type are not accepted here: {name}"
            )));
        }
        Ok(())
    }
}

/// A page's grant, as the page is built from it.
#[derive(Debug, Clone)]
pub struct ToolGrant {
    /// The secret the page's requests carry.
    pub id: String,
    /// Which tool.
    pub kind: ToolKind,
    /// The upload tool's folder.
    pub folder: Option<FolderView>,
    /// The download tool's files.
    pub files: Vec<FileView>,
    /// The token's `Email`.
    pub email: Option<String>,
    /// When the grant ends.
    pub expires_at: Timestamp,
    /// What the page allows.
    pub limits: ToolLimits,
    /// Files already started or uploaded with this token.
    pub files_used: u32,
    /// Downloads the page's link still allows, when its maker limited them.
    pub downloads_left: Option<i64>,
}

/// A grant found valid for one request.
#[derive(Debug, Clone)]
pub struct ToolAccess {
    /// The token's session, stamped for the audit with the token's `Email` and the browser's
    /// address.
    pub ctx: SessionContext,
    /// Which tool.
    pub kind: ToolKind,
    /// What the token names.
    pub target: ToolTarget,
    /// What the page allows.
    pub limits: ToolLimits,
    /// Identifies the token (its plaintext's SHA-256): uploads started under one page of a
    /// token may be resumed from another page of the same token (after a reload).
    pub token_digest: String,
    /// Whether the page is a shared link's ("Request files"): its uploads never replace a
    /// file (a new version needs Modify, which a request for files does not hand out; the
    /// recipient cannot even see what is there).
    pub link: bool,
}

/// A token that passed every check.
struct Opened {
    /// The claims, with access IDs turned into the files they name.
    claims: ToolClaims,
    /// Who a session-less token acts as.
    acting: Option<super::access_ids::Acting>,
    /// SHA-256 of the plaintext: identifies the token.
    digest: String,
    ctx: SessionContext,
    folder: Option<FolderView>,
    files: Vec<FileView>,
    allowance: Option<crate::domain::DownloadAllowance>,
}

impl Service {
    fn tool_settings(&self) -> Option<&ToolSettings> {
        self.config.tools.as_deref()
    }

    /// Opens a tool page: checks the token (see the module documentation) and returns a new
    /// grant. Every failure is [`Error::ToolTokenRefused`].
    pub async fn open_tool(
        &self,
        token: &str,
        kind: ToolKind,
        limits: ToolLimits,
        browser_ip: IpAddr,
    ) -> Result<ToolGrant> {
        let browser_ip = browser_ip.to_canonical();
        let ip_key = self.config.lockout.address_keys(browser_ip);
        // The address's turn, from the lock-out's check to a failure's count: a burst of
        // forged tokens is counted one by one (`address_gate.rs`).
        let turn = self.address_gate.turn(browser_ip).await;
        let now = self.clock.now();
        if self.lockout_in_force(&ip_key, false).await?.is_some() {
            return Err(self
                .refuse_token(&ip_key, browser_ip, "address locked out", None, false)
                .await);
        }
        match self.check_token(token, kind, browser_ip, now).await {
            Ok(Opened {
                claims,
                acting,
                digest,
                ctx,
                folder,
                files,
                allowance,
            }) => {
                drop(turn);
                let record = super::tool_grants::GrantRecord {
                    kind,
                    target: claims.target.clone(),
                    email: claims.email.clone(),
                    session: claims.session.map(|id| id.key()),
                    ip: browser_ip,
                    expires_at: now.plus_millis(self.tool_settings().map_or(0, |s| s.grant_ttl_ms)),
                    token_digest: digest.clone(),
                    limits: limits.clone(),
                    acting,
                };
                let expires_at = record.expires_at;
                // The page's grant is derived from its key, and stored as its digest alone
                // (`ferry_crypto::tool_grant`): a reloaded page renews its row and is handed
                // the same grant.
                let id = self
                    .tool_settings()
                    .ok_or(Error::Unavailable)?
                    .keys
                    .grant_for_page(&record.page_key());
                let stored = record.to_stored(ferry_crypto::sha256_hex(id.as_bytes()))?;
                self.store
                    .issue_grant(&stored, now, super::tool_grants::BOUNDS)
                    .await?
                    .ok_or(Error::Unavailable)?;
                let files_used = self.store.files_used(&digest, now).await?;
                let mut e = AuditEntry::new(Operation::ToolOpened, Outcome::Success);
                self.tool_ctx(&ctx, claims.email.clone(), browser_ip, &digest)
                    .stamp(&mut e);
                e.folder_id = folder.as_ref().map(|f| f.folder.id);
                e.detail = Some(format!(
                    "{} tool, token version {}",
                    match kind {
                        ToolKind::Upload => "upload",
                        ToolKind::Download => "download",
                    },
                    claims.version
                ));
                // Once a minute per token and network, with a count: a page reloaded, or a
                // link posted where many open it, is not a transfer, and anyone holding a
                // link could otherwise write a record per request (before 2026-12-07, 2,000
                // reloads wrote 2,000). Its transfers are each recorded as ever.
                let key = format!(
                    "tool-opened:{digest}:{}",
                    super::lockout::network_text(browser_ip)
                );
                self.audit_repeated(&key, None, e).await?;
                Ok(ToolGrant {
                    id,
                    kind,
                    folder,
                    files,
                    email: claims.email,
                    expires_at,
                    limits,
                    files_used,
                    downloads_left: allowance.map(|a| a.left()),
                })
            }
            Err((reason, ctx)) => Err(self
                .refuse_token(&ip_key, browser_ip, &reason, ctx.as_ref(), true)
                .await),
        }
    }

    /// Every check of a token; the error is the reason (for the log and the audit) and the
    /// session, when the token named a live one.
    async fn check_token(
        &self,
        token: &str,
        kind: ToolKind,
        browser_ip: IpAddr,
        now: Timestamp,
    ) -> std::result::Result<Opened, (String, Option<SessionContext>)> {
        let fail = |reason: String| (reason, None);
        let settings = self
            .tool_settings()
            .ok_or_else(|| fail("browser tools are not configured (no token key)".into()))?;
        let (sealed_as, plaintext) = settings.keys.open(token).map_err(|e| fail(e.to_string()))?;
        let mut claims = ToolClaims::parse(&plaintext).map_err(fail)?;
        if claims.version != sealed_as {
            return Err(fail(format!(
                "token says version {} but was sealed as version {sealed_as}",
                claims.version
            )));
        }
        match (&claims.target, kind) {
            (ToolTarget::Folder(_), ToolKind::Upload)
            | (ToolTarget::Files(_) | ToolTarget::AccessIds(_), ToolKind::Download) => {}
            _ => return Err(fail("token is for the other tool".into())),
        }
        let age = now.0 - claims.issued_at.0;
        match claims.expires_at {
            // A shared link: it lasts until it ends (or its session is ended: revoked).
            Some(end) if now >= end => {
                return Err(fail(format!("link expired at {}", end.to_rfc3339())));
            }
            Some(_) => {}
            None if age > settings.max_age_ms => {
                return Err(fail(format!("token expired ({} s old)", age / 1000)));
            }
            None => {}
        }
        if -age > settings.max_skew_ms {
            return Err(fail(format!("token dated {} s in the future", -age / 1000)));
        }
        if let Some(allowed) = claims.allowed_ip
            && allowed != browser_ip
        {
            return Err(fail(format!(
                "token allows {allowed} but the browser is at {browser_ip}"
            )));
        }
        let caller = super::Caller {
            ip: Some(browser_ip),
            client_version: None,
        };
        let (ctx, acting) = match (&claims.session, &claims.target) {
            (Some(session), _) => match self.authenticate(session, &caller).await {
                Ok(ctx) => (ctx, None),
                Err(Error::SessionNotFound) => {
                    return Err(fail("token's session is not alive".into()));
                }
                Err(e) => return Err(fail(format!("session check failed: {e}"))),
            },
            (None, ToolTarget::AccessIds(ids)) => {
                let (acting, files) = self.resolve_access_ids(ids).map_err(fail)?;
                let digest = ferry_crypto::sha256_hex(&plaintext);
                let ctx = match self.acting_context(acting, &digest, &caller).await {
                    Ok(ctx) => ctx,
                    Err(Error::SessionNotFound) => {
                        return Err(fail(
                            "the access ID's user (or the administrator it was asked for on behalf of) is disabled, gone or no longer one"
                                .into(),
                        ));
                    }
                    Err(e) => return Err(fail(format!("user check failed: {e}"))),
                };
                claims.target = ToolTarget::Files(files);
                (ctx, Some(acting))
            }
            (None, _) => return Err(fail("token has no Session".into())),
        };
        let with_ctx = |reason: String| (reason, Some(ctx.clone()));
        let (folder, files) = match &claims.target {
            ToolTarget::Folder(id) => {
                let held = self
                    .effective(&ctx, *id)
                    .await
                    .map_err(|e| with_ctx(format!("folder check failed: {e}")))?;
                if !held.contains(Permissions::SHOW.union(Permissions::CREATE)) {
                    return Err(with_ctx(format!(
                        "the session's user may not create in folder {id}"
                    )));
                }
                let folder = self
                    .folder(&ctx, *id)
                    .await
                    .map_err(|e| with_ctx(format!("folder {id}: {e}")))?;
                (Some(folder), Vec::new())
            }
            ToolTarget::Files(ids) => {
                let mut files = Vec::with_capacity(ids.len());
                for id in ids {
                    let view = self
                        .file(&ctx, *id)
                        .await
                        .map_err(|e| with_ctx(format!("file {id}: {e}")))?;
                    if !view.effective.contains(Permissions::DOWNLOAD) {
                        return Err(with_ctx(format!(
                            "the session's user may not download file {id}"
                        )));
                    }
                    files.push(view);
                }
                (None, files)
            }
            ToolTarget::AccessIds(_) => {
                return Err(with_ctx("access IDs were not resolved".into()));
            }
        };
        let link = super::share_links::is_link(&ctx, claims.session.is_some());
        if link
            && !self
                .link_distributes(&ctx, &claims.target)
                .await
                .map_err(|e| with_ctx(format!("Distribute check failed: {e}")))?
        {
            return Err(with_ctx(
                "the link's maker no longer holds Distribute on what it opens".into(),
            ));
        }
        let allowance = self.allowance_of_page(&ctx, link).await.map_err(with_ctx)?;
        let digest = ferry_crypto::sha256_hex(&plaintext);
        // A shared link is opened as often as its recipient likes until it ends or is
        // revoked; single use is for an integrator's hand-off tokens.
        if settings.single_use && claims.expires_at.is_none() {
            let until = claims.expires_at.unwrap_or_else(|| {
                claims
                    .issued_at
                    .plus_millis(settings.max_age_ms.max(settings.max_skew_ms))
            });
            let spent = async {
                let mut tx = self.store.begin().await?;
                let fresh = tx
                    .spend_token(&digest, until.max(now.plus_millis(1)), now)
                    .await?;
                tx.commit().await?;
                Ok::<bool, Error>(fresh)
            }
            .await
            .map_err(|e| with_ctx(format!("replay cache: {e}")))?;
            if !spent {
                return Err(with_ctx("single-use token was used before".into()));
            }
        }
        Ok(Opened {
            claims,
            acting,
            digest,
            ctx,
            folder,
            files,
            allowance,
        })
    }

    /// Counts a refused token toward the address lock-out and audits the reason; returns the
    /// one answer every refusal gets.
    async fn refuse_token(
        &self,
        ip_key: &[super::lockout::LockoutKey],
        browser_ip: IpAddr,
        reason: &str,
        ctx: Option<&SessionContext>,
        count: bool,
    ) -> Error {
        tracing::warn!(%browser_ip, %reason, "browser-tool token refused");
        let mut e = AuditEntry::new(Operation::ToolTokenRefused, Outcome::Failure);
        if let Some(ctx) = ctx {
            ctx.stamp(&mut e);
        }
        e.client_ip = Some(browser_ip.to_string());
        e.detail = Some(reason.to_string());
        let recorded = if count {
            self.record_failed_signin(ip_key, e).await
        } else {
            let key = ip_key.first().map_or("ip", |k| k.key.as_str());
            self.audit_repeated(key, Some(browser_ip), e).await
        };
        match recorded {
            Ok(()) => Error::ToolTokenRefused,
            Err(Error::Unavailable) => Error::Unavailable,
            Err(other) => {
                tracing::error!(error = %other, "could not record a refused token");
                Error::ToolTokenRefused
            }
        }
    }

    fn tool_ctx(
        &self,
        ctx: &SessionContext,
        email: Option<String>,
        ip: IpAddr,
        token_digest: &str,
    ) -> SessionContext {
        let mut ctx = ctx.clone();
        ctx.session.external_user = email;
        ctx.client_ip = Some(ip.to_string());
        ctx.tool_page = Some(token_digest.to_string());
        ctx
    }

    /// Finds a grant for one request from `browser_ip`. Unknown, expired, used from another
    /// address, or with its session gone: [`Error::ToolGrantInvalid`], whatever the reason.
    pub async fn tool_access(&self, grant_id: &str, browser_ip: IpAddr) -> Result<ToolAccess> {
        let browser_ip = browser_ip.to_canonical();
        let now = self.clock.now();
        // Stored by its digest only (see `open_tool`).
        let stored = self
            .store
            .grant(&ferry_crypto::sha256_hex(grant_id.as_bytes()))
            .await?;
        let record = stored.as_ref().and_then(GrantRecord::from_stored);
        let record = match record {
            Some(r) if r.expires_at > now && r.ip == browser_ip => r,
            Some(r) => {
                tracing::info!(%browser_ip, expired = r.expires_at <= now, "grant refused");
                return Err(Error::ToolGrantInvalid);
            }
            None => return Err(Error::ToolGrantInvalid),
        };
        let caller = super::Caller {
            ip: Some(browser_ip),
            client_version: None,
        };
        let found = match (&record.session, record.acting) {
            (Some(session), _) => self.authenticate_key(session, &caller).await,
            (None, Some(acting)) => {
                self.acting_context(acting, &record.token_digest, &caller)
                    .await
            }
            (None, None) => Err(Error::SessionNotFound),
        };
        let ctx = match found {
            Ok(ctx) => ctx,
            Err(Error::SessionNotFound) => return Err(Error::ToolGrantInvalid),
            Err(e) => return Err(e),
        };
        let link = super::share_links::is_link(&ctx, record.session.is_some());
        if link && !self.link_distributes(&ctx, &record.target).await? {
            tracing::info!(%browser_ip, "grant refused: the link's maker no longer holds Distribute");
            return Err(Error::ToolGrantInvalid);
        }
        Ok(ToolAccess {
            ctx: self.tool_ctx(&ctx, record.email.clone(), browser_ip, &record.token_digest),
            kind: record.kind,
            target: record.target.clone(),
            limits: record.limits.clone(),
            token_digest: record.token_digest.clone(),
            link,
        })
    }

    /// Starts an upload through the upload tool: `relative_path` is the file's name, or
    /// `folder/…/name` when a whole folder was dropped (the folders are found or created
    /// under the token's folder). Checks the page's limits and takes one file from its
    /// allowance; [`Service::tool_release_file`] gives it back if the upload is abandoned.
    pub async fn tool_begin_upload(
        &self,
        access: &ToolAccess,
        relative_path: &str,
        size: u64,
    ) -> Result<Upload> {
        let ToolTarget::Folder(root) = access.target else {
            return Err(Error::ToolGrantInvalid);
        };
        if access.kind != ToolKind::Upload {
            return Err(Error::ToolGrantInvalid);
        }
        let (folders, name) = split_relative_path(relative_path)?;
        access.limits.check_name(&name)?;
        self.take_file_allowance(access).await?;
        let started = self
            .begin_upload_below(
                &access.ctx,
                root,
                &folders,
                UploadRequest {
                    folder_id: root,
                    name,
                    overwrite: !access.link,
                    rename_if_taken: access.link,
                    expected_size: Some(size),
                    expected_sha256: None,
                    external_user: access.ctx.session.external_user.clone(),
                },
            )
            .await;
        if started.is_err() {
            self.tool_release_file(access).await;
        }
        started
    }

    async fn take_file_allowance(&self, access: &ToolAccess) -> Result<()> {
        let now = self.clock.now();
        let until = now.plus_millis(
            self.tool_settings()
                .map_or(0, |s| s.grant_ttl_ms.saturating_mul(2)),
        );
        let max = access.limits.max_files;
        if self
            .store
            .take_file(&access.token_digest, max, until, now)
            .await?
        {
            return Ok(());
        }
        Err(Error::ToolLimit(format!(
            "this link accepts at most {} files",
            max.unwrap_or(0)
        )))
    }

    /// Gives back one file of a token's allowance (an upload cancelled or failed). A store
    /// that fails here leaves the file counted (logged): the allowance errs on the safe side.
    pub async fn tool_release_file(&self, access: &ToolAccess) {
        if let Err(e) = self.store.release_file(&access.token_digest).await {
            tracing::warn!(error = %e, "could not give back a file of a link's allowance");
        }
    }
}
