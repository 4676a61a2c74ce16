//! The SOAP endpoint against hostile and malformed input (issue 19's list and more), on the raw
//! wire with curl: each is refused with a fault carrying the documented code, quickly, and
//! changes nothing; the server reads no file, expands no entity, buffers no oversized body.

mod common;

use std::process::Command;

use common::{APP, Server};
use ferry_testkit::Backend;

const NS: &str = "http://tempuri.org/";
const V11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const V12: &str = "http://www.w3.org/2003/05/soap-envelope";

/// POSTs `body` to `/soap` with curl; the status and the answer.
fn post(s: &Server, content_type: &str, headers: &[&str], body: &[u8]) -> (u16, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.xml");
    std::fs::write(&file, body).unwrap();
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-o", "-", "-w", "\n%{http_code}", "-H"])
        .arg(format!("Content-Type: {content_type}"));
    for h in headers {
        cmd.args(["-H", h]);
    }
    cmd.arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(format!("{}/soap", s.base));
    let out = cmd.output().expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

fn envelope(ns: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"{ns}\"><s:Body>{body}</s:Body></s:Envelope>"
    )
}

fn open_call(extra: &str) -> String {
    format!(
        "<Open xmlns=\"{NS}\"><userName>admin</userName><password>admin-password-1</password>\
         <applicationID>{APP}</applicationID>{extra}</Open>"
    )
}

/// The fault's error code (from its detail).
fn code(answer: &str) -> Option<i64> {
    let start = answer.find("<ErrorCode>")? + "<ErrorCode>".len();
    let end = answer[start..].find('<')? + start;
    answer[start..end].parse().ok()
}

