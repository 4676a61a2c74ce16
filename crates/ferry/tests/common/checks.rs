//! What tests assert about answers and the audit, and the SHA-256 they compute themselves.

use serde_json::Value;

/// SHA-256 of `data`, lowercase hex (computed by the test, independently of the server).
pub fn sha256_hex(data: &[u8]) -> String {
    use std::fmt::Write;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(data);
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The audit records of `operation` for application `app` whose detail starts with
/// `detail` (every detail when it is empty).
pub fn audit_records<'a>(
    audit: &'a [Value],
    operation: &str,
    app: i64,
    detail: &str,
) -> Vec<&'a Value> {
    audit
        .iter()
        .filter(|r| {
            r["operation"] == operation
                && r["application_id"] == app
                && (detail.is_empty()
                    || r["detail"].as_str().is_some_and(|d| d.starts_with(detail)))
        })
        .collect()
}

/// The audit records of `operation`, once there are at least `n` (for records written after
/// the answer, by a task of their own); what there is after 20 seconds.
pub fn awaited_audit(s: &super::Server, operation: &str, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let found: Vec<Value> = s
            .audit()
            .into_iter()
            .filter(|r| r["operation"] == operation)
            .collect();
        if found.len() >= n || std::time::Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Asserts the audit of five wrong passwords then a lock-out over application `app`: five
/// counted failures, and the refusals while locked written once for their window.
#[track_caller]
pub fn assert_lockout_audited(audit: &[Value], app: i64) {
    let with = |detail: &str| audit_records(audit, "SignInFailed", app, detail).len();
    assert_eq!(
        with("wrong password"),
        5,
        "five wrong passwords lock the account for this address"
    );
    assert_eq!(
        with("locked out"),
        1,
        "the refusals while locked are audited once per window, not once each"
    );
}

/// Asserts an error answer: the status and the ErrorCode.
#[track_caller]
pub fn assert_error(answer: &(u16, Value), status: u16, code: i64) {
    assert_eq!(answer.0, status, "status of {}", answer.1);
    assert_eq!(answer.1["ErrorCode"], code, "ErrorCode of {}", answer.1);
    assert!(answer.1["Message"].is_string(), "Message of {}", answer.1);
}

/// What a crash between the content commit and the metadata commit leaves, planted in a
/// shard directory of stored objects (`ab`): two objects no version references, one dated two
/// hours ago (old enough for the sweep), one new (it could be an upload committing now).
/// Returns their paths, old first.
pub fn plant_orphans(shard: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    std::fs::create_dir_all(shard).unwrap();
    let old = shard.join(format!("ab{}", "0".repeat(30)));
    let young = shard.join(format!("ab{}", "1".repeat(30)));
    std::fs::write(&old, b"orphan").unwrap();
    std::fs::write(&young, b"in flight").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    (old, young)
}

/// Runs `call(0)` … `call(n - 1)` on threads of their own, all at once (a burst of guesses);
/// their results in order.
pub fn at_once<T: Send>(n: usize, call: impl Fn(usize) -> T + Sync) -> Vec<T> {
    std::thread::scope(|scope| {
        let calls: Vec<_> = (0..n)
            .map(|i| {
                let call = &call;
                scope.spawn(move || call(i))
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    })
}

/// How many of the API's `answers` are HTTP `status` with error `code`.
pub fn answered(answers: &[(u16, Value)], status: u16, code: i64) -> usize {
    answers
        .iter()
        .filter(|(s, body)| *s == status && body["ErrorCode"] == code)
        .count()
}
