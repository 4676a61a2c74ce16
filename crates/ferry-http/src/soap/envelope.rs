//! The SOAP envelope: finding the one call in a SOAP 1.1 or 1.2 request, and writing the
//! faults that answer a refused one, with Ferry's error code in the fault's detail so a
//! client can tell a wrong password (102) from an ended session (101) as on the JSON wire.

use quick_xml::escape::escape;

use super::xml_tree::{Element, Limits, XmlError, parse};

/// The SOAP version of a message, known by its envelope's namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoapVersion {
    /// SOAP 1.1 (`text/xml`, the `SOAPAction` header).
    V11,
    /// SOAP 1.2 (`application/soap+xml`, the action in the content type).
    V12,
}

impl SoapVersion {
    /// The envelope namespace.
    pub fn namespace(self) -> &'static str {
        match self {
            SoapVersion::V11 => "http://schemas.xmlsoap.org/soap/envelope/",
            SoapVersion::V12 => "http://www.w3.org/2003/05/soap-envelope",
        }
    }

    /// The content type of messages in this version.
    pub fn content_type(self) -> &'static str {
        match self {
            SoapVersion::V11 => "text/xml; charset=utf-8",
            SoapVersion::V12 => "application/soap+xml; charset=utf-8",
        }
    }

    fn from_namespace(ns: Option<&str>) -> Option<SoapVersion> {
        [SoapVersion::V11, SoapVersion::V12]
            .into_iter()
            .find(|v| Some(v.namespace()) == ns)
    }
}

/// A call read from an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The envelope's version.
    pub version: SoapVersion,
    /// The `Header`, if any (its entries are not acted on; one marked `mustUnderstand`
    /// is refused, as SOAP requires).
    pub header: Option<Element>,
    /// The one element in the `Body`: the operation, its namespace and its parameters.
    pub operation: Element,
}

/// Why an envelope was refused; each becomes a fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The XML itself was refused.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// The root is not a SOAP 1.1 or 1.2 `Envelope`.
    #[error("the document is not a SOAP 1.1 or 1.2 envelope")]
    VersionMismatch,
    /// A SOAP version other than the endpoint's (a 1.2 envelope on the 1.1 binding).
    #[error("a SOAP {found} envelope was sent where SOAP {expected} is expected")]
    WrongVersion {
        /// What the endpoint speaks.
        expected: &'static str,
        /// What was sent.
        found: &'static str,
    },
    /// No `Body`, or not exactly one element in it, or something else in the envelope.
    #[error("{0}")]
    Structure(&'static str),
    /// A header entry marked `mustUnderstand` (Ferry understands none).
    #[error("the header entry {0} must be understood and is not")]
    MustUnderstand(String),
}

impl EnvelopeError {
    /// Whether the fault code is `VersionMismatch` (else `Client`/`Sender`).
    pub fn is_version_mismatch(&self) -> bool {
        matches!(self, EnvelopeError::VersionMismatch)
    }
}

fn version_name(v: SoapVersion) -> &'static str {
    match v {
        SoapVersion::V11 => "1.1",
        SoapVersion::V12 => "1.2",
    }
}

/// Reads the call in `bytes`; `expected` is the version the endpoint speaks, if fixed.
pub fn read_call(
    bytes: &[u8],
    expected: Option<SoapVersion>,
    limits: Limits,
) -> Result<Call, EnvelopeError> {
    let root = parse(bytes, limits)?;
    let version = match SoapVersion::from_namespace(root.namespace.as_deref()) {
        Some(v) if root.name == "Envelope" => v,
        _ => return Err(EnvelopeError::VersionMismatch),
    };
    if let Some(expected) = expected
        && expected != version
    {
        return Err(EnvelopeError::WrongVersion {
            expected: version_name(expected),
            found: version_name(version),
        });
    }
    let in_envelope = |e: &Element, name: &str| {
        e.name == name && e.namespace.as_deref() == Some(version.namespace())
    };
    let mut header = None;
    let mut body = None;
    for child in root.children {
        if in_envelope(&child, "Header") && header.is_none() && body.is_none() {
            header = Some(child);
        } else if in_envelope(&child, "Body") && body.is_none() {
            body = Some(child);
        } else {
            return Err(EnvelopeError::Structure(
                "the envelope holds something other than one Header and one Body",
            ));
        }
    }
    let body = body.ok_or(EnvelopeError::Structure("the envelope has no Body"))?;
    if !root.text.trim().is_empty() || !body.text.trim().is_empty() {
        return Err(EnvelopeError::Structure(
            "the envelope or its Body holds text",
        ));
    }
    let mut calls = body.children.into_iter();
    let (Some(operation), None) = (calls.next(), calls.next()) else {
        return Err(EnvelopeError::Structure(
            "the Body must hold exactly one operation element",
        ));
    };
    if let Some(h) = &header
        && let Some(entry) = h.children.iter().find(|e| e.must_understand)
    {
        return Err(EnvelopeError::MustUnderstand(entry.name.clone()));
    }
    Ok(Call {
        version,
        header,
        operation,
    })
}

