//! What the two-step sign-in tests share: the server's TOTP key, passcodes computed by pyotp,
//! `Open` with a passcode, and an enrolment through the API.

#![allow(dead_code)]

use std::process::Command;

use serde_json::{Value, json};

use crate::common::{APP, Server, run_ok};

pub const TOTP: &str = "[totp]\nkey = \"q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=\"\n";

pub fn script(name: &str) -> String {
    format!("{}/tests/second_factor/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The passcode pyotp computes for `secret`, `steps` steps from now.
pub fn passcode(secret: &str, steps: i64) -> String {
    run_ok(Command::new("python3").args([&script("passcode.py"), secret, &steps.to_string()]))
        .trim()
        .to_string()
}

pub fn open(s: &Server, user: &str, password: &str, passcode: Option<&str>) -> (u16, Value) {
    let mut params = json!({"userName": user, "password": password, "applicationID": APP});
    if let Some(p) = passcode {
        params["passcode"] = json!(p);
    }
    s.call("Open", params)
}

/// Enrols the user signed in as `session`, whose password is `password`: the secret, and the
/// recovery codes.
pub fn enrol(s: &Server, session: &str, password: &str) -> (String, Vec<String>) {
    let (status, e) = s.call("BeginTotpEnrollment", json!({"sessionID": session}));
    assert_eq!(status, 200, "{e}");
    let secret = e["Secret"].as_str().unwrap().to_string();
    // The step before now: sign-ins right after may use now's and the next one.
    let (status, codes) = s.call(
        "ConfirmTotpEnrollment",
        json!({"sessionID": session, "passcode": passcode(&secret, -1), "password": password}),
    );
    assert_eq!(status, 200, "{codes}");
    let codes = codes["RecoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (secret, codes)
}
