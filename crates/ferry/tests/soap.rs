//! Thru's SOAP wire (issue 19) against clients nobody on the team wrote, each built from
//! Ferry's WSDL at run time: Python's zeep and PHP's SoapClient, over SOAP 1.1 and 1.2, on
//! SQLite and PostgreSQL, running the spec's session scenario, a folder tree, a permission
//! list and a search. Then the hostile inputs, on the raw wire with curl.

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
            "permission list",
            "search",
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
    assert!(
        audit.iter().any(|r| r["operation"] == "FolderRenamed"),
        "no folder change from SOAP in the audit"
    );
}
