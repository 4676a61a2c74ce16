//! A bounded XML reader for what clients send on Thru's XML wires (SOAP envelopes): the
//! document becomes a tree of elements with their namespaces, text and `xsi:nil`, and
//! nothing else. It is built for hostile input, since MFT products were breached through
//! their XML parsers:
//! - a `<!DOCTYPE>` is refused outright, so no DTD, no external entity and no entity
//!   expansion (billion laughs) can happen; only the five predefined entities and character
//!   references are understood;
//! - the size is checked before parsing (the front end also stops reading past it), and the
//!   depth and the number of elements while parsing, so neither 10,000 nested elements nor a
//!   flood of small ones costs more than the limits;
//! - processing instructions other than the XML declaration are refused, comments skipped.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// The XML Schema instance namespace (`xsi:nil`).
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// SOAP 1.1's and 1.2's envelope namespaces (`mustUnderstand`).
const SOAP_NAMESPACES: [&[u8]; 2] = [
    b"http://schemas.xmlsoap.org/soap/envelope/",
    b"http://www.w3.org/2003/05/soap-envelope",
];

/// One element.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Its namespace URI, if it is in one.
    pub namespace: Option<String>,
    /// Its local name.
    pub name: String,
    /// Its text (character data directly inside it, entities resolved).
    pub text: String,
    /// Whether it carries `xsi:nil="true"`.
    pub nil: bool,
    /// Whether it carries SOAP's `mustUnderstand="1"` (either version's namespace).
    pub must_understand: bool,
    /// Its child elements, in document order.
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name` (any namespace).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// How much a document may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes.
    pub max_bytes: usize,
    /// Nesting depth of elements (the root is 1).
    pub max_depth: usize,
    /// Elements in all.
    pub max_elements: usize,
}

impl Default for Limits {
    /// 1 MiB, depth 32, 10,000 elements: far above any Thru call (the largest, a
    /// permission list, is a few hundred elements), far below harm.
    fn default() -> Self {
        Limits {
            max_bytes: 1 << 20,
            max_depth: 32,
            max_elements: 10_000,
        }
    }
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Over `max_bytes`.
    #[error("the XML document is larger than {0} bytes")]
    TooLarge(usize),
    /// Over `max_depth`.
    #[error("the XML document nests elements deeper than {0}")]
    TooDeep(usize),
    /// Over `max_elements`.
    #[error("the XML document has more than {0} elements")]
    TooManyElements(usize),
    /// A `<!DOCTYPE>`: no DTD is ever processed.
    #[error("a DOCTYPE is not accepted (no DTD is processed)")]
    Doctype,
    /// An entity other than the five predefined ones.
    #[error("the entity &{0}; is not defined (only &amp; &lt; &gt; &quot; &apos; are)")]
    UnknownEntity(String),
    /// A processing instruction other than the declaration.
    #[error("processing instructions are not accepted")]
    ProcessingInstruction,
    /// Not well-formed, not UTF-8, an unbound prefix, no root or two roots.
    #[error("the XML is not well-formed: {0}")]
    Malformed(String),
}

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

/// Parses `bytes` into its root element within `limits`.
pub fn parse(bytes: &[u8], limits: Limits) -> Result<Element, XmlError> {
    if bytes.len() > limits.max_bytes {
        return Err(XmlError::TooLarge(limits.max_bytes));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut open: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let (namespace, event) = reader.read_resolved_event().map_err(malformed)?;
        let namespace = match namespace {
            ResolveResult::Bound(ns) => Some(String::from_utf8_lossy(ns.as_ref()).into_owned()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) => {
                return Err(malformed(format!(
                    "the prefix {} is not bound to a namespace",
                    String::from_utf8_lossy(&prefix)
                )));
            }
        };
        match event {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::PI(_) => return Err(XmlError::ProcessingInstruction),
            Event::Decl(_) | Event::Comment(_) => {}
            Event::Start(ref e) | Event::Empty(ref e) => {
                count += 1;
                if count > limits.max_elements {
                    return Err(XmlError::TooManyElements(limits.max_elements));
                }
                if open.len() + 1 > limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                if root.is_some() {
                    return Err(malformed("content after the root element"));
                }
                let mut element = Element {
                    namespace,
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Element::default()
                };
                for attr in e.attributes() {
                    let attr = attr.map_err(malformed)?;
                    let (ns, local) = reader.resolve_attribute(attr.key);
                    let is_nil = matches!(ns, ResolveResult::Bound(n) if n.as_ref() == XSI.as_bytes())
                        && local.as_ref() == b"nil";
                    let is_must_understand = matches!(ns, ResolveResult::Bound(n) if SOAP_NAMESPACES.contains(&n.as_ref()))
                        && local.as_ref() == b"mustUnderstand";
                    if is_nil || is_must_understand {
                        let value = attr.unescape_value().map_err(malformed)?;
                        let set = matches!(value.trim(), "true" | "1");
                        if is_nil {
                            element.nil = set;
                        } else {
                            element.must_understand = set;
                        }
                    }
                }
                if matches!(event, Event::Empty(_)) {
                    close(&mut open, &mut root, element);
                } else {
                    open.push(element);
                }
            }
            Event::End(_) => {
                let element = open.pop().ok_or_else(|| malformed("unbalanced end tag"))?;
                close(&mut open, &mut root, element);
            }
            Event::Text(t) => {
                let t = t.decode().map_err(malformed)?;
                match open.last_mut() {
                    Some(current) => current.text.push_str(&t),
                    None if t.trim().is_empty() => {}
                    None => return Err(malformed("text outside the root element")),
                }
            }
            Event::CData(t) => {
                let t = t.decode().map_err(malformed)?;
                let current = open
                    .last_mut()
                    .ok_or_else(|| malformed("CDATA outside the root element"))?;
                current.text.push_str(&t);
            }
            Event::GeneralRef(r) => {
                let c = ferry_core::xml_reference::resolve(&r).ok_or_else(|| {
                    XmlError::UnknownEntity(String::from_utf8_lossy(r.as_ref()).into_owned())
                })?;
                let current = open
                    .last_mut()
                    .ok_or_else(|| malformed("a reference outside the root element"))?;
                current.text.push(c);
            }
            Event::Eof => break,
        }
    }
    if !open.is_empty() {
        return Err(malformed("the document ends inside an element"));
    }
    root.ok_or_else(|| malformed("no root element"))
}

/// Attaches a finished element to its parent, or makes it the root.
fn close(open: &mut [Element], root: &mut Option<Element>, element: Element) {
    match open.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_default(s: &str) -> Result<Element, XmlError> {
        parse(s.as_bytes(), Limits::default())
    }

    #[test]
    fn a_soap_envelope_becomes_a_tree_with_namespaces_text_and_nil() {
        let root = parse_default(
            r#"<?xml version="1.0" encoding="utf-8"?>
<!-- a comment -->
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <soap:Body>
    <Open xmlns="urn:example">
      <userName>a &amp; b &#233;</userName>
      <password><![CDATA[<p@ss>]]></password>
      <clientVersion xsi:nil="true"/>
    </Open>
  </soap:Body>
</soap:Envelope>"#,
        )
        .unwrap();
        assert_eq!(root.name, "Envelope");
        assert_eq!(
            root.namespace.as_deref(),
            Some("http://schemas.xmlsoap.org/soap/envelope/")
        );
        let open = &root.child("Body").unwrap().children[0];
        assert_eq!(open.name, "Open");
        assert_eq!(open.namespace.as_deref(), Some("urn:example"));
        assert_eq!(open.child("userName").unwrap().text, "a & b é");
        assert_eq!(open.child("password").unwrap().text, "<p@ss>");
        assert!(open.child("clientVersion").unwrap().nil);
        assert!(!open.child("userName").unwrap().nil);
    }

    #[test]
    fn dtds_entities_and_instructions_are_refused() {
        let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<Envelope>&lol2;</Envelope>"#;
        assert_eq!(parse_default(bomb), Err(XmlError::Doctype));
        let external = r#"<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>"#;
        assert_eq!(parse_default(external), Err(XmlError::Doctype));
        // Without a DOCTYPE an entity is simply undefined.
        assert_eq!(
            parse_default("<x>&xxe;</x>"),
            Err(XmlError::UnknownEntity("xxe".into()))
        );
        assert_eq!(
            parse_default(r#"<?xml-stylesheet href="a"?><x/>"#),
            Err(XmlError::ProcessingInstruction)
        );
    }

    #[test]
    fn size_depth_and_count_are_bounded() {
        let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
        assert_eq!(parse_default(&deep), Err(XmlError::TooDeep(32)));
        let wide = format!("<a>{}</a>", "<b/>".repeat(10_001));
        assert_eq!(parse_default(&wide), Err(XmlError::TooManyElements(10_000)));
        let big = format!("<a>{}</a>", "x".repeat(1 << 20));
        assert_eq!(parse_default(&big), Err(XmlError::TooLarge(1 << 20)));
    }

    #[test]
    fn malformed_documents_are_refused() {
        for bad in [
            "",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "text",
            "<p:a/>",
            "<a>\u{0}</a",
            "<a x='1' x='2'/>",
        ] {
            assert!(
                matches!(parse_default(bad), Err(XmlError::Malformed(_))),
                "{bad:?}: {:?}",
                parse_default(bad)
            );
        }
        assert!(matches!(
            parse(&[0xff, 0xfe, b'<'], Limits::default()),
            Err(XmlError::Malformed(_))
        ));
    }
}
