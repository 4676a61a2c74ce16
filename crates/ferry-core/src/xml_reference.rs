//! The only XML references Ferry's XML readers (the SSO ticket, Thru's SOAP wire) resolve:
//! character references and the five predefined entities. Neither reader processes a DTD,
//! so no other entity can be defined; any other name is refused by the caller.

use quick_xml::events::BytesRef;

/// The character `r` stands for, or `None` for an undefined entity or a malformed
/// character reference.
pub fn resolve(r: &BytesRef<'_>) -> Option<char> {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return Some(c);
    }
    match r.as_ref() {
        b"amp" => Some('&'),
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        _ => None,
    }
}
