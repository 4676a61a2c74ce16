//! Reading the audit trail back: verification of the hash chain and paged export.

use super::Service;
use crate::domain::{AuditHead, AuditRecord, audit::GENESIS_HASH};
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
    /// The hash of the last record checked ([`GENESIS_HASH`] when none): with `records`, the
    /// chain's head when it holds, an anchor to keep off this machine
    /// ([`Service::verify_audit_chain_against`]).
    pub last_hash: String,
}

/// Parses an anchor as `ferry audit verify` prints it and the server logs it: `SEQ:HASH`,
/// the hash as 64 hexadecimal digits.
pub fn parse_anchor(text: &str) -> Option<AuditHead> {
    let (seq, hash) = text.trim().split_once(':')?;
    let seq: i64 = seq.parse().ok().filter(|s| *s >= 1)?;
    let hash = hash.to_ascii_lowercase();
    (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(AuditHead { seq, hash })
}

impl Service {
    /// Walks the whole chain from the first record: sequence numbers without gaps, each record's
    /// `prev_hash` equal to the hash before it, each hash matching its content, and the head
    /// (kept separately) matching the last record, so that truncation is seen too.
    pub async fn verify_audit_chain(&self) -> Result<AuditVerification> {
        self.verify_audit_chain_against(&[]).await
    }

    /// [`Service::verify_audit_chain`], and each of `anchors` (a record's place and hash, kept
    /// apart from the database: the server's log, an earlier `ferry audit verify`) must name
    /// a record of the chain with that hash. The chain alone cannot show a trail rewritten
    /// whole from some record on, hashes recomputed and the head moved (anyone who can write
    /// the database can do that); an anchor taken before the rewrite does.
    pub async fn verify_audit_chain_against(
        &self,
        anchors: &[AuditHead],
    ) -> Result<AuditVerification> {
        let head = self.store.audit_head().await?;
        let mut expected_seq = 1;
        let mut prev_hash = GENESIS_HASH.to_string();
        loop {
            let page = self.store.audit_records(expected_seq - 1, PAGE).await?;
            let len = page.len() as i64;
            for r in page {
                let anchored = anchors.iter().find(|a| a.seq == r.seq);
                let fault = if r.seq != expected_seq {
                    Some(format!("record {expected_seq} is missing"))
                } else if r.prev_hash != prev_hash {
                    Some("its previous-hash does not match the record before it".into())
                } else if !r.hash_is_consistent() {
                    Some("its content does not match its hash (edited)".into())
                } else if anchored.is_some_and(|a| a.hash != r.hash) {
                    Some(
                        "its hash is not the anchor's: the trail was rewritten from here or \
                         before, hashes and all"
                            .into(),
                    )
                } else {
                    None
                };
                if let Some(reason) = fault {
                    return Ok(AuditVerification {
                        records: expected_seq - 1,
                        first_broken: Some(BrokenLink {
                            seq: expected_seq,
                            reason,
                        }),
                        last_hash: prev_hash,
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
        // The furthest record something outside the trail says exists: the head row, or an
        // anchor past the end.
        let promised = anchors
            .iter()
            .find(|a| a.seq > records)
            .map(|a| format!("an anchor names record {}", a.seq))
            .or_else(|| {
                (head.seq != records || head.hash != prev_hash)
                    .then(|| format!("the chain head says {} records", head.seq))
            });
        Ok(AuditVerification {
            records,
            first_broken: promised.map(|who| BrokenLink {
                seq: records + 1,
                reason: format!(
                    "{who}, but the trail ends after {records}: records were removed from the end"
                ),
            }),
            last_hash: prev_hash,
        })
    }

    /// The chain's head as stored now: what the server logs as an anchor.
    pub async fn audit_anchor(&self) -> Result<AuditHead> {
        Ok(self.store.audit_head().await?)
    }

    /// Up to `limit` audit records after `after_seq`, for export.
    pub async fn audit_records(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        Ok(self.store.audit_records(after_seq, limit).await?)
    }
}
