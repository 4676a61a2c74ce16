//! Thru's REST wire (RAPR, issue 19) against clients nobody on the team wrote: Python's
//! requests runs the scenario in JSON and in XML on SQLite and PostgreSQL, and curl runs it by
//! hand with a ticket sign-in; then hostile and malformed requests, each refused with
//! `ErrorInfo` and the documented code, changing nothing.

mod common;

use std::path::Path;
use std::process::Command;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, run_ok};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(requests_runs_the_scenario_in_json_and_xml);

fn requests_runs_the_scenario_in_json_and_xml(backend: Backend) {
    let s = Server::start(backend);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rest/requests_session.py");
    for format in ["json", "xml"] {
        let user = format!("rest{format}");
        let password = format!("{user}-password");
        let id = s.add_user(&user, "member", &password);
        let out = run_ok(Command::new("python3").arg(&script).args([
            s.base.as_str(),
            &APP.to_string(),
            &user,
            &password,
            &id.to_string(),
            format,
        ]));
        for line in [
            "Session replaces",
            "ImmutableSession does not replace",
            "refused a wrong password: 102",
            "folder tree",
            "file",
            "search",
            "refused a closed session: 101",
            "done",
        ] {
            assert!(out.contains(line), "{format}: missing {line:?} in:\n{out}");
        }
    }
    // The same Service path as the JSON API: the sign-in carries the client version and the
    // user string given on the REST wire; the folder changes are audited.
    let audit = s.audit();
    for format in ["json", "xml"] {
        assert!(
            audit.iter().any(|r| r["operation"] == "SignIn"
                && r["client_version"] == format!("requests-{format}")
                && r["external_user"] == "ext-requests"),
            "no REST sign-in with its user string ({format}) in the audit"
        );
    }
    for op in [
        "FolderCreated",
        "FolderRenamed",
        "FolderMoved",
        "FolderDeleted",
    ] {
        assert!(
            audit.iter().any(|r| r["operation"] == op),
            "no {op} from REST in the audit"
        );
    }
}

/// curl against `path` with `args`; the status and the body.
fn curl(s: &Server, args: &[&str], path: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .arg(format!("{}{path}", s.base))
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

/// The text of the first `<tag>` in `xml`.
fn tag<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml.find(&open).map(|i| i + open.len()).unwrap_or(0);
    let end = xml[start..].find('<').map_or(start, |i| start + i);
    &xml[start..end]
}

const SSO: &str =
    "[sso]\nsite_name = \"files.example.com\"\npassword = \"test-shared-password-0123456789\"\n";

