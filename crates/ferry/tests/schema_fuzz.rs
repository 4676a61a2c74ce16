//! The JSON API fuzzed from its own OpenAPI document by schemathesis (issues 15 and 16):
//! thousands of generated calls with a live administrator's session, none answered with a
//! server error or an answer its schema does not describe; every call the schema calls valid
//! is accepted or refused only for what a schema cannot know (a session, a permission, an ID
//! that does not exist, a name taken: 401, 403, 404, 409, 429), never as invalid (400); and
//! every call the schema calls invalid is refused. `FERRY_SCHEMATHESIS_SECONDS` sets the time
//! (CI: 60).

mod common;

use std::path::Path;
use std::process::Command;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server};
use ferry_testkit::Backend;

#[test]
fn generated_calls_get_no_server_error_and_no_undocumented_answer() {
    let seconds = std::env::var("FERRY_SCHEMATHESIS_SECONDS").unwrap_or_else(|_| "60".into());
    let s = Server::start(Backend::Sqlite);
    let (session, _) = s.open_with("OpenImmutable", ADMIN, ADMIN_PASSWORD, APP);
    let hooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schema_fuzz");
    // schemathesis keeps a cache in its working directory: not in the source tree.
    let scratch = tempfile::tempdir().unwrap();
    // What a schema-valid call may still be answered: everything but 400 and 5xx. What an
    // invalid one is: a refusal (tus answers a missing `Tus-Resumable` with 412, as its
    // specification says).
    std::fs::write(
        scratch.path().join("schemathesis.toml"),
        "[checks.positive_data_acceptance]\n\
         expected-statuses = [\"2xx\", \"401\", \"403\", \"404\", \"409\", \"429\"]\n\
         [checks.negative_data_rejection]\n\
         expected-statuses = [\"400\", \"401\", \"403\", \"404\", \"405\", \"409\", \"412\", \"413\", \"415\", \"422\"]\n",
    )
    .unwrap();
    let out = Command::new("schemathesis")
        .current_dir(scratch.path())
        .args(["run", &format!("{}/api/v1/openapi.json", s.base)])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,\
             content_type_conformance,positive_data_acceptance,negative_data_rejection",
            "--max-time",
            &seconds,
            // One worker: with two threads, hypothesis' lambda-source cache now and then fails
            // inside schemathesis ("AST constructor recursion depth mismatch", a runtime error
            // of the tool that fails the run whatever the server answered).
            "--workers",
            "1",
            // These two would end the session (or change its password) under the others.
            "--exclude-operation-id",
            "Close",
            "--exclude-operation-id",
            "ChangePassword",
        ])
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONPATH", &hooks)
        .env("FERRY_SESSION", &session)
        .output()
        .expect("schemathesis (PyPI) is required by the test suite");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout
        .lines()
        .find(|l| l.contains(" generated, "))
        .unwrap_or("");
    println!("schemathesis: {summary}");
    assert!(summary.contains("passed"), "{stdout}");
    // The server is still well and its audit intact after all that.
    assert_eq!(s.get("/healthz").0, 200);
    assert!(s.ferry_ok(&["audit", "verify"], None).contains("intact"));
}
