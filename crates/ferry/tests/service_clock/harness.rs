//! The test harness of `service_clock.rs`: a Service on a store of either engine and a local
//! content store, with a clock the test moves, and the user `sam` signed in as the tests need.

use std::sync::Arc;

use ferry_core::domain::{SessionId, SessionKey};
use ferry_core::service::{NewUserRequest, OpenMode, OpenRequest, SessionContext, UploadRequest};
use ferry_core::{Actor, Caller, Error, ManualClock, Service, ServiceConfig, Timestamp};
use ferry_crypto::{PasswordHasher, PasswordParams};
use ferry_testkit::Backend;

use super::APP;

pub struct Harness {
    pub service: Service,
    pub store: Arc<ferry_store_sql::SqlStore>,
    pub clock: Arc<ManualClock>,
    pub _dir: tempfile::TempDir,
    pub rt: tokio::runtime::Runtime,
}

impl Harness {
    pub fn new(backend: Backend, config: ServiceConfig) -> Harness {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let url = backend.fresh_database_url(dir.path());
        let store = rt
            .block_on(ferry_store_sql::connect(&url, &Default::default()))
            .unwrap();
        let clock = Arc::new(ManualClock::new(Timestamp(1_800_000_000_000)));
        let hasher = PasswordHasher::new(PasswordParams {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        let content = rt
            .block_on(ferry_content_fs::LocalContentStore::open(
                dir.path().join("content"),
            ))
            .unwrap();
        let store = Arc::new(store);
        let service = Service::new(
            store.clone(),
            Arc::new(content),
            clock.clone(),
            hasher,
            config,
        );
        let h = Harness {
            service,
            store,
            clock,
            _dir: dir,
            rt,
        };
        h.rt.block_on(h.service.add_user(
            &Actor::Cli { os_user: None },
            NewUserRequest {
                name: "sam".into(),
                role: ferry_core::domain::Role::Administrator,
                email: String::new(),
                first_name: String::new(),
                last_name: String::new(),
                password: Some("sam-password".into()),
            },
        ))
        .unwrap();
        h.rt.block_on(
            h.service
                .add_application(&Actor::Cli { os_user: None }, APP, "tests"),
        )
        .unwrap();
        h
    }

    /// Signs sam in; the key of the session (all an SFTP sign-in is handed back).
    pub fn open(&self, mode: OpenMode, app: i64, password: &str) -> Result<SessionKey, Error> {
        self.open_from("192.0.2.1", mode, app, password)
    }

    /// Signs sam in to a client application; the session's ID.
    pub fn open_id(&self, mode: OpenMode, app: i64, password: &str) -> SessionId {
        let req = sam_signs_in(mode, app, password);
        self.rt
            .block_on(self.service.open(req, &Caller::default()))
            .unwrap()
            .session_id
    }

    /// Signs sam in from the client at `ip`.
    pub fn open_from(
        &self,
        ip: &str,
        mode: OpenMode,
        app: i64,
        password: &str,
    ) -> Result<SessionKey, Error> {
        let caller = Caller {
            ip: Some(ip.parse().unwrap()),
            client_version: None,
        };
        let req = sam_signs_in(mode, app, password);
        if ferry_core::domain::application::is_reserved(app) {
            // Only Ferry's own front ends sign in to a reserved application (SFTP here).
            let limit = ferry_core::connection_limit::UserConnectionLimit::new("sftp", 100);
            return self
                .rt
                .block_on(self.service.open_counted(req, &caller, &limit))
                .map(|(d, _permit)| d.key);
        }
        self.rt
            .block_on(self.service.open(req, &caller))
            .map(|d| d.session_id.key())
    }

    pub fn alive(&self, key: &SessionKey) -> bool {
        match self
            .rt
            .block_on(self.service.authenticate_key(key, &Caller::default()))
        {
            Ok(_) => true,
            Err(Error::SessionNotFound) => false,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    pub fn sweep(&self) -> usize {
        self.rt
            .block_on(self.service.sweep_expired_sessions())
            .unwrap()
    }

    pub fn upload(&self, ctx: &SessionContext, folder: i64, name: &str, data: &[u8]) -> i64 {
        self.rt.block_on(async {
            let req = UploadRequest {
                folder_id: folder,
                name: name.into(),
                overwrite: true,
                rename_if_taken: false,
                expected_size: Some(data.len() as u64),
                expected_sha256: None,
                external_user: None,
            };
            let mut up = self.service.begin_upload(ctx, req).await.unwrap();
            up.write(data).await.unwrap();
            self.service.finish_upload(up).await.unwrap().file.id
        })
    }

    pub fn objects(&self) -> usize {
        walk(&self._dir.path().join("content/objects"))
    }

    pub fn operations(&self) -> Vec<String> {
        self.rt
            .block_on(self.service.audit_records(0, 10_000))
            .unwrap()
            .into_iter()
            .map(|r| r.entry.operation)
            .collect()
    }
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// sam's password sign-in to `app`.
fn sam_signs_in(mode: OpenMode, app: i64, password: &str) -> OpenRequest {
    OpenRequest {
        user_name: "sam".into(),
        password: password.into(),
        application_id: app,
        client_version: None,
        mode,
        passcode: None,
        user_string: None,
        passcode_appended: false,
    }
}
