//! Reading the audit log through a session (`GetAuditLog`, the console's audit page and
//! export, a file page's activity, the directory page's last runs): Administrators and System
//! users only, and each read is itself recorded.
//!
//! Why a read is recorded: the trail says who did what to the files, so who looked at the
//! trail (what they searched for: a user's downloads, a folder's history) is part of it, as
//! compliance regimes ask (PCI DSS 10.2.1.3, access to audit logs). Before 2026-12-07 an
//! administrator could read or export the whole trail and leave no trace in it; a member
//! asking was refused unrecorded. Now a read appends `AuditLogRead` (what was asked for, how
//! many records came back) after the records are read and before they are answered, so the
//! answer is the log as it stood and no record of it goes out unrecorded; a refusal is an
//! `AccessDenied`, written once a minute per user and address with a count (a client
//! retrying in a loop writes no record per try). An export is one read, recorded when it
//! begins, not one per page. `ferry audit export` is not recorded: its operator reads the
//! database file, which `sqlite3` would read without any record.

use super::{Service, SessionContext};
use crate::domain::{AuditEntry, AuditRecord, Operation, Outcome};
use crate::error::{Error, Result};
use crate::store::AuditFilter;
use crate::text;

/// Checks that `ctx` may read the audit log; a refusal is audited (folded per minute).
async fn may_read(svc: &Service, ctx: &SessionContext) -> Result<()> {
    if ctx.user.role.may_impersonate() {
        return Ok(());
    }
    let mut e = AuditEntry::new(Operation::AccessDenied, Outcome::Failure);
    ctx.stamp(&mut e);
    e.detail = Some("the audit log is for administrators".into());
    let ip = ctx.client_ip.as_deref().and_then(|ip| ip.parse().ok());
    svc.audit_repeated(&format!("audit-log:{}", ctx.user.id), ip, e)
        .await?;
    Err(Error::NotPermitted("the audit log is for administrators"))
}

/// What a filter asked for, as a read's record says it.
fn described(filter: &AuditFilter) -> String {
    let mut parts = Vec::new();
    if let Some(op) = &filter.operation {
        parts.push(format!("operation {op}"));
    }
    if let Some(u) = filter.user_id {
        parts.push(format!("user {u}"));
    }
    if let Some(a) = filter.application_id {
        parts.push(format!("application {a}"));
    }
    if let Some(f) = filter.folder_id {
        parts.push(format!("folder {f}"));
    }
    if let Some(f) = filter.file_id {
        parts.push(format!("file {f}"));
    }
    if let Some(t) = filter.from {
        parts.push(format!("from {}", t.to_rfc3339()));
    }
    if let Some(t) = filter.to {
        parts.push(format!("to {}", t.to_rfc3339()));
    }
    if let Some(s) = filter.before_seq {
        parts.push(format!("before record {s}"));
    }
    if parts.is_empty() {
        "every record".into()
    } else {
        parts.join(", ")
    }
}

impl Service {
    /// Appends the record of a read of the audit log by `ctx` (`detail` says what was read).
    async fn record_audit_read(&self, ctx: &SessionContext, detail: String) -> Result<()> {
        let mut e = AuditEntry::new(Operation::AuditLogRead, Outcome::Success);
        ctx.stamp(&mut e);
        e.detail = Some(detail);
        self.audit_alone(e).await
    }

    /// The records of a page, checked and unrecorded.
    async fn audit_page(
        &self,
        filter: &AuditFilter,
        skip: i64,
        take: i64,
    ) -> Result<Vec<AuditRecord>> {
        super::search::check_page(skip, take)?;
        if let Some(op) = &filter.operation {
            text::plain("operation", op, 64)?;
        }
        Ok(self.store.audit_query(filter, skip, take).await?)
    }

    /// `GetAuditLog` (and the console's audit page): records matching the filters, newest
    /// first, the read recorded. Administrators and System users only.
    pub async fn audit_log(
        &self,
        ctx: &SessionContext,
        filter: &AuditFilter,
        skip: i64,
        take: i64,
    ) -> Result<Vec<AuditRecord>> {
        may_read(self, ctx).await?;
        let records = self.audit_page(filter, skip, take).await?;
        let detail = format!(
            "{} record(s) of {} (skip {skip}, take {take})",
            records.len(),
            described(filter)
        );
        self.record_audit_read(ctx, detail).await?;
        Ok(records)
    }

    /// The first page of an export of every record `filter` selects (as `format`), the export
    /// recorded once; later pages come from [`Service::audit_log_continued`].
    pub async fn audit_export(
        &self,
        ctx: &SessionContext,
        filter: &AuditFilter,
        format: &str,
        take: i64,
    ) -> Result<Vec<AuditRecord>> {
        may_read(self, ctx).await?;
        let records = self.audit_page(filter, 0, take).await?;
        let detail = format!("export ({format}) of {}", described(filter));
        self.record_audit_read(ctx, detail).await?;
        Ok(records)
    }

    /// The next page of an export that [`Service::audit_export`] began with `ctx`: the session
    /// is asked again, so an administrator signed out, ended or demoted (which ends their
    /// sessions) stops receiving the log at the next page rather than at the end of a
    /// download that may run for minutes. Not recorded again: the export's record says what
    /// it reads.
    pub async fn audit_log_continued(
        &self,
        ctx: &SessionContext,
        filter: &AuditFilter,
        take: i64,
    ) -> Result<Vec<AuditRecord>> {
        if !self.context_alive(ctx).await? {
            return Err(Error::SessionNotFound);
        }
        may_read(self, ctx).await?;
        self.audit_page(filter, 0, take).await
    }

    /// The last `take` records about one file, for its page's activity (administrators only;
    /// `None` for anyone else, unrecorded), the read recorded.
    pub(super) async fn file_activity(
        &self,
        ctx: &SessionContext,
        file: crate::domain::FileId,
        take: i64,
    ) -> Result<Option<Vec<AuditRecord>>> {
        if !ctx.user.role.may_impersonate() {
            return Ok(None);
        }
        let filter = AuditFilter {
            file_id: Some(file),
            ..AuditFilter::default()
        };
        let records = self.store.audit_query(&filter, 0, take).await?;
        let detail = format!("{} record(s) of file {file}, on its page", records.len());
        self.record_audit_read(ctx, detail).await?;
        Ok(Some(records))
    }
}

#[cfg(test)]
mod tests {
    use super::described;
    use crate::clock::Timestamp;
    use crate::store::AuditFilter;

    #[test]
    fn a_read_says_what_it_asked_for() {
        assert_eq!(described(&AuditFilter::default()), "every record");
        let f = AuditFilter {
            operation: Some("FileDownloaded".into()),
            user_id: Some(12),
            folder_id: Some(5),
            from: Some(Timestamp(0)),
            before_seq: Some(900),
            ..AuditFilter::default()
        };
        assert_eq!(
            described(&f),
            "operation FileDownloaded, user 12, folder 5, from 1970-01-01T00:00:00Z, before record 900"
        );
    }
}
