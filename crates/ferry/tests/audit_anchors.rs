//! The audit chain alone cannot show a trail rewritten whole: whoever can write the database
//! can edit a record, compute every hash after it again with the published recipe and move the
//! head, and `ferry audit verify` still says "intact" (this test does it with Python's
//! sqlite3 and hashlib). Anchors close that: the server logs the chain's head ("audit
//! anchor", to be shipped off the machine with its log), `ferry audit verify` prints it, and
//! `ferry audit verify --anchor SEQ:HASH` refuses a trail that no longer holds an anchor taken
//! before the rewrite.

mod common;

use std::process::Command;

use common::Server;
use ferry_testkit::Backend;

/// Rewrites record `seq`'s detail and every hash from it on, then the head: what an attacker
/// with the database file does to leave no broken link.
const REWRITE: &str = r#"
import hashlib, json, sqlite3, sys
db, first = sys.argv[1], int(sys.argv[2])
cols = ["operation", "status", "user_id", "impersonator_id", "application_id",
        "client_version", "client_ip", "external_user", "session_tag", "target_user_id",
        "folder_id", "file_id", "path", "size", "digest", "detail"]
c = sqlite3.connect(db)
rows = c.execute("SELECT seq, at, " + ", ".join(cols) + ", declared_ip, prev_hash "
                 "FROM audit_log WHERE seq >= ? ORDER BY seq", (first,)).fetchall()
prev = rows[0][-1]
for r in rows:
    entry = dict(zip(cols, r[2:2 + len(cols)]))
    if r[0] == first:
        entry["detail"] = "nothing to see here"
    d = {"seq": r[0], "at": r[1], **entry}
    if r[2 + len(cols)] is not None:
        d["declared_ip"] = r[2 + len(cols)]
    d["prev_hash"] = prev
    h = hashlib.sha256(json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    c.execute("UPDATE audit_log SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?",
              (entry["detail"], prev, h, r[0]))
    prev = h
c.execute("UPDATE audit_head SET hash = ? WHERE id = 1", (prev,))
c.commit()
"#;

fn verify(s: &Server, anchors: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["audit", "verify"];
    for a in anchors {
        args.extend(["--anchor", a]);
    }
    let out = s.ferry(&args, None);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// The last `SEQ:HASH` (a number, a colon, 64 hexadecimal digits) on a line of `text` that
/// holds `marker`.
fn anchor_after(text: &str, marker: &str) -> String {
    let line = text
        .lines()
        .rfind(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("{marker:?} in {text}"));
    let bytes = line.as_bytes();
    for (i, _) in line.match_indices(':') {
        let hash = &line[i + 1..];
        if hash.len() >= 64 && hash.as_bytes()[..64].iter().all(u8::is_ascii_hexdigit) {
            let start = line[..i]
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .len();
            if start < i && (hash.len() == 64 || !bytes[i + 65].is_ascii_hexdigit()) {
                return format!("{}:{}", &line[start..i], &hash[..64]);
            }
        }
    }
    panic!("no anchor on {line:?}")
}

#[test]
fn an_anchor_shows_a_trail_rewritten_whole() {
    let mut s = Server::start(Backend::Sqlite);
    // The server logs an anchor as it starts (its first sweep).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !s.log().contains("audit anchor") {
        assert!(std::time::Instant::now() < deadline, "{}", s.log());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let logged = anchor_after(&s.log(), "audit anchor");
    let logged_seq: i64 = logged.split(':').next().unwrap().parse().unwrap();
    for name in ["ann", "bob", "cy"] {
        s.add_user(name, "member", &format!("{name}-password-1"));
    }
    let (code, said) = verify(&s, &[&logged]);
    assert_eq!(code, Some(0), "{said}");
    let head = anchor_after(&said, "head ");
    let head_seq: i64 = head.split(':').next().unwrap().parse().unwrap();
    assert!(head_seq > logged_seq + 1, "{logged} then {head}");
    s.terminate();

    let Some(db) = s.database_url.strip_prefix("sqlite://") else {
        unreachable!()
    };
    let out = Command::new("python3")
        .args(["-c", REWRITE, db, &(logged_seq + 1).to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The chain alone: every link holds.
    let (code, said) = verify(&s, &[]);
    assert_eq!(code, Some(0), "{said}");
    // The anchor logged before the rewritten record still holds; the later one does not.
    assert_eq!(verify(&s, &[&logged]).0, Some(0));
    let (code, said) = verify(&s, &[&logged, &head]);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(&format!("BROKEN at record {head_seq}")) && said.contains("rewritten"),
        "{said}"
    );
    // An anchor past the end: records were removed.
    let past = format!("{}:{}", head_seq + 100, "ab".repeat(32));
    let (code, said) = verify(&s, &[&past]);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("removed from the end"), "{said}");
    // Malformed anchors are refused before anything is read.
    for bad in [
        "5",
        "x:y",
        &format!("0:{}", "ab".repeat(32)),
        "3:abc",
        &format!("3:{}", "zz".repeat(32)),
    ] {
        let (code, said) = verify(&s, &[bad]);
        assert_eq!(code, Some(2), "{bad}: {said}");
        assert!(said.contains("expected SEQ:HASH"), "{bad}: {said}");
    }
}
