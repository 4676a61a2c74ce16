//! A signed-in user's calls to the JSON API, as the folder tests make them.

#![allow(dead_code)]

use serde_json::{Value, json};

use crate::common::{APP, Server};

pub const HOME_ROOT: i64 = 2;
pub const SHARED_ROOT: i64 = 3;

pub struct Api<'a> {
    pub s: &'a Server,
    pub session: String,
}

impl<'a> Api<'a> {
    pub fn new(s: &'a Server, user: &str, password: &str) -> Api<'a> {
        Api {
            s,
            session: s.open_with("OpenImmutable", user, password, APP).0,
        }
    }

    pub fn call(&self, method: &str, mut params: Value) -> (u16, Value) {
        params["sessionID"] = json!(self.session);
        self.s.call(method, params)
    }

    pub fn ok(&self, method: &str, params: Value) -> Value {
        let (status, body) = self.call(method, params);
        assert!(status == 200 || status == 204, "{method}: {status} {body}");
        body
    }

    pub fn create(&self, parent: i64, name: &str) -> i64 {
        self.ok(
            "CreateFolder",
            json!({"parentFolderID": parent, "name": name}),
        )["FolderID"]
            .as_i64()
            .unwrap()
    }

    pub fn home(&self) -> i64 {
        self.ok("GetHomeFolder", json!({}))["FolderID"]
            .as_i64()
            .unwrap()
    }

    pub fn grant(&self, folder: i64, items: Value) -> (u16, Value) {
        self.call(
            "SetFolderPermissionList",
            json!({"folderID": folder, "permissionList": items}),
        )
    }

    /// Sets `folder`'s list to `user` alone holding `bits`; the change must succeed.
    pub fn grant_only(&self, folder: i64, user: i64, bits: i64) {
        let (status, body) = self.grant(
            folder,
            json!([{"Permission": bits, "UserID": user, "UserGroupID": -1}]),
        );
        assert_eq!(status, 200, "{body}");
    }

    pub fn names(&self, folder: i64) -> Vec<String> {
        self.ok("GetFolders", json!({"folderID": folder}))
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["Name"].as_str().unwrap().to_string())
            .collect()
    }
}
