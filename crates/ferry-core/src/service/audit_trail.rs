//! Reading the audit trail back: verification of the hash chain and paged export.

use super::Service;
use crate::domain::{AuditRecord, audit::GENESIS_HASH};
use crate::error::Result;

/// Records read per page when walking the chain.
const PAGE: i64 = 1000;

/// The first place where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// Sequence number of the first record that fails (or that is missing).
    pub seq: i64,
    /// What is wrong there.
    pub reason: String,
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerification {
    /// Records checked.
    pub records: i64,
    /// `None` if the whole chain holds.
    pub first_broken: Option<BrokenLink>,
}

impl Service {
    /// Walks the whole chain from the first record: sequence numbers without gaps, each record's
    /// `prev_hash` equal to the hash before it, each hash matching its content, and the head
    /// (kept separately) matching the last record, so that truncation is seen too.
    pub async fn verify_audit_chain(&self) -> Result<AuditVerification> {
        let head = self.store.audit_head().await?;
        let mut expected_seq = 1;
        let mut prev_hash = GENESIS_HASH.to_string();
        loop {
            let page = self.store.audit_records(expected_seq - 1, PAGE).await?;
            let len = page.len() as i64;
            for r in page {
                let broken = if r.seq != expected_seq {
                    Some(format!("record {expected_seq} is missing"))
                } else if r.prev_hash != prev_hash {
                    Some("its previous-hash does not match the record before it".into())
                } else if !r.hash_is_consistent() {
                    Some("its content does not match its hash (edited)".into())
                } else {
                    None
                };
                if let Some(reason) = broken {
                    return Ok(AuditVerification {
                        records: expected_seq - 1,
                        first_broken: Some(BrokenLink {
                            seq: expected_seq,
                            reason,
                        }),
                    });
                }
                prev_hash = r.hash;
                expected_seq += 1;
            }
            if len < PAGE {
                break;
            }
        }
        let records = expected_seq - 1;
        let first_broken = (head.seq != records || head.hash != prev_hash).then(|| BrokenLink {
            seq: records + 1,
            reason: format!(
                "the chain head says {} records, but the trail ends after {records}: records were removed from the end",
                head.seq
            ),
        });
        Ok(AuditVerification {
            records,
            first_broken,
        })
    }

    /// Up to `limit` audit records after `after_seq`, for export.
    pub async fn audit_records(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        Ok(self.store.audit_records(after_seq, limit).await?)
    }
}