/// A fault answering a refused call: `Client`/`Sender` (or `VersionMismatch`) with
/// `message`, and Ferry's error `code` in the detail when there is one.
pub fn fault(
    version: SoapVersion,
    version_mismatch: bool,
    sender: bool,
    message: &str,
    code: Option<i64>,
) -> String {
    let message = escape(message);
    let detail_code = code
        .map(|c| format!("<ErrorCode>{c}</ErrorCode><ErrorMessage>{message}</ErrorMessage>"))
        .unwrap_or_default();
    match version {
        SoapVersion::V11 => {
            let fault_code = match (version_mismatch, sender) {
                (true, _) => "VersionMismatch",
                (false, true) => "Client",
                (false, false) => "Server",
            };
            let detail = if detail_code.is_empty() {
                String::new()
            } else {
                format!("<detail>{detail_code}</detail>")
            };
            format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{}\"><soap:Body><soap:Fault><faultcode>soap:{fault_code}</faultcode><faultstring>{message}</faultstring>{detail}</soap:Fault></soap:Body></soap:Envelope>",
                version.namespace()
            )
        }
        SoapVersion::V12 => {
            let fault_code = match (version_mismatch, sender) {
                (true, _) => "VersionMismatch",
                (false, true) => "Sender",
                (false, false) => "Receiver",
            };
            let detail = if detail_code.is_empty() {
                String::new()
            } else {
                format!("<soap:Detail>{detail_code}</soap:Detail>")
            };
            format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{}\"><soap:Body><soap:Fault><soap:Code><soap:Value>soap:{fault_code}</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang=\"en\">{message}</soap:Text></soap:Reason>{detail}</soap:Fault></soap:Body></soap:Envelope>",
                version.namespace()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
    const V12: &str = "http://www.w3.org/2003/05/soap-envelope";

    fn envelope(ns: &str, inner: &str) -> String {
        format!("<s:Envelope xmlns:s=\"{ns}\">{inner}</s:Envelope>")
    }

    #[test]
    fn the_call_is_found_in_either_version() {
        let body = "<s:Body><Close xmlns=\"urn:x\"><sessionID>abc</sessionID></Close></s:Body>";
        for (ns, version) in [(V11, SoapVersion::V11), (V12, SoapVersion::V12)] {
            let call = read_call(
                envelope(ns, &format!("<s:Header/>{body}")).as_bytes(),
                None,
                Limits::default(),
            )
            .unwrap();
            assert_eq!(call.version, version);
            assert_eq!(call.operation.name, "Close");
            assert_eq!(call.operation.namespace.as_deref(), Some("urn:x"));
            assert_eq!(call.operation.child("sessionID").unwrap().text, "abc");
            assert!(call.header.is_some());
        }
        // The 1.1 endpoint refuses a 1.2 envelope.
        let e = read_call(
            envelope(V12, body).as_bytes(),
            Some(SoapVersion::V11),
            Limits::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "a SOAP 1.2 envelope was sent where SOAP 1.1 is expected"
        );
    }

    #[test]
    fn what_is_not_one_call_in_one_envelope_is_refused() {
        let cases = [
            ("<Envelope/>".to_string(), "not a SOAP"),
            ("<s:Envelope xmlns:s=\"urn:other\"/>".into(), "not a SOAP"),
            (envelope(V11, ""), "no Body"),
            (envelope(V11, "<s:Body/>"), "exactly one"),
            (envelope(V11, "<s:Body><a/><b/></s:Body>"), "exactly one"),
            (
                envelope(V11, "<s:Body><a/></s:Body><s:Body/>"),
                "other than",
            ),
            (envelope(V11, "<s:Body><a/></s:Body><x/>"), "other than"),
            (envelope(V11, "text<s:Body><a/></s:Body>"), "holds text"),
            (
                envelope(
                    V11,
                    "<s:Header><Auth s:mustUnderstand=\"1\"/></s:Header><s:Body><a/></s:Body>",
                ),
                "must be understood",
            ),
        ];
        for (xml, expected) in cases {
            let e = read_call(xml.as_bytes(), None, Limits::default()).unwrap_err();
            assert!(e.to_string().contains(expected), "{xml}: {e}");
        }
        // mustUnderstand="0" is fine.
        read_call(
            envelope(
                V11,
                "<s:Header><Auth s:mustUnderstand=\"0\"/></s:Header><s:Body><a/></s:Body>",
            )
            .as_bytes(),
            None,
            Limits::default(),
        )
        .unwrap();
    }

    #[test]
    fn faults_parse_back_with_their_code_and_escaped_message() {
        for version in [SoapVersion::V11, SoapVersion::V12] {
            let xml = fault(version, false, true, "bad <input> & more", Some(102));
            let call = read_call(xml.as_bytes(), Some(version), Limits::default()).unwrap();
            let f = &call.operation;
            assert_eq!(f.name, "Fault");
            let text = format!("{f:?}");
            assert!(text.contains("bad <input> & more"), "{text}");
            assert!(text.contains("102"), "{text}");
            let code = match version {
                SoapVersion::V11 => f.child("faultcode").unwrap().text.clone(),
                SoapVersion::V12 => f
                    .child("Code")
                    .unwrap()
                    .child("Value")
                    .unwrap()
                    .text
                    .clone(),
            };
            assert!(code.ends_with(if version == SoapVersion::V11 {
                "Client"
            } else {
                "Sender"
            }));
        }
        let xml = fault(SoapVersion::V11, true, true, "x", None);
        assert!(xml.contains("soap:VersionMismatch") && !xml.contains("<detail>"));
    }
}
