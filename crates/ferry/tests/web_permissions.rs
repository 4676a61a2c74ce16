//! The web client's permissions dialog (issue 17): with the Manage bit a person grants bits to
//! users and groups by name, changes and removes grants and stops inheritance; nobody grants a
//! bit they do not hold; without Manage there is no dialog.

#[path = "folders/api.rs"]
mod api;
mod common;

use api::{Api, SHARED_ROOT};
use common::web::Browser;
use common::{ADMIN, ADMIN_PASSWORD, Server, audit_records};
use ferry_testkit::Backend;
use serde_json::json;

const WEB_CLIENT: i64 = 5;

#[test]
fn a_manager_of_a_folder_grants_changes_and_removes_within_their_own_bits() {
    let s = Server::start(Backend::Sqlite);
    let ann_id = s.add_user("ann", "member", "ann-password-1");
    s.add_user("bob", "member", "bob-password-1");
    let admin = Api::new(&s, ADMIN, ADMIN_PASSWORD);
    let team = admin.create(SHARED_ROOT, "Team");
    assert_eq!(
        s.put_file(&admin.session, team, "plan.txt", "", b"plan").0,
        200
    );
    // Show, Read, Create and Manage: no Delete.
    let (status, _) = admin.grant(
        team,
        json!([{"Permission": 1 | 2 | 4 | 32, "UserID": ann_id}]),
    );
    assert_eq!(status, 200);

    let mut ann = Browser::new(&s);
    ann.sign_in("ann", "ann-password-1");
    let folder_page = ann.get(&format!("/web/folders/{team}")).body;
    assert!(folder_page.contains("/permissions\">Permissions</a>"));
    let dialog = format!("/web/folders/{team}/permissions");
    let page = ann.get(&dialog).body;
    assert!(page.contains("user ann"), "{page}");
    assert!(
        page.contains(r#"value="128" disabled"#),
        "Delete is shown, not offered: {page}"
    );
    let token = ann.csrf(&dialog);
    let grant = format!("{dialog}/grant");

    // Bob gets Show and Read by name, and sees the folder.
    let r = ann.post(
        &grant,
        &[
            ("csrf", &token),
            ("kind", "user"),
            ("name", "bob"),
            ("bit", "1"),
            ("bit", "2"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let mut bob = Browser::new(&s);
    bob.sign_in("bob", "bob-password-1");
    assert!(
        bob.get(&format!("/web/folders/{team}"))
            .body
            .contains("plan.txt")
    );
    assert_eq!(bob.get(&dialog).status, 403, "no Manage, no dialog");

    // A bit ann does not hold is refused, and nothing changes.
    let r = ann.post(
        &grant,
        &[
            ("csrf", &token),
            ("kind", "user"),
            ("name", "bob"),
            ("bit", "1"),
            ("bit", "128"),
        ],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        bob.get(&format!("/web/folders/{team}"))
            .body
            .contains("plan.txt")
    );

    // Bad input: an unknown user, an unknown group, a bit that is not one, no token.
    for (fields, status) in [
        (
            vec![("kind", "user"), ("name", "nobody"), ("bit", "1")],
            404,
        ),
        (
            vec![("kind", "group"), ("name", "nogroup"), ("bit", "1")],
            404,
        ),
        (vec![("kind", "user"), ("name", "bob"), ("bit", "3")], 400),
        (vec![("kind", "robot"), ("name", "bob"), ("bit", "1")], 400),
    ] {
        let mut f = fields.clone();
        f.push(("csrf", &token));
        assert_eq!(ann.post(&grant, &f).status, status, "{fields:?}");
    }
    assert_eq!(
        ann.post(&grant, &[("kind", "user"), ("name", "bob"), ("bit", "1")])
            .status,
        403
    );

    // Stop inheriting, then remove bob: he no longer sees it.
    let r = ann.post(
        &format!("{dialog}/inherit"),
        &[("csrf", &token), ("inherit", "false")],
    );
    assert_eq!(r.status, 303);
    assert!(ann.get(&dialog).body.contains("does not inherit"));
    let r = ann.post(
        &grant,
        &[("csrf", &token), ("kind", "user"), ("name", "bob")],
    );
    assert_eq!(r.status, 303);
    assert_eq!(bob.get(&format!("/web/folders/{team}")).status, 404);
    let audit = s.audit();
    assert!(
        audit_records(&audit, "PermissionsChanged", WEB_CLIENT, "").len() >= 3,
        "{audit:?}"
    );
}
