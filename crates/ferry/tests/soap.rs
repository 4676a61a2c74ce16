//! Thru's SOAP wire (issue 19) against clients nobody on the team wrote, each built from
//! Ferry's WSDL at run time: Python's zeep and PHP's SoapClient, over SOAP 1.1 and 1.2, on
//! SQLite and PostgreSQL, running the spec's session scenario, a folder tree, folder and file
//! metadata, a permission list and a search. Then the hostile inputs, on the raw wire with curl.

mod common;

use std::path::Path;
use std::process::Command;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, run_ok};
use ferry_testkit::{Backend, on_both_backends};

on_both_backends!(generated_clients_run_the_session_scenario);

fn generated_clients_run_the_session_scenario(backend: Backend) {
    let s = Server::start(backend);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/soap");
    for (client, binding) in [
        ("zeep", "soap11"),
        ("zeep", "soap12"),
        ("php", "11"),
        ("php", "12"),
    ] {
        let user = format!("{client}{binding}");
        let password = format!("{user}-password");
        let id = s.add_user(&user, "member", &password);
        let args = [
            s.base.clone(),
            APP.to_string(),
            ADMIN.into(),
            ADMIN_PASSWORD.into(),
            user.clone(),
            password,
            id.to_string(),
            binding.into(),
        ];
        let out = if client == "zeep" {
            run_ok(
                Command::new("python3")
                    .arg(dir.join("zeep_session.py"))
                    .args(&args),
            )
        } else {
            run_ok(
                Command::new("php")
                    .arg(dir.join("soapclient_session.php"))
                    .args(&args),
            )
        };
        for line in [
            "Open replaces",
            "refused a replaced session: 101",
            "OpenImmutable does not replace",
            "refused a wrong password: 102",
            "impersonation and user string",
            "folder tree",
            "metadata",
            "refused saving a metadata item never created: 208",
            "permission list",
            "search",
            "settings",
            "refused a closed session: 101",
            "done",
        ] {
            assert!(
                out.contains(line),
                "{client} {binding}: missing {line:?} in:\n{out}"
            );
        }
    }
    // The same Service path as the JSON API: sign-ins and changes are in the audit trail,
    // with the client version the SOAP call gave.
    let audit = s.audit();
    for version in ["zeep", "php"] {
        assert!(
            audit.iter().any(|r| r["operation"] == "SignIn"
                && r["client_version"] == version
                && r["status"] == "Success"),
            "no SOAP sign-in by {version} in the audit"
        );
    }
    for change in [
        "FolderRenamed",
        "FolderMetadataChanged",
        "FileMetadataChanged",
    ] {
        assert!(
            audit.iter().any(|r| r["operation"] == change),
            "no {change} from SOAP in the audit"
        );
    }
}

/// `[soap] namespace`: a client generated from a WSDL with another target namespace (Thru's
/// own) is served by setting it; zeep, generated from the WSDL Ferry then serves, runs the
/// scenario, and a call in the default namespace is refused. A namespace that is no URI, or
/// that would need escaping, stops the start with the key at fault.
#[test]
fn the_namespace_can_be_set_to_another_wsdls() {
    let ns = "http://www.example.com/thru/";
    let s = Server::start_with(Backend::Sqlite, &format!("[soap]\nnamespace = \"{ns}\"\n"));
    let (status, wsdl) = s.get("/soap?wsdl");
    assert_eq!(status, 200);
    assert!(
        wsdl.contains(&format!("targetNamespace=\"{ns}\"")),
        "{wsdl}"
    );
    assert!(wsdl.contains(&format!("soapAction=\"{ns}Open\"")));
    let id = s.add_user("zed", "member", "zed-password-1");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/soap/zeep_session.py");
    let out = run_ok(Command::new("python3").arg(script).args([
        s.base.as_str(),
        &APP.to_string(),
        ADMIN,
        ADMIN_PASSWORD,
        "zed",
        "zed-password-1",
        &id.to_string(),
        "soap11",
    ]));
    assert!(out.contains("done"), "{out}");
    let default_ns = "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>\
        <GetCurrentUser xmlns=\"http://tempuri.org/\"><sessionID>x</sessionID></GetCurrentUser>\
        </s:Body></s:Envelope>";
    let out = run_ok(Command::new("curl").args([
        "-s",
        "-H",
        "Content-Type: text/xml",
        "--data-binary",
        default_ns,
        &format!("{}/soap", s.base),
    ]));
    assert!(out.contains("<ErrorCode>112</ErrorCode>"), "{out}");

    for bad in [
        "not a uri",
        "ftp://example.com/",
        "http://x/\\\"><evil",
        "urn:",
    ] {
        let err = common::failed_start(&format!("[soap]\nnamespace = \"{bad}\"\n"));
        assert!(err.contains("soap.namespace"), "{bad}: {err}");
    }
}
