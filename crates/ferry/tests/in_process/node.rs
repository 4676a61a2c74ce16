//! A Service in the test's own process, as a node of Ferry would build it: on a database URL
//! and a content directory, with a clock the test moves and a cheap password hasher.

use std::path::Path;
use std::sync::Arc;

use ferry_core::{ManualClock, Service, ServiceConfig};
use ferry_crypto::{PasswordHasher, PasswordParams};

/// A node on `url` (already migrated or fresh) whose content is under `content`.
#[allow(dead_code)] // Not every test that declares this module builds its node this way.
pub fn node(
    rt: &tokio::runtime::Runtime,
    url: &str,
    content: &Path,
    clock: Arc<ManualClock>,
) -> Service {
    node_with(rt, url, content, clock, ServiceConfig::default())
}

/// The same with `config` (the browser tools' key, two-step sign-in, …).
pub fn node_with(
    rt: &tokio::runtime::Runtime,
    url: &str,
    content: &Path,
    clock: Arc<ManualClock>,
    config: ServiceConfig,
) -> Service {
    let store = rt
        .block_on(ferry_store_sql::connect(url, &Default::default()))
        .unwrap();
    let content = rt
        .block_on(ferry_content_fs::LocalContentStore::open(
            content.to_path_buf(),
        ))
        .unwrap();
    let hasher = PasswordHasher::new(PasswordParams {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    })
    .unwrap();
    Service::new(Arc::new(store), Arc::new(content), clock, hasher, config)
}
