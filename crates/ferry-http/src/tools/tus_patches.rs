//! The tus `PATCH`es running on this node, by upload: a newer request for the same upload
//! (a client that reconnected, perhaps without the server noticing the old connection go)
//! tells the running one to stop at once, rather than at its next hold renewal, which is how
//! a `PATCH` running on another node learns it. Holds nothing else: where an upload stands
//! is in the metadata store (`ferry_core::service::resumable`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// The running `PATCH`es of this node.
#[derive(Default)]
pub struct TusPatches {
    running: Mutex<HashMap<String, Arc<Notify>>>,
}

impl std::fmt::Debug for TusPatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.running.lock().map(|m| m.len()).unwrap_or(0);
        write!(f, "TusPatches({n} running)")
    }
}

/// A running `PATCH`'s place in the table, given up when dropped.
pub(super) struct Running<'a> {
    table: &'a TusPatches,
    id: String,
    /// Notified when a newer request wants the upload.
    pub(super) stop: Arc<Notify>,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let mut running = self.table.running.lock().expect("tus table lock");
        if running
            .get(&self.id)
            .is_some_and(|n| Arc::ptr_eq(n, &self.stop))
        {
            running.remove(&self.id);
        }
    }
}

impl TusPatches {
    /// Registers a `PATCH` of upload `id` (which holds the upload's hold).
    pub(super) fn start(&self, id: &str) -> Running<'_> {
        let stop = Arc::new(Notify::new());
        self.running
            .lock()
            .expect("tus table lock")
            .insert(id.to_string(), Arc::clone(&stop));
        Running {
            table: self,
            id: id.to_string(),
            stop,
        }
    }

    /// Asks the `PATCH` of upload `id` running here, if any, to stop.
    pub(super) fn stop(&self, id: &str) {
        if let Some(n) = self.running.lock().expect("tus table lock").get(id) {
            n.notify_one();
        }
    }
}
