//! Two-step sign-in (issue 18): TOTP enrolment and sign-in over the JSON API, SFTP (paramiko,
//! keyboard-interactive after the password) and FTPS (ftplib, `PASS password+passcode`), with
//! passcodes computed by pyotp. A passcode works once; missing, wrong, malformed and reused
//! passcodes are refused with documented codes and counted by the lock-out; recovery codes
//! work once; an administrator resets the factor; a role can require it.

mod common;
#[path = "second_factor/enrolment.rs"]
mod enrolment;

use std::process::Command;

use common::{ADMIN, ADMIN_PASSWORD, APP, Server, audit_records, run_ok};
use enrolment::{TOTP, enrol, open, passcode, script};
use ferry_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

/// Room for the bad passcodes the main test tries (each is counted).
const ROOMY_LOCKOUT: &str = "[lockout]\naccount_threshold = 50\naddress_threshold = 200\n";

on_both_backends!(
    the_api_enrols_and_each_passcode_and_recovery_code_works_once,
    turning_the_factor_on_or_off_ends_the_users_other_sessions
);

fn the_api_enrols_and_each_passcode_and_recovery_code_works_once(backend: Backend) {
    let s = Server::start_with(backend, &format!("{TOTP}{ROOMY_LOCKOUT}"));
    s.add_user("ann", "member", "ann-password-1");
    // Immutable: the test's own sign-ins (Open) do not replace it.
    let (session, ann) = s.open_with("OpenImmutable", "ann", "ann-password-1", APP);

    // Begin: a base32 secret and the otpauth URL authenticator apps read; a wrong passcode
    // does not turn it on, and sign-in is unchanged meanwhile.
    let (status, e) = s.call("BeginTotpEnrollment", json!({"sessionID": session}));
    assert_eq!(status, 200, "{e}");
    let secret = e["Secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 32, "{secret}");
    let url = e["OtpAuthUrl"].as_str().unwrap();
    assert!(
        url.starts_with("otpauth://totp/Ferry:ann?") && url.contains(&format!("secret={secret}")),
        "{url}"
    );
    let (status, body) = s.call(
        "ConfirmTotpEnrollment",
        json!({"sessionID": session, "passcode": "000000", "password": "ann-password-1"}),
    );
    assert_eq!((status, body["ErrorCode"].as_i64()), (401, Some(151)));
    assert_eq!(open(&s, "ann", "ann-password-1", None).0, 200);
    // The session alone does not turn it on: a factor outlives the session, so whoever holds
    // it (stolen) must also know the password, or the owner would be locked out by a factor
    // only the thief has. No password: 400; a wrong one: the bad-credentials answer, counted
    // and audited like a failed sign-in; either way still off.
    let right = passcode(&secret, -1);
    let (status, body) = s.call(
        "ConfirmTotpEnrollment",
        json!({"sessionID": session, "passcode": right}),
    );
    assert_eq!(
        (status, body["ErrorCode"].as_i64()),
        (400, Some(110)),
        "{body}"
    );
    let (status, body) = s.call(
        "ConfirmTotpEnrollment",
        json!({"sessionID": session, "passcode": right, "password": "not-her-password"}),
    );
    assert_eq!(
        (status, body["ErrorCode"].as_i64()),
        (401, Some(102)),
        "{body}"
    );
    assert_eq!(open(&s, "ann", "ann-password-1", None).0, 200);

    // Confirm with pyotp's passcode and her password: on, ten recovery codes.
    let (status, codes) = s.call(
        "ConfirmTotpEnrollment",
        json!({"sessionID": session, "passcode": right, "password": "ann-password-1"}),
    );
    assert_eq!(status, 200, "{codes}");
    let codes: Vec<String> = codes["RecoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    let (_, st) = s.call("GetTotpStatus", json!({"sessionID": session}));
    assert_eq!(
        st,
        json!({"Available": true, "Enabled": true, "Required": false, "RecoveryCodesLeft": 10})
    );
    // A second enrolment is refused while it is on.
    let (status, body) = s.call("BeginTotpEnrollment", json!({"sessionID": session}));
    assert_eq!((status, body["ErrorCode"].as_i64()), (409, Some(108)));

    // Sign-in: no passcode (150), a wrong one, malformed ones (151); the wrong password with
    // the right passcode is still the one answer for bad credentials (102).
    let (status, body) = open(&s, "ann", "ann-password-1", None);
    assert_eq!((status, body["ErrorCode"].as_i64()), (401, Some(150)));
    let now = passcode(&secret, 0);
    let wrong = format!("{:06}", (now.parse::<u32>().unwrap() + 1) % 1_000_000);
    let spaced = format!("{} {}", &now[..3], &now[3..]);
    for bad in [
        wrong.as_str(),
        &now[..5],
        &format!("{now}7"),
        spaced.as_str(),
        " 123456",
        "abcdef",
    ] {
        let (status, body) = open(&s, "ann", "ann-password-1", Some(bad));
        assert_eq!(
            (status, body["ErrorCode"].as_i64()),
            (401, Some(151)),
            "{bad:?}"
        );
    }
    let (status, body) = open(&s, "ann", "not-her-password", Some(&now));
    assert_eq!((status, body["ErrorCode"].as_i64()), (401, Some(102)));
    // The right one works once; the next step's works too; an old one no more.
    let (status, body) = open(&s, "ann", "ann-password-1", Some(&now));
    assert_eq!(status, 200, "{body}");
    let (status, body) = open(&s, "ann", "ann-password-1", Some(&now));
    assert_eq!(
        (status, body["ErrorCode"].as_i64()),
        (401, Some(151)),
        "reused"
    );
    let next = passcode(&secret, 1);
    assert_eq!(open(&s, "ann", "ann-password-1", Some(&next)).0, 200);
    assert_eq!(open(&s, "ann", "ann-password-1", Some(&now)).0, 401);

    // A recovery code works once, in any case.
    let (status, body) = open(&s, "ann", "ann-password-1", Some(&codes[0].to_uppercase()));
    assert_eq!(status, 200, "{body}");
    let (status, body) = open(&s, "ann", "ann-password-1", Some(&codes[0]));
    assert_eq!((status, body["ErrorCode"].as_i64()), (401, Some(151)));
    assert_eq!(open(&s, "ann", "ann-password-1", Some(&codes[1])).0, 200);
    let (_, st) = s.call("GetTotpStatus", json!({"sessionID": session}));
    assert_eq!(st["RecoveryCodesLeft"], 8);

    // Ticketless OpenImmutable takes the passcode the same way.
    let (status, body) = s.call(
        "OpenImmutable",
        json!({"userName": "ann", "password": "ann-password-1", "applicationID": APP}),
    );
    assert_eq!((status, body["ErrorCode"].as_i64()), (401, Some(150)));

    // Turning it off needs a passcode or a recovery code; then the password alone works.
    let (status, _) = s.call(
        "DisableTotp",
        json!({"sessionID": session, "passcode": "123456"}),
    );
    assert_eq!(status, 401);
    let (status, body) = s.call(
        "DisableTotp",
        json!({"sessionID": session, "passcode": codes[2]}),
    );
    assert_eq!(status, 204, "{body}");
    assert_eq!(open(&s, "ann", "ann-password-1", None).0, 200);

    // The audit: on, a recovery code, sign-ins with their proof, refusals with their reason;
    // the secret and the codes nowhere in the log.
    let audit = s.audit();
    let of_ann = |op: &str| {
        audit
            .iter()
            .filter(|r| r["operation"] == op && r["target_user_id"] == ann)
            .count()
    };
    assert_eq!(of_ann("SecondFactorEnabled"), 2, "one refused, one done");
    let refused: Vec<_> = audit
        .iter()
        .filter(|r| r["operation"] == "SecondFactorEnabled" && r["status"] == "Failure")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["detail"], "wrong current password");
    assert_eq!(of_ann("RecoveryCodeUsed"), 3);
    assert_eq!(
        of_ann("SecondFactorDisabled"),
        2,
        "one refused (counted), one done"
    );
    assert_eq!(
        audit_records(&audit, "SignIn", APP, "password and passcode").len(),
        2
    );
    assert_eq!(
        audit_records(&audit, "SignInFailed", APP, "passcode missing").len(),
        2
    );
    assert!(audit_records(&audit, "SignInFailed", APP, "wrong or reused passcode").len() >= 8);
    let log = s.log();
    assert!(!log.contains(&secret), "the secret is in the log");
    assert!(!codes.iter().any(|c| log.contains(c.as_str())));
}

#[test]
fn sftp_asks_for_the_passcode_and_ftps_takes_it_after_the_password() {
    let s = Server::start_with(
        Backend::Sqlite,
        &format!(
            "{TOTP}{ROOMY_LOCKOUT}[sftp]\nlisten = \"127.0.0.1:0\"\n[ftps]\nlisten = \"127.0.0.1:0\"\npassive_ports = \"53000-53999\"\npasscode_in_password = true\n"
        ),
    );
    s.add_user("cy", "member", "cy-password-1");
    let (session, _) = s.open("cy", "cy-password-1", APP);
    let (secret, codes) = enrol(&s, &session, "cy-password-1");
    let sftp = |password: &str, code: &str| {
        run_ok(Command::new("python3").args([
            &script("sftp_passcode.py"),
            &s.sftp_port().to_string(),
            "cy",
            password,
            code,
        ]))
    };
    // paramiko's keyboard-interactive: the password, then the passcode.
    let now = passcode(&secret, 0);
    let out = sftp("cy-password-1", &now);
    assert!(out.contains("prompts: Password: |Passcode: "), "{out}");
    assert!(out.contains("listing:"), "{out}");
    // The same passcode again, a wrong one: refused. A wrong password never gets that far.
    assert!(sftp("cy-password-1", &now).contains("refused"));
    assert!(sftp("cy-password-1", "000000").contains("refused"));
    let out = sftp("wrong-password", &passcode(&secret, 1));
    assert!(out.contains("prompts: Password: \nrefused"), "{out}");
    // A recovery code is a passcode too.
    assert!(sftp("cy-password-1", &codes[0]).contains("listing:"));

    // OpenSSH's sftp, password method first: partial success, then keyboard-interactive asks
    // for the passcode only. (Public-key sign-in stays one factor, as in OpenSSH.)
    let prompts = s.path().join("prompts.txt");
    let batch = s.path().join("batch.txt");
    std::fs::write(&batch, "pwd\n").unwrap();
    let out = Command::new("setsid")
        .args(["-w", "sftp", "-P", &s.sftp_port().to_string()])
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .args([
            "-o",
            "PreferredAuthentications=password,keyboard-interactive",
        ])
        .args(["-o", "NumberOfPasswordPrompts=1"])
        .arg("cy@127.0.0.1")
        .env("SSH_ASKPASS", script("askpass.sh"))
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", ":0")
        .env("TEST_PASSWORD", "cy-password-1")
        .env("TEST_PASSCODE", passcode(&secret, 1))
        .env("TEST_PROMPTS", &prompts)
        // Commands on standard input (not -b, which forbids password prompts).
        .stdin(std::fs::File::open(&batch).unwrap())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let asked = std::fs::read_to_string(&prompts).unwrap_or_default();
    assert!(out.status.success(), "{said}{asked}");
    assert!(said.contains("Remote working directory: /"), "{said}");
    let asked = std::fs::read_to_string(&prompts).unwrap();
    assert!(
        asked.contains("password") && asked.contains("Passcode"),
        "{asked}"
    );

    // FTPS (another user: cy's passcodes of these steps are spent): PASS password+passcode;
    // the password alone is refused; a reused passcode too.
    s.add_user("fay", "member", "fay-password-1");
    let (session, _) = s.open("fay", "fay-password-1", APP);
    let (secret, codes) = enrol(&s, &session, "fay-password-1");
    let ftps = |pass: &str| {
        run_ok(Command::new("python3").args([
            &script("ftps_passcode.py"),
            &s.ftps_port().to_string(),
            "fay",
            pass,
        ]))
    };
    assert_eq!(ftps("fay-password-1").trim(), "refused 530");
    let code = passcode(&secret, 0);
    let out = ftps(&format!("fay-password-1+{code}"));
    assert!(out.starts_with("signed in /"), "{out}");
    assert_eq!(
        ftps(&format!("fay-password-1+{code}")).trim(),
        "refused 530"
    );
    assert!(ftps(&format!("fay-password-1+{}", codes[1])).starts_with("signed in"));
    // A wrong password with a passcode's tail is one failed sign-in, not two (the password
    // before the `+` and the whole text are tried in one attempt).
    let failures = || audit_records(&s.audit(), "SignInFailed", 3, "").len();
    let before = failures();
    assert_eq!(ftps("fay-wrong-password+123456").trim(), "refused 530");
    assert_eq!(failures(), before + 1);
    // A user without the factor whose password ends like a passcode still signs in.
    s.add_user("dee", "member", "dee-password+123456");
    let out = run_ok(Command::new("python3").args([
        &script("ftps_passcode.py"),
        &s.ftps_port().to_string(),
        "dee",
        "dee-password+123456",
    ]));
    assert!(out.starts_with("signed in"), "{out}");
}

#[test]
fn a_role_can_require_it_and_an_administrator_resets_it() {
    let s = Server::start_with(
        Backend::Sqlite,
        &format!("{TOTP}required_roles = [\"manager\"]\n{ROOMY_LOCKOUT}"),
    );
    s.add_user("max", "manager", "max-password-1");
    // Not set up: the API refuses (153); the web client lets them in to set it up only.
    let (status, body) = open(&s, "max", "max-password-1", None);
    assert_eq!((status, body["ErrorCode"].as_i64()), (403, Some(153)));
    let mut b = common::web::Browser::new(&s);
    let home = b.sign_in("max", "max-password-1");
    assert_eq!(home.status, 303);
    let r = b.get(home.location.as_deref().unwrap());
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some("/web/account"));
    let page = b.get("/web/account");
    assert!(
        page.body.contains("Your role requires two-step sign-in"),
        "{}",
        page.body
    );
    // Enrol through the account page's forms; the secret is read from the page.
    let token = b.csrf("/web/account");
    let begun = b.post("/web/account/totp/begin", &[("csrf", &token)]);
    assert_eq!(begun.status, 200, "{}", begun.body);
    assert!(begun.body.contains("<svg class=\"qr\""), "a QR code");
    let secret: String = begun
        .body
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .unwrap()
        .replace(' ', "");
    let done = b.post(
        "/web/account/totp/confirm",
        &[
            ("csrf", &token),
            ("passcode", &passcode(&secret, -1)),
            ("password", "max-password-1"),
        ],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body.matches("<li><code>").count(), 10);
    assert_eq!(b.get(home.location.as_deref().unwrap()).status, 200);
    // Now the API takes the passcode.
    assert_eq!(
        open(&s, "max", "max-password-1", Some(&passcode(&secret, 0))).0,
        200
    );

    // Lost phone: the administrator resets it (console), then the CLI (nothing left).
    let mut admin = common::web::Browser::new(&s);
    admin.sign_in(ADMIN, ADMIN_PASSWORD);
    let token = admin.csrf("/admin/users");
    let r = admin.post(
        "/admin/users/reset-totp",
        &[("csrf", &token), ("name", "max")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let out = s.ferry_ok(&["user", "reset-totp", "max"], None);
    assert!(out.contains("had no two-step sign-in"), "{out}");
    // Required again: refused by the API until set up again.
    assert_eq!(open(&s, "max", "max-password-1", None).1["ErrorCode"], 153);
    let audit = s.audit();
    assert!(
        audit
            .iter()
            .any(|r| r["operation"] == "SecondFactorDisabled"
                && r["detail"] == "reset by an administrator")
    );
}

#[test]
fn without_a_key_two_step_sign_in_is_not_offered() {
    let s = Server::start(Backend::Sqlite);
    s.add_user("eve", "member", "eve-password-1");
    let (session, _) = s.open("eve", "eve-password-1", APP);
    let (status, body) = s.call("BeginTotpEnrollment", json!({"sessionID": session}));
    assert_eq!((status, body["ErrorCode"].as_i64()), (403, Some(152)));
    let (_, st) = s.call("GetTotpStatus", json!({"sessionID": session}));
    assert_eq!(st["Available"], false);
    // A passcode given to an account without the factor changes nothing.
    assert_eq!(open(&s, "eve", "eve-password-1", Some("123456")).0, 200);
}

#[test]
fn key_and_impersonated_sign_ins_stay_one_factor() {
    let s = Server::start_with(
        Backend::Sqlite,
        &format!("{TOTP}[sftp]\nlisten = \"127.0.0.1:0\"\n"),
    );
    let kay = s.add_user("kay", "member", "kay-password-1");
    let (session, _) = s.open("kay", "kay-password-1", APP);
    let (secret, _) = enrol(&s, &session, "kay-password-1");
    assert_eq!(open(&s, "kay", "kay-password-1", None).1["ErrorCode"], 150);

    // SFTP with a key: one factor, as in OpenSSH (BatchMode: no prompt could be answered).
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    run_ok(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "kay", "-f"])
            .arg(&key),
    );
    s.ferry_ok(
        &[
            "user",
            "add-key",
            "kay",
            "--key-file",
            &format!("{}.pub", key.display()),
        ],
        None,
    );
    std::fs::write(dir.path().join("batch"), "pwd\n").unwrap();
    let out = run_ok(
        Command::new("sftp")
            .arg("-b")
            .arg(dir.path().join("batch"))
            .arg("-i")
            .arg(&key)
            .args(["-P", &s.sftp_port().to_string()])
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ])
            .args(["-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"])
            .arg("kay@127.0.0.1"),
    );
    assert!(out.contains("Remote working directory: /"), "{out}");

    // Impersonation by an administrator: the service vouches, no passcode.
    let (admin, _) = s.open(ADMIN, ADMIN_PASSWORD, APP);
    let (status, body) = s.call(
        "OpenImmutableImpersonate",
        json!({"serviceSessionId": admin, "userID": kay, "applicationID": APP, "ipAddress": "203.0.113.7"}),
    );
    assert_eq!(status, 200, "{body}");

    // But the factor is kay's own: an impersonated session may neither turn it off (even with
    // a right passcode) nor set one up, as it may not change her password. Before, the
    // administrator's impersonation could turn on a factor only the administrator had.
    let posing = body["SessionID"].as_str().unwrap().to_string();
    let not_permitted = |method: &str, params: Value| {
        let (status, body) = s.call(method, params);
        assert_eq!(
            (status, body["ErrorCode"].as_i64()),
            (403, Some(105)),
            "{method}: {body}"
        );
        assert!(
            body["Message"]
                .as_str()
                .unwrap()
                .contains("impersonated session"),
            "{body}"
        );
    };
    not_permitted(
        "DisableTotp",
        json!({"sessionID": posing, "passcode": passcode(&secret, 1)}),
    );
    s.ferry_ok(&["user", "reset-totp", "kay"], None);
    not_permitted("BeginTotpEnrollment", json!({"sessionID": posing}));
    not_permitted(
        "ConfirmTotpEnrollment",
        json!({"sessionID": posing, "passcode": "123456", "password": "kay-password-1"}),
    );
    let (_, st) = s.call("GetTotpStatus", json!({"sessionID": posing}));
    assert_eq!(st["Enabled"], false, "{st}");
}