/// The scenario by hand with curl, in XML (the default without `Accept`), with a ticket
/// sign-in (`SessionByTicket`, REST 1.2, `Device_UUID` as a header).
#[test]
fn curl_signs_in_by_password_and_by_ticket() {
    let s = Server::start_with(Backend::Sqlite, SSO);
    s.add_user("dana", "member", "dana-password-1");
    let (status, xml) = curl(
        &s,
        &[
            "-d",
            &format!("UserName=dana&Password=dana-password-1&ApplicationId={APP}&Device_UUID=curl"),
        ],
        "/REST/1.0/Session",
    );
    assert_eq!(status, 200, "{xml}");
    assert!(
        xml.starts_with("<?xml") && xml.contains("<ThruPublicSession "),
        "{xml}"
    );
    let session = tag(&xml, "SessionID").to_string();
    let auth = format!("Authorization: {session}");
    let (status, info) = curl(&s, &["-H", &auth], "/REST/1.0/Server/Info");
    assert_eq!(status, 200, "{info}");
    assert_eq!(tag(&info, "Title"), "Ferry", "{info}");
    assert_eq!(tag(&info, "Name"), "127.0.0.1", "{info}");

    // A domain user signs in with a ticket from `ferry ticket issue`.
    let admin = s.open(ADMIN, ADMIN_PASSWORD, APP).0;
    let (status, _) = s.call(
        "CreateDomainUser",
        json!({"sessionID": admin, "domainUsername": "CORP\\eve", "userSyncID": "",
               "firstName": "E", "lastName": "V", "email": "eve@corp.example",
               "createHomeFolder": true, "role": 3, "active": true}),
    );
    assert_eq!(status, 200);
    let ticket = s
        .ferry_ok(&["ticket", "issue", "--user", "CORP\\eve"], None)
        .trim()
        .to_string();
    let form = |t: &str| {
        format!(
            "Ticket={}&ApplicationId={APP}&ClientVersion=portal",
            urlencode(t)
        )
    };
    let (status, body) = curl(
        &s,
        &[
            "-H",
            "Accept: application/json",
            "-H",
            "Device_UUID: kiosk-7",
            "-d",
            &form(&ticket),
        ],
        "/REST/1.2/SessionByTicket",
    );
    assert_eq!(status, 200, "{body}");
    let by_ticket: Value = serde_json::from_str(&body).unwrap();
    let (_, who) = s.call(
        "GetCurrentUser",
        json!({"sessionID": by_ticket["SessionID"]}),
    );
    assert_eq!(who["Name"], "eve", "{who}");
    // Without Device_UUID, and before REST 1.2: refused.
    let (status, body) = curl(&s, &["-d", &form(&ticket)], "/REST/1.2/SessionByTicket");
    assert_eq!((status, tag(&body, "ErrorCode")), (400, "110"), "{body}");
    let (status, body) = curl(
        &s,
        &["-H", "Device_UUID: k", "-d", &form(&ticket)],
        "/REST/1.1/SessionByTicket",
    );
    assert_eq!((status, tag(&body, "ErrorCode")), (404, "112"), "{body}");
    let (status, body) = curl(
        &s,
        &["-H", "Device_UUID: k", "-d", &form("not-a-ticket")],
        "/REST/1.2/SessionByTicket",
    );
    assert_eq!((status, tag(&body, "ErrorCode")), (401, "130"), "{body}");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Bad input on the REST wire: each answer is `ErrorInfo` with the documented status and
/// code, no request changes anything (the audit's folder records and the folder tree stay as
/// they were), and nothing reads a file or expands an entity.
#[test]
fn hostile_requests_are_refused_and_change_nothing() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("finn", "member", "finn-password-1");
    s.add_user("gail", "member", "gail-password-1");
    let (session, _) = s.open("finn", "finn-password-1", APP);
    let (gail, _) = s.open("gail", "gail-password-1", APP);
    let (_, gail_home) = s.call("GetHomeFolder", json!({"sessionID": gail}));
    let auth = format!("Authorization: {session}");
    let json = "Accept: application/json";
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": session}));
    let home = home["FolderID"].as_i64().unwrap();
    let before = s.audit().len();
    let big = format!("Name={}&ParentFolderId={home}", "a".repeat(70 * 1024));
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\
        <ThruPublicFolderInfo><Name>&x;</Name></ThruPublicFolderInfo>";
    // 10,000 nested elements pass the 64 KiB limit (refused unread); 2,000 fit in it and are
    // refused by the XML reader's depth limit.
    let deep = format!("<a>{}{}</a>", "<b>".repeat(10_000), "</b>".repeat(10_000));
    let deep_small = format!("<a>{}{}</a>", "<b>".repeat(2_000), "</b>".repeat(2_000));
    let folder = format!("/REST/1.3/FileSystem/Folder/{home}");
    let climb = format!("Name=..&ParentFolderId={home}");
    let outside = format!("FolderId={home}");
    let xml_type = "Content-Type: application/xml";
    let json_type = "Content-Type: application/json";
    let cases: Vec<(&str, Vec<&str>, String, u16, &str)> = vec![
        (
            "repeated keys",
            vec!["-d", "Name=a&name=b"],
            "/REST/1.3/FileSystem/Folder".into(),
            400,
            "110",
        ),
        (
            "a body that is no form",
            vec!["-H", "Content-Type: text/plain", "-d", "x"],
            "/REST/1.3/FileSystem/Folder".into(),
            415,
            "110",
        ),
        (
            "an Accept of HTML",
            vec!["-H", "Accept: text/html"],
            folder.clone(),
            406,
            "110",
        ),
        (
            "a version not served",
            vec![],
            format!("/REST/2.0/FileSystem/Folder/{home}"),
            404,
            "112",
        ),
        (
            "no resource",
            vec![],
            "/REST/1.3/FileSystem/Nothing".into(),
            404,
            "112",
        ),
        (
            "a verb the resource lacks",
            vec!["-X", "PATCH"],
            folder.clone(),
            405,
            "113",
        ),
        (
            "a body over 64 KiB",
            vec!["-d", big.as_str()],
            "/REST/1.3/FileSystem/Folder".into(),
            413,
            "111",
        ),
        (
            "an external entity",
            vec!["-X", "PUT", "-H", xml_type, "--data-binary", xxe],
            folder.clone(),
            400,
            "110",
        ),
        (
            "10,000 nested elements",
            vec!["-X", "PUT", "-H", xml_type, "--data-binary", deep.as_str()],
            folder.clone(),
            413,
            "111",
        ),
        (
            "2,000 nested elements",
            vec![
                "-X",
                "PUT",
                "-H",
                xml_type,
                "--data-binary",
                deep_small.as_str(),
            ],
            folder.clone(),
            400,
            "110",
        ),
        (
            "a key twice in JSON",
            vec![
                "-X",
                "PUT",
                "-H",
                json_type,
                "-d",
                r#"{"Name":"a","Name":"b"}"#,
            ],
            folder.clone(),
            400,
            "110",
        ),
        (
            "an object as a value",
            vec!["-X", "PUT", "-H", json_type, "-d", r#"{"Name":{"$ne":1}}"#],
            folder.clone(),
            400,
            "110",
        ),
        (
            "an unknown field",
            vec!["-X", "PUT", "-H", json_type, "-d", r#"{"Owner":"admin"}"#],
            folder.clone(),
            400,
            "110",
        ),
        (
            "a name that climbs",
            vec!["-d", climb.as_str()],
            "/REST/1.3/FileSystem/Folder".into(),
            400,
            "110",
        ),
        (
            "SQL in an ID",
            vec![],
            "/REST/1.3/FileSystem/Folder/1%27%20OR%20%271%27=%271".into(),
            400,
            "110",
        ),
        (
            "a form that is not UTF-8",
            vec!["-d", "Name=%FF%FE&ParentFolderId=1"],
            "/REST/1.3/FileSystem/Folder".into(),
            400,
            "110",
        ),
        (
            "another user's folder",
            vec![],
            format!("/REST/1.3/FileSystem/Folder/{}", gail_home["FolderID"]),
            404,
            "201",
        ),
        (
            "a take over 1000",
            vec!["-d", "NameCriteria=*"],
            "/REST/1.3/Search/0/1001".into(),
            400,
            "110",
        ),
        (
            "a search outside the root",
            vec!["-d", outside.as_str()],
            "/REST/1.3/Search/0/10".into(),
            400,
            "110",
        ),
    ];
    for (what, args, path, status, code) in cases {
        let mut all = vec!["-H", auth.as_str()];
        all.extend(args);
        let (got, body) = curl(&s, &all, &path);
        assert_eq!(got, status, "{what}: {body}");
        assert!(
            body.contains("<ErrorInfo ") || body.contains("\"ErrorCode\""),
            "{what}: {body}"
        );
        let found = if body.starts_with('{') {
            serde_json::from_str::<Value>(&body).unwrap()["ErrorCode"].to_string()
        } else {
            tag(&body, "ErrorCode").to_string()
        };
        assert_eq!(found, code, "{what}: {body}");
        assert!(!body.contains("root:"), "{what} read a file: {body}");
    }
    // JSON errors when JSON is asked for; a wrong session is 401/101 in either format.
    let (status, body) = curl(&s, &["-H", json, "-H", "Authorization: x"], &folder);
    assert_eq!(status, 400, "{body}");
    let (status, body) = curl(
        &s,
        &[
            "-H",
            json,
            "-H",
            "Authorization: 00000000-0000-0000-0000-000000000000",
        ],
        &folder,
    );
    assert_eq!(
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap()["ErrorCode"].clone()
        ),
        (401, json!(101))
    );
    // Nothing changed: no folder was made, moved or renamed, gail's home is untouched.
    let after: Vec<Value> = s.audit().into_iter().skip(before).collect();
    assert!(
        !after
            .iter()
            .any(|r| r["operation"].as_str().unwrap_or("").starts_with("Folder")),
        "a refused request changed a folder: {after:?}"
    );
    let (_, children) = s.call(
        "GetFolders",
        json!({"sessionID": session, "folderID": home}),
    );
    assert_eq!(children, json!([]), "{children}");
}
