//! Test support: the audit chain read back whole (no gap, each record linked to the one before
//! and matching its hash, the head on the last), for the writers' tests.

use ferry_core::domain::AuditRecord;
use ferry_core::domain::audit::GENESIS_HASH;
use ferry_core::store::MetadataStore;

use crate::SqlStore;

/// Every record from the first, after checking that the chain is whole.
pub(crate) async fn whole_chain(store: &SqlStore) -> Vec<AuditRecord> {
    let records = store.audit_records(0, 10_000).await.unwrap();
    let mut prev = GENESIS_HASH.to_string();
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as i64 + 1, "no gap");
        assert_eq!(
            r.prev_hash, prev,
            "record {} links to the one before",
            r.seq
        );
        assert!(r.hash_is_consistent(), "record {} matches its hash", r.seq);
        prev = r.hash.clone();
    }
    let head = store.audit_head().await.unwrap();
    assert_eq!((head.seq, head.hash), (records.len() as i64, prev));
    records
}