/// Turning the factor on (or off) ends every other session of the user, as a password change
/// does: whoever signed in with the password alone before it was on is out. Before, their
/// session (an immutable one for 48 hours) went on as if nothing had changed.
fn turning_the_factor_on_or_off_ends_the_users_other_sessions(backend: Backend) {
    let s = Server::start_with(backend, &format!("{TOTP}{ROOMY_LOCKOUT}"));
    s.add_user("ann", "member", "ann-password-1");
    s.add_user("bob", "member", "bob-password-1");
    let (mine, _) = s.open_with("OpenImmutable", "ann", "ann-password-1", APP);
    let (thief, _) = s.open_with("OpenImmutable", "ann", "ann-password-1", APP);
    let (bobs, _) = s.open_with("OpenImmutable", "bob", "bob-password-1", APP);
    let (secret, _) = enrol(&s, &mine, "ann-password-1");
    assert!(s.alive(&mine), "the session that turned it on goes on");
    assert!(!s.alive(&thief), "a password-only session ends");
    assert!(s.alive(&bobs), "other users are untouched");
    let ended = |why: &str| {
        s.audit()
            .iter()
            .filter(|r| r["operation"] == "SessionRevoked" && r["detail"] == why)
            .count()
    };
    assert_eq!(ended("second factor turned on"), 1);
    // Signed in again with both factors, then turned off from the first session.
    let (status, body) = open(&s, "ann", "ann-password-1", Some(&passcode(&secret, 0)));
    assert_eq!(status, 200, "{body}");
    let again = body["SessionID"].as_str().unwrap().to_string();
    assert!(s.alive(&again));
    let (status, body) = s.call(
        "DisableTotp",
        json!({"sessionID": mine, "passcode": passcode(&secret, 1)}),
    );
    assert_eq!(status, 204, "{body}");
    assert!(s.alive(&mine));
    assert!(!s.alive(&again), "turning it off ends the others too");
    assert_eq!(ended("second factor turned off"), 1);
}
