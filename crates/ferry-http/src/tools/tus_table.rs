//! The tus uploads a node holds between requests: each upload's grant, length, offset and
//! open [`Upload`], keyed by the random ID in its URL. Bounded: uploads in progress per node
//! and per token, completed ones remembered for an hour (so a client whose last answer was
//! lost learns from `HEAD` that its file is stored), idle ones forgotten after a day.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_core::service::{Upload, UploadMark};

use super::tus_owner::Uploader;

/// Most uploads in progress on this node.
const MAX_UPLOADS: usize = 10_000;
/// Most uploads in progress for one token (or one web-client user).
const MAX_UPLOADS_PER_TOKEN: usize = 1_000;
/// Uploads idle this long are forgotten.
const IDLE_EXPIRY: Duration = Duration::from_secs(24 * 3600);
/// A completed upload is remembered this long, so that a client whose last `PATCH` answer
/// was lost learns from `HEAD` that it is complete instead of sending the file again.
const DONE_EXPIRY: Duration = Duration::from_secs(3600);
/// Most completed uploads remembered on this node (the oldest are forgotten first).
const MAX_DONE: usize = 10_000;

/// The uploads this node holds.
#[derive(Default)]
pub struct TusUploads {
    map: std::sync::Mutex<HashMap<String, Arc<Entry>>>,
}

impl std::fmt::Debug for TusUploads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.map.lock().map(|m| m.len()).unwrap_or(0);
        write!(f, "TusUploads({n} in progress)")
    }
}

pub(super) struct Entry {
    pub(super) owner: Uploader,
    /// `owner.key()`, kept for lookups.
    pub(super) owner_key: String,
    pub(super) length: u64,
    pub(super) offset: AtomicU64,
    pub(super) last_used: AtomicU64,
    /// Set once the file is committed: a completed upload no longer counts toward the
    /// limits of uploads in progress, and is forgotten sooner.
    pub(super) completed: AtomicBool,
    /// Counts `PATCH`es; a running one stops when a newer one arrives (its client is gone,
    /// perhaps without the server noticing: a phone that changed networks).
    pub(super) patches: AtomicU64,
    pub(super) preempt: tokio::sync::Notify,
    /// Where the upload stood before a write that was cancelled half-way.
    pub(super) torn: std::sync::Mutex<Option<UploadMark>>,
    pub(super) state: tokio::sync::Mutex<Progress>,
}

pub(super) enum Progress {
    Receiving(Box<Upload>),
    Done,
    Gone,
}

pub(super) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl TusUploads {
    pub(super) fn get(&self, id: &str, owner: &Uploader) -> Option<Arc<Entry>> {
        let key = owner.key();
        let map = self.map.lock().expect("tus map lock");
        map.get(id).filter(|e| e.owner_key == key).cloned()
    }

    pub(super) fn remove(&self, id: &str) {
        self.map.lock().expect("tus map lock").remove(id);
    }

    /// Holds a new upload.
    pub(super) fn insert(&self, id: String, entry: Arc<Entry>) {
        self.map.lock().expect("tus map lock").insert(id, entry);
    }

    /// Whether `token` (an owner's key) may start another upload: forgets idle and long-completed uploads,
    /// then counts those in progress on the node and of the token. Completed uploads do not
    /// count: a link that takes many files a day is not refused for the files it took.
    pub(super) fn has_room(&self, token: &str) -> bool {
        let (total, mine) = self.prune(token);
        total < MAX_UPLOADS && mine < MAX_UPLOADS_PER_TOKEN
    }

    fn prune(&self, token: &str) -> (usize, usize) {
        let now = now_secs();
        let idle_cutoff = now.saturating_sub(IDLE_EXPIRY.as_secs());
        let done_cutoff = now.saturating_sub(DONE_EXPIRY.as_secs());
        let mut map = self.map.lock().expect("tus map lock");
        map.retain(|_, e| {
            let cutoff = if e.completed.load(Ordering::Acquire) {
                done_cutoff
            } else {
                idle_cutoff
            };
            e.last_used.load(Ordering::Relaxed) > cutoff
        });
        let completed = |e: &Arc<Entry>| e.completed.load(Ordering::Acquire);
        let mut done = map.values().filter(|e| completed(e)).count();
        if done > MAX_DONE {
            // Rare (10,000 uploads completed within the hour): the oldest are forgotten.
            let mut oldest: Vec<(u64, String)> = map
                .iter()
                .filter(|(_, e)| completed(e))
                .map(|(id, e)| (e.last_used.load(Ordering::Relaxed), id.clone()))
                .collect();
            oldest.sort_unstable();
            for (_, id) in &oldest[..done - MAX_DONE] {
                map.remove(id);
            }
            done = MAX_DONE;
        }
        let in_progress = map.len() - done;
        let mine = map
            .values()
            .filter(|e| !e.completed.load(Ordering::Acquire) && e.owner_key == token)
            .count();
        (in_progress, mine)
    }
}
