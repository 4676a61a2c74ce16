//! What the audit says of a resumable (tus) upload that stores nothing: one its client
//! cancelled (`DELETE`), or one idle for a day and forgotten. Each is an `UploadFailed`, as an
//! upload cut short is on every other path; the second is written by the sweep, which has no
//! session at hand, so the stored upload keeps who began it ([`BeganBy`], beside the request
//! in its `request` column).

use serde::{Deserialize, Serialize};

use super::{Service, SessionContext, UploadRequest};
use crate::domain::{AuditEntry, Operation, Outcome, UserId};
use crate::error::{Error, Result};
use crate::transfer_state::StoredUpload;

/// Who began a resumable upload: the fields [`SessionContext::stamp`] writes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct BeganBy {
    user_id: Option<UserId>,
    impersonator_id: Option<UserId>,
    application_id: Option<i64>,
    client_version: Option<String>,
    client_ip: Option<String>,
    declared_ip: Option<String>,
    external_user: Option<String>,
    session_tag: Option<String>,
}

/// A resumable upload's `request` column: the request (its fields at the top level, so that
/// uploads stored before `began_by` existed still read) and who began it.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredRequest {
    #[serde(flatten)]
    pub(super) req: UploadRequest,
    #[serde(default)]
    began_by: Option<BeganBy>,
}

impl StoredRequest {
    /// `req` begun in `ctx`, as the column keeps it.
    pub(super) fn to_column(ctx: &SessionContext, req: &UploadRequest) -> Result<String> {
        let mut stamp = AuditEntry::default();
        ctx.stamp(&mut stamp);
        let began_by = BeganBy {
            user_id: stamp.user_id,
            impersonator_id: stamp.impersonator_id,
            application_id: stamp.application_id,
            client_version: stamp.client_version,
            client_ip: stamp.client_ip,
            declared_ip: stamp.declared_ip,
            external_user: stamp.external_user,
            session_tag: stamp.session_tag,
        };
        serde_json::to_string(&StoredRequest {
            req: req.clone(),
            began_by: Some(began_by),
        })
        .map_err(|e| Error::Internal(format!("upload request: {e}")))
    }

    fn from_column(text: &str) -> Option<StoredRequest> {
        serde_json::from_str(text).ok()
    }
}

/// How far `stored` got, for a record's detail.
fn progress(stored: &StoredUpload) -> String {
    format!("after {} of {} bytes", stored.offset, stored.length)
}

impl Service {
    /// `DELETE` of a resumable upload by its client, in `ctx`: forgotten, its staged bytes
    /// removed, and (if it was not yet committed) audited as `UploadFailed`.
    pub async fn cancel_resumable(
        &self,
        ctx: &SessionContext,
        stored: &StoredUpload,
    ) -> Result<()> {
        let forgotten = self.discard_resumable(stored).await?;
        if forgotten
            && stored.done.is_none()
            && let Some(r) = StoredRequest::from_column(&stored.request)
        {
            let detail = format!(
                "the client cancelled the resumable upload {}; nothing was stored",
                progress(stored)
            );
            self.audit_upload_failure(ctx, &r.req, detail).await;
        }
        Ok(())
    }

    /// Audits a resumable upload forgotten after a day idle, as who began it (unknown for
    /// uploads stored before this was kept).
    pub(super) async fn audit_abandoned_resumable(&self, stored: &StoredUpload) {
        let Some(r) = StoredRequest::from_column(&stored.request) else {
            return;
        };
        let by = r.began_by.unwrap_or_default();
        let mut e = AuditEntry::new(Operation::UploadFailed, Outcome::Failure);
        e.user_id = by.user_id;
        e.impersonator_id = by.impersonator_id;
        e.application_id = by.application_id;
        e.client_version = by.client_version;
        e.client_ip = by.client_ip;
        e.declared_ip = by.declared_ip;
        e.external_user = r.req.external_user.clone().or(by.external_user);
        e.session_tag = by.session_tag;
        e.folder_id = Some(r.req.folder_id);
        e.path = Some(r.req.name.clone());
        e.detail = Some(format!(
            "the resumable upload was idle for a day {} and was forgotten; nothing was stored",
            progress(stored)
        ));
        if let Err(err) = self.audit_alone(e).await {
            tracing::warn!(error = %err, "could not audit an abandoned upload");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_stored_before_began_by_existed_still_reads() {
        let old = r#"{"folder_id":7,"name":"a.bin","overwrite":true,"expected_size":null,"expected_sha256":null,"external_user":null}"#;
        let r = StoredRequest::from_column(old).expect("read");
        assert_eq!((r.req.folder_id, r.req.name.as_str()), (7, "a.bin"));
        assert!(r.began_by.is_none());
        // And the new form still reads as a bare request (what a resumed upload parses).
        let new = serde_json::to_string(&StoredRequest {
            req: r.req.clone(),
            began_by: Some(BeganBy::default()),
        })
        .unwrap();
        let bare: UploadRequest = serde_json::from_str(&new).unwrap();
        assert_eq!(bare.name, "a.bin");
    }
}
