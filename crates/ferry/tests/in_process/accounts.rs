//! A node in the test's process with an application and some accounts, for the tests that race
//! changes to accounts and grants: on a runtime of two workers, so that the racing changes
//! run at the same time. A test declares `mod node;` (`in_process/node.rs`) beside this.

use std::sync::Arc;

use ferry_core::domain::Role;
use ferry_core::service::{Caller, NewUserRequest, OpenMode, OpenRequest, SessionContext};
use ferry_core::{Actor, ManualClock, Service, ServiceConfig, Timestamp};
use ferry_testkit::Backend;

use super::node::node_with;

/// The application the sessions are opened for.
pub const APP: i64 = 1000;
/// Every account's password.
pub const PASSWORD: &str = "race-password-123";

/// A node, its runtime and its directory (removed when dropped).
pub struct Racing {
    /// Runs the node's calls.
    pub rt: tokio::runtime::Runtime,
    /// The node.
    pub node: Arc<Service>,
    _dir: tempfile::TempDir,
}

impl Racing {
    /// A fresh node on `backend` with APP registered and `users` made by the command line.
    #[allow(dead_code)] // Not every test that declares this module starts its node this way.
    pub fn start(backend: Backend, users: &[(&str, Role)]) -> Racing {
        Racing::start_with(backend, users, ServiceConfig::default())
    }

    /// The same with the node's `config`.
    pub fn start_with(backend: Backend, users: &[(&str, Role)], config: ServiceConfig) -> Racing {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let url = backend.fresh_database_url(dir.path());
        let clock = Arc::new(ManualClock::new(Timestamp(1_800_000_000_000)));
        let node = Arc::new(node_with(
            &rt,
            &url,
            &dir.path().join("content"),
            clock,
            config,
        ));
        let cli = Actor::Cli { os_user: None };
        rt.block_on(async {
            node.add_application(&cli, APP, "races").await.unwrap();
            for (name, role) in users {
                node.add_user(
                    &cli,
                    NewUserRequest {
                        name: name.to_string(),
                        role: *role,
                        email: String::new(),
                        first_name: name.to_string(),
                        last_name: "Race".into(),
                        password: Some(PASSWORD.into()),
                    },
                )
                .await
                .unwrap();
            }
        });
        Racing {
            rt,
            node,
            _dir: dir,
        }
    }

    /// A fresh session of `user`'s.
    pub fn session_of(&self, user: &str) -> SessionContext {
        self.session_of_with(user, PASSWORD)
    }

    /// A fresh session of `user`'s, signed in with `password`.
    pub fn session_of_with(&self, user: &str, password: &str) -> SessionContext {
        self.try_session_of_with(user, password)
            .expect("the sign-in succeeds")
    }

    /// A fresh session of `user`'s signed in with `password`, if the sign-in succeeds.
    pub fn try_session_of_with(&self, user: &str, password: &str) -> Option<SessionContext> {
        let caller = Caller::default();
        self.rt.block_on(async {
            let data = self
                .node
                .open(
                    OpenRequest {
                        user_name: user.into(),
                        password: password.into(),
                        application_id: APP,
                        client_version: None,
                        mode: OpenMode::Immutable,
                        passcode: None,
                        user_string: None,
                        passcode_appended: false,
                    },
                    &caller,
                )
                .await
                .ok()?;
            self.node.authenticate(&data.session_id, &caller).await.ok()
        })
    }
}