#[test]
fn hostile_envelopes_are_refused_with_faults_and_change_nothing() {
    let s = Server::start(Backend::Sqlite);
    let xml = "text/xml; charset=utf-8";
    let before = s.audit().len();

    // A well-formed call works, so the refusals below are about what they change.
    let (status, answer) = post(&s, xml, &[], envelope(V11, &open_call("")).as_bytes());
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("<OpenResult><SessionID>"), "{answer}");

    let cases: Vec<(&str, String, u16, i64)> = vec![
        (
            "an external entity",
            format!(
                "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}",
                envelope(V11, &open_call("<clientVersion>&e;</clientVersion>"))
                    .trim_start_matches("<?xml version=\"1.0\"?>")
            ),
            500,
            110,
        ),
        (
            "an entity bomb",
            format!(
                "<!DOCTYPE b [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\
                 <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>{}",
                envelope(V11, &open_call("<clientVersion>&c;</clientVersion>"))
            ),
            500,
            110,
        ),
        (
            "10,000 nested elements",
            envelope(
                V11,
                &format!("{}{}", "<x>".repeat(10_000), "</x>".repeat(10_000)),
            ),
            500,
            110,
        ),
        (
            "malformed XML",
            envelope(V11, "<Open xmlns=\"urn:x\">"),
            500,
            110,
        ),
        ("not an envelope", "<Open/>".into(), 500, 110),
        (
            "a missing element",
            envelope(
                V11,
                &format!(
                    "<Open xmlns=\"{NS}\"><userName>admin</userName><applicationID>{APP}</applicationID></Open>"
                ),
            ),
            500,
            110,
        ),
        (
            "an extra element",
            envelope(V11, &open_call("<isAdmin>true</isAdmin>")),
            500,
            110,
        ),
        (
            "an element given twice",
            envelope(
                V11,
                &open_call("<clientVersion>a</clientVersion><clientVersion>b</clientVersion>"),
            ),
            500,
            110,
        ),
        (
            "a parameter in another namespace",
            envelope(
                V11,
                &open_call("<clientVersion xmlns=\"urn:evil\">a</clientVersion>"),
            ),
            500,
            110,
        ),
        (
            "an integer that is not one",
            envelope(
                V11,
                &format!(
                    "<Open xmlns=\"{NS}\"><userName>admin</userName><password>x</password><applicationID>12ab</applicationID></Open>"
                ),
            ),
            500,
            110,
        ),
        (
            "a GUID that is not one",
            envelope(
                V11,
                &format!(
                    "<Close xmlns=\"{NS}\"><sessionID>'; DROP TABLE sessions; --</sessionID></Close>"
                ),
            ),
            500,
            110,
        ),
        (
            "an operation that does not exist",
            envelope(V11, &format!("<DropEverything xmlns=\"{NS}\"/>")),
            500,
            112,
        ),
        (
            "an operation in another namespace",
            envelope(V11, "<Open xmlns=\"urn:evil\"/>"),
            500,
            112,
        ),
        (
            "two operations in one Body",
            envelope(V11, &format!("{}{}", open_call(""), open_call(""))),
            500,
            110,
        ),
    ];
    for (what, body, status, error) in &cases {
        let (got, answer) = post(&s, xml, &[], body.as_bytes());
        assert_eq!(got, *status, "{what}: {answer}");
        assert_eq!(code(&answer), Some(*error), "{what}: {answer}");
        // A document that is no SOAP envelope is SOAP's VersionMismatch; the rest are the
        // sender's fault.
        let fault_code = if *what == "not an envelope" {
            "VersionMismatch"
        } else {
            "Client"
        };
        assert!(
            answer.contains(&format!("<faultcode>soap:{fault_code}</faultcode>")),
            "{what}: {answer}"
        );
        assert!(!answer.contains("root:"), "{what} read a file: {answer}");
    }

    // The SOAP action must name the operation in the Body.
    let call = envelope(V11, &open_call(""));
    let (got, answer) = post(
        &s,
        xml,
        &[&format!("SOAPAction: \"{NS}Close\"")],
        call.as_bytes(),
    );
    assert_eq!((got, code(&answer)), (500, Some(112)), "{answer}");
    let (got, _) = post(
        &s,
        xml,
        &[&format!("SOAPAction: \"{NS}Open\"")],
        call.as_bytes(),
    );
    assert_eq!(got, 200);

    // A SOAP 1.2 envelope on the 1.1 binding (text/xml), and the other way round.
    let (got, answer) = post(&s, xml, &[], envelope(V12, &open_call("")).as_bytes());
    assert_eq!((got, code(&answer)), (500, Some(110)), "{answer}");
    let soap12 = "application/soap+xml; charset=utf-8";
    let (got, answer) = post(&s, soap12, &[], envelope(V11, &open_call("")).as_bytes());
    assert_eq!((got, code(&answer)), (400, Some(110)), "{answer}");
    assert!(
        answer.contains("<soap:Value>soap:Sender</soap:Value>"),
        "{answer}"
    );
    // A 1.2 action that names another operation.
    let (got, answer) = post(
        &s,
        &format!("{soap12}; action=\"{NS}Close\""),
        &[],
        envelope(V12, &open_call("")).as_bytes(),
    );
    assert_eq!((got, code(&answer)), (400, Some(112)), "{answer}");
    // Neither SOAP content type.
    let (got, _) = post(&s, "application/json", &[], b"{}");
    assert_eq!(got, 415);

    // Nothing refused changed anything: the audit holds the two accepted sign-ins (the
    // second replacing the first), no more.
    let after = s.audit();
    let ops: Vec<&str> = after[before..]
        .iter()
        .map(|r| r["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["SignIn", "SessionReplaced", "SignIn"], "{ops:?}");
}

#[test]
fn a_100_mb_envelope_is_refused_before_it_is_read() {
    let s = Server::start(Backend::Sqlite);
    let rss = s.rss_kib();
    let mut body = envelope(V11, &open_call("<clientVersion>")).into_bytes();
    body.resize(100 << 20, b'a');
    let (status, answer) = post(&s, "text/xml", &[], &body);
    assert_eq!((status, code(&answer)), (413, Some(111)), "{answer}");
    // Nothing of it was kept: the server's memory did not grow by the body.
    assert!(
        s.rss_kib() < rss + 20 * 1024,
        "{} KiB, then {} KiB",
        rss,
        s.rss_kib()
    );
    // A body cut off on the way (no Content-Length, chunked) past the limit is refused too.
    let (status, _) = post(&s, "text/xml", &["Transfer-Encoding: chunked"], &body);
    assert_eq!(status, 413);
}

#[test]
fn the_wsdl_names_the_address_it_was_fetched_from() {
    let s = Server::start(Backend::Sqlite);
    let (status, wsdl) = s.get("/soap?wsdl");
    assert_eq!(status, 200);
    let port = s.base.rsplit(':').next().unwrap();
    assert!(
        wsdl.contains(&format!(
            "<soap:address location=\"http://127.0.0.1:{port}/soap\"/>"
        )),
        "{wsdl}"
    );
    assert!(wsdl.contains("soapAction=\"http://tempuri.org/OpenImmutableImpersonate\""));
    // A Host header that would break out of the attribute is not copied into it.
    let out = Command::new("curl")
        .args(["-s", "-H", "Host: evil\"><x"])
        .arg(format!("{}/soap?wsdl", s.base))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("location=\"http://localhost/soap\""),
        "{text}"
    );
    let (status, _) = s.get("/soap");
    assert_eq!(status, 404);
}
