//! Permission bits and groups over the JSON API, on both engines: grants given, inherited and
//! bounded by what the granter holds, and groups carrying grants.

#[path = "folders/api.rs"]
mod api;
mod common;

use api::{Api, SHARED_ROOT};
use common::{ADMIN, ADMIN_PASSWORD, Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::json;

on_both_backends!(
    permissions_are_granted_inherited_and_bounded,
    groups_carry_grants
);

fn permissions_are_granted_inherited_and_bounded(backend: Backend) {
    let s = Server::start(backend);
    let bob = s.add_user("bob", "member", "bob-password");
    let carol = s.add_user("carol", "member", "carol-password");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let b = Api::new(&s, "bob", "bob-password");
    let c = Api::new(&s, "carol", "carol-password");
    let team = admin.create(SHARED_ROOT, "Team");
    let sub = admin.create(team, "Sub");
    let private = admin.create(team, "Private");

    assert_error(&b.call("GetFolder", json!({"folderID": team})), 404, 201);
    let (status, list) = admin.grant(
        team,
        json!([{"Permission": 3, "UserID": bob, "UserGroupID": -1}]),
    );
    assert_eq!(status, 200, "{list}");
    assert_eq!(list[0]["Permission"], 3);
    assert_eq!(list[0]["UserGroupID"], -1);
    assert_eq!(
        b.ok("GetFolder", json!({"folderID": team}))["EffectivePermission"],
        3
    );
    // Inherited down the tree ...
    assert_eq!(
        b.ok("GetFolder", json!({"folderID": sub}))["EffectivePermission"],
        3
    );
    // ... unless a folder overrides it.
    let (status, _) = admin.call(
        "SetFolderPermissionList",
        json!({"folderID": private, "permissionList": [], "inheritPermissions": false}),
    );
    assert_eq!(status, 200);
    assert_error(&b.call("GetFolder", json!({"folderID": private})), 404, 201);
    let children: Vec<_> = b.names(team);
    assert_eq!(
        children,
        ["Sub"],
        "listings show only what the caller may see"
    );

    // Show and Read do not allow creating; the refusal is audited.
    assert_error(
        &b.call("CreateFolder", json!({"parentFolderID": team, "name": "x"})),
        403,
        105,
    );
    assert!(
        s.audit()
            .iter()
            .any(|r| r["operation"] == "AccessDenied" && r["user_id"] == bob)
    );
    // Without Manage, no permission changes at all.
    assert_error(
        &b.grant(team, json!([{"Permission": 3, "UserID": carol}])),
        403,
        105,
    );
    assert_error(
        &b.call("GetFolderPermissionList", json!({"folderID": team})),
        403,
        105,
    );

    // With Manage, only bits one holds can be granted, to others or oneself.
    admin.grant(team, json!([{"Permission": 35, "UserID": bob}]));
    let (status, body) = b.grant(
        team,
        json!([{"Permission": 35, "UserID": bob}, {"Permission": 3, "UserID": carol}]),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        c.ok("GetFolder", json!({"folderID": team}))["EffectivePermission"],
        3
    );
    assert_error(
        &b.grant(team, json!([{"Permission": 255, "UserID": bob}])),
        403,
        105,
    );
    assert_error(
        &b.grant(
            team,
            json!([{"Permission": 35, "UserID": bob}, {"Permission": 128, "UserID": carol}]),
        ),
        403,
        105,
    );
    assert_eq!(
        c.ok("GetFolder", json!({"folderID": team}))["EffectivePermission"],
        3,
        "a refused change changes nothing"
    );

    // Malformed lists.
    for bad in [
        json!([{"Permission": 256, "UserID": carol}]),
        json!([{"Permission": -1, "UserID": carol}]),
        json!([{"Permission": 1, "UserID": carol, "UserGroupID": 1}]),
        json!([{"Permission": 1}]),
        json!([{"UserID": carol}]),
        json!([{"Permission": "1", "UserID": carol}]),
        json!({"Permission": 1, "UserID": carol}),
        json!([1, 2]),
    ] {
        assert_error(&admin.grant(team, bad), 400, 110);
    }
    assert_error(
        &admin.grant(team, json!([{"Permission": 1, "UserID": 999999}])),
        404,
        106,
    );
    assert_error(
        &admin.grant(team, json!([{"Permission": 1, "UserGroupID": 999999}])),
        404,
        203,
    );
}

fn groups_carry_grants(backend: Backend) {
    let s = Server::start(backend);
    let frank = s.add_user("frank", "member", "frank-password");
    let mona_id = s.add_user("mona", "manager", "mona-password");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let f = Api::new(&s, "frank", "frank-password");
    let mona = Api::new(&s, "mona", "mona-password");
    assert_error(
        &f.call("CreateUserGroup", json!({"name": "Sales"})),
        403,
        105,
    );
    let group = mona.ok("CreateUserGroup", json!({"name": "Sales"}));
    let gid = group["UserGroupID"].as_i64().unwrap();
    assert_error(
        &mona.call("CreateUserGroup", json!({"name": "SALES"})),
        409,
        108,
    );
    let team = admin.create(SHARED_ROOT, "Sales docs");
    admin.grant(team, json!([{"Permission": 7, "UserGroupID": gid}]));
    assert_error(&f.call("GetFolder", json!({"folderID": team})), 404, 201);
    // A Manager changes the members of a group only while holding what the group holds.
    assert_error(
        &mona.call(
            "AddUserToGroup",
            json!({"userGroupID": gid, "userID": frank}),
        ),
        403,
        105,
    );
    admin.grant(
        team,
        json!([{"Permission": 7, "UserGroupID": gid}, {"Permission": 7, "UserID": mona_id}]),
    );
    mona.ok(
        "AddUserToGroup",
        json!({"userGroupID": gid, "userID": frank}),
    );
    assert_eq!(f.ok("GetUserGroups", json!({}))[0]["Name"], "Sales");
    assert_eq!(
        f.ok("GetFolder", json!({"folderID": team}))["EffectivePermission"],
        7
    );
    f.create(team, "Q4");
    mona.ok(
        "RemoveUserFromGroup",
        json!({"userGroupID": gid, "userID": frank}),
    );
    assert_error(&f.call("GetFolder", json!({"folderID": team})), 404, 201);
    assert_eq!(f.ok("GetUserGroups", json!({})), json!([]));
    assert_error(
        &mona.call(
            "AddUserToGroup",
            json!({"userGroupID": 999999, "userID": frank}),
        ),
        404,
        203,
    );
    assert_error(
        &mona.call(
            "AddUserToGroup",
            json!({"userGroupID": gid, "userID": 999999}),
        ),
        404,
        106,
    );
    let ops: Vec<_> = s
        .audit()
        .iter()
        .map(|r| r["operation"].as_str().unwrap().to_string())
        .collect();
    for op in [
        "GroupCreated",
        "GroupMemberAdded",
        "GroupMemberRemoved",
        "PermissionsChanged",
    ] {
        assert!(ops.iter().any(|o| o == op), "{op} is audited");
    }
}
