//! The plaintext of a single sign-on ticket (spec 2.3.2.3, DESIGN.md §4):
//! `<token timestamp="MM/dd/yyyy HH:mm:ss"><sitename>host</sitename><username>DOMAIN\user</username></token>`.
//!
//! Parsing is strict and small on purpose: UTF-8 only, no DTD (so no external entities and no
//! entity expansion), only XML's five predefined entities and character references, exactly
//! one `sitename` and one `username`, nothing else. Times are UTC in one of the formats of
//! [`parse_ticket_time`]. Sealing lives in `ferry_crypto::ticket_seal`.

use quick_xml::events::Event;
use quick_xml::reader::Reader;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::clock::Timestamp;

/// Longest site name or user name a ticket may carry, in characters.
pub const MAX_TICKET_FIELD_CHARS: usize = 255;

/// What a ticket says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketClaims {
    /// When the integrator's portal issued it.
    pub issued_at: Timestamp,
    /// The Ferry site it is meant for.
    pub site_name: String,
    /// `DOMAIN\user`.
    pub username: String,
}

/// Why a ticket's plaintext was refused (for the log only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketFormatError {
    /// Not valid UTF-8.
    #[error("ticket plaintext is not UTF-8")]
    NotUtf8,
    /// A document type declaration, which could define entities.
    #[error("ticket contains a DTD")]
    Dtd,
    /// An entity other than XML's five predefined ones.
    #[error("ticket uses an undefined entity")]
    Entity,
    /// Malformed XML or an element or attribute the format does not have.
    #[error("ticket XML is malformed or has unexpected content")]
    Structure,
    /// The timestamp is missing or in no accepted format.
    #[error("ticket timestamp is missing or unreadable")]
    Timestamp,
    /// A field is empty, too long or holds control characters.
    #[error("ticket field is empty, too long or has control characters")]
    Field,
}

impl TicketClaims {
    /// The XML plaintext of these claims, timestamp in the spec's `MM/dd/yyyy HH:mm:ss`.
    pub fn to_xml(&self) -> String {
        format!(
            "<token timestamp=\"{}\"><sitename>{}</sitename><username>{}</username></token>",
            format_ticket_time(self.issued_at),
            quick_xml::escape::escape(self.site_name.as_str()),
            quick_xml::escape::escape(self.username.as_str()),
        )
    }

    /// Parses a decrypted ticket.
    pub fn parse(plaintext: &[u8]) -> Result<TicketClaims, TicketFormatError> {
        let text = std::str::from_utf8(plaintext).map_err(|_| TicketFormatError::NotUtf8)?;
        // Whitespace is trimmed per field, not per text event: a name like `a & b` arrives
        // as text, reference, text.
        let mut reader = Reader::from_str(text);

        #[derive(PartialEq)]
        enum At {
            Start,
            Token,
            Field(&'static str),
            End,
        }
        let mut at = At::Start;
        let mut issued_at = None;
        let mut site_name: Option<String> = None;
        let mut username: Option<String> = None;
        let mut current = String::new();

        loop {
            let event = reader
                .read_event()
                .map_err(|_| TicketFormatError::Structure)?;
            match (&at, event) {
                (_, Event::DocType(_)) => return Err(TicketFormatError::Dtd),
                (_, Event::Comment(_)) => {}
                (At::Start | At::Token | At::End, Event::Text(t))
                    if t.iter().all(u8::is_ascii_whitespace) => {}
                (At::Start, Event::Decl(_)) => {}
                (At::Start, Event::Start(e)) if e.name().as_ref() == b"token" => {
                    for attr in e.attributes() {
                        let attr = attr.map_err(|_| TicketFormatError::Structure)?;
                        if attr.key.as_ref() != b"timestamp" || issued_at.is_some() {
                            return Err(TicketFormatError::Structure);
                        }
                        let value = attr
                            .unescape_value()
                            .map_err(|_| TicketFormatError::Entity)?;
                        issued_at =
                            Some(parse_ticket_time(&value).ok_or(TicketFormatError::Timestamp)?);
                    }
                    at = At::Token;
                }
                (At::Token, Event::Start(e)) => {
                    if e.attributes().next().is_some() {
                        return Err(TicketFormatError::Structure);
                    }
                    at = match e.name().as_ref() {
                        b"sitename" if site_name.is_none() => At::Field("sitename"),
                        b"username" if username.is_none() => At::Field("username"),
                        _ => return Err(TicketFormatError::Structure),
                    };
                    current.clear();
                }
                (At::Field(_), Event::Text(t)) => {
                    let t = t.decode().map_err(|_| TicketFormatError::Structure)?;
                    current.push_str(&t);
                }
                (At::Field(_), Event::CData(t)) => {
                    let t = t.decode().map_err(|_| TicketFormatError::Structure)?;
                    current.push_str(&t);
                }
                (At::Field(_), Event::GeneralRef(r)) => {
                    current
                        .push(crate::xml_reference::resolve(&r).ok_or(TicketFormatError::Entity)?);
                }
                (At::Field(name), Event::End(e)) if e.name().as_ref() == name.as_bytes() => {
                    let value = checked_field(&current)?;
                    if *name == "sitename" {
                        site_name = Some(value);
                    } else {
                        username = Some(value);
                    }
                    at = At::Token;
                }
                (At::Token, Event::End(e)) if e.name().as_ref() == b"token" => at = At::End,
                (At::End, Event::Eof) => break,
                _ => return Err(TicketFormatError::Structure),
            }
        }
        Ok(TicketClaims {
            issued_at: issued_at.ok_or(TicketFormatError::Timestamp)?,
            site_name: site_name.ok_or(TicketFormatError::Structure)?,
            username: username.ok_or(TicketFormatError::Structure)?,
        })
    }
}

/// Trims a field (the spec's example has a space before the user name) and bounds it.
fn checked_field(raw: &str) -> Result<String, TicketFormatError> {
    let value = raw.trim();
    if value.is_empty()
        || value.chars().count() > MAX_TICKET_FIELD_CHARS
        || value.chars().any(char::is_control)
    {
        return Err(TicketFormatError::Field);
    }
    Ok(value.to_string())
}

/// `MM/dd/yyyy HH:mm:ss`, UTC.
pub fn format_ticket_time(t: Timestamp) -> String {
    let dt = OffsetDateTime::from_unix_timestamp_nanos(t.0 as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}:{:02}",
        u8::from(dt.month()),
        dt.day(),
        dt.year(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

/// Reads a ticket time, always UTC unless an ISO 8601 offset says otherwise. Accepted:
/// the spec's `MM/dd/yyyy HH:mm:ss` (leading zeros optional), .NET's `M/d/yyyy h:mm tt` (with
/// or without seconds, `AM`/`PM` in any case), and ISO 8601 / RFC 3339
/// (`2026-11-22T10:15:00Z`, with an offset, or without one meaning UTC).
pub fn parse_ticket_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if text.contains('/') {
        parse_us_time(text)
    } else {
        Timestamp::parse_rfc3339(text).or_else(|| {
            let without_zone = format!("{text}Z");
            Timestamp::parse_rfc3339(&without_zone)
        })
    }
}

fn parse_us_time(text: &str) -> Option<Timestamp> {
    let mut words = text.split(' ').filter(|w| !w.is_empty());
    let (date, clock, meridiem) = (words.next()?, words.next()?, words.next());
    if words.next().is_some() {
        return None;
    }
    let number = |s: &str, max_len: usize| -> Option<u32> {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let mut d = date.split('/');
    let (month, day, year) = (
        number(d.next()?, 2)?,
        number(d.next()?, 2)?,
        d.next()
            .filter(|y| y.len() == 4)
            .and_then(|y| number(y, 4))?,
    );
    if d.next().is_some() {
        return None;
    }
    let mut c = clock.split(':');
    let (mut hour, minute) = (number(c.next()?, 2)?, number(c.next()?, 2)?);
    let second = match c.next() {
        Some(s) if s.len() == 2 => number(s, 2)?,
        Some(_) => return None,
        None => 0,
    };
    if c.next().is_some() {
        return None;
    }
    match meridiem.map(str::to_ascii_uppercase).as_deref() {
        None => {}
        Some(m @ ("AM" | "PM")) => {
            if !(1..=12).contains(&hour) {
                return None;
            }
            hour = (hour % 12) + if m == "PM" { 12 } else { 0 };
        }
        Some(_) => return None,
    }
    let date = Date::from_calendar_date(
        i32::try_from(year).ok()?,
        Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    let time = Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?;
    let unix_ms = PrimitiveDateTime::new(date, time)
        .assume_utc()
        .unix_timestamp_nanos()
        / 1_000_000;
    Some(Timestamp(i64::try_from(unix_ms).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(iso: &str) -> Timestamp {
        Timestamp::parse_rfc3339(iso).unwrap()
    }

    #[test]
    fn accepted_time_formats() {
        let t = at("2026-11-22T15:04:05Z");
        for s in [
            "11/22/2026 15:04:05",
            "11/22/2026 3:04:05 PM",
            "11/22/2026 03:04:05 pm",
            "2026-11-22T15:04:05Z",
            "2026-11-22T16:04:05+01:00",
            "2026-11-22T15:04:05",
        ] {
            assert_eq!(parse_ticket_time(s), Some(t), "{s}");
        }
        assert_eq!(
            parse_ticket_time("1/2/2026 9:05 AM"),
            Some(at("2026-01-02T09:05:00Z"))
        );
        assert_eq!(
            parse_ticket_time("1/2/2026 12:00 AM"),
            Some(at("2026-01-02T00:00:00Z"))
        );
        assert_eq!(
            parse_ticket_time("1/2/2026 12:30 PM"),
            Some(at("2026-01-02T12:30:00Z"))
        );
    }

    #[test]
    fn refused_time_formats() {
        for s in [
            "",
            "13/01/2026 10:00:00",
            "02/30/2026 10:00:00",
            "11/22/26 10:00:00",
            "11/22/2026 24:00:00",
            "11/22/2026 13:00 PM",
            "11/22/2026 0:30 AM",
            "11/22/2026 10:00:00 XM",
            "11/22/2026",
            "11/22/2026 10:00:00 PM extra",
            "+11/22/2026 10:00:00",
            "2026-11-22 garbage",
            "yesterday",
        ] {
            assert_eq!(parse_ticket_time(s), None, "{s:?}");
        }
    }

    #[test]
    fn round_trip_and_escaping() {
        let claims = TicketClaims {
            issued_at: at("2026-11-22T15:04:05Z"),
            site_name: "files.example.com".into(),
            username: "EXAMPLE\\o'brien & <co>".into(),
        };
        let xml = claims.to_xml();
        assert!(xml.starts_with("<token timestamp=\"11/22/2026 15:04:05\">"));
        assert_eq!(TicketClaims::parse(xml.as_bytes()).unwrap(), claims);
    }

    #[test]
    fn the_spec_example_with_whitespace_parses() {
        let xml = "<?xml version=\"1.0\"?>\n<token timestamp=\"11/22/2026 15:04:05\">\n<sitename>yoursite.thruinc.net</sitename>\n<username> DomainName\\UserName</username>\n</token>\n";
        let c = TicketClaims::parse(xml.as_bytes()).unwrap();
        assert_eq!(c.username, "DomainName\\UserName");
        assert_eq!(c.site_name, "yoursite.thruinc.net");
    }

    #[test]
    fn hostile_documents_are_refused() {
        let good_body = "<sitename>s</sitename><username>D\\u</username>";
        let cases: Vec<(String, TicketFormatError)> = vec![
            (
                "<!DOCTYPE token [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><token timestamp=\"11/22/2026 15:04:05\"><sitename>&x;</sitename><username>D\\u</username></token>"
                    .to_string(),
                TicketFormatError::Dtd,
            ),
            (
                "<!DOCTYPE lolz [<!ENTITY a \"aaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><token/>".into(),
                TicketFormatError::Dtd,
            ),
            (
                "<token timestamp=\"11/22/2026 15:04:05\"><sitename>&x;</sitename><username>D\\u</username></token>".into(),
                TicketFormatError::Entity,
            ),
            (
                format!("<token timestamp=\"11/22/2026 15:04:05\" extra=\"1\">{good_body}</token>"),
                TicketFormatError::Structure,
            ),
            (
                format!("<token>{good_body}</token>"),
                TicketFormatError::Timestamp,
            ),
            (
                format!("<token timestamp=\"soon\">{good_body}</token>"),
                TicketFormatError::Timestamp,
            ),
            (
                format!("<token timestamp=\"11/22/2026 15:04:05\">{good_body}<username>x</username></token>"),
                TicketFormatError::Structure,
            ),
            (
                format!("<token timestamp=\"11/22/2026 15:04:05\">{good_body}<role>admin</role></token>"),
                TicketFormatError::Structure,
            ),
            (
                "<token timestamp=\"11/22/2026 15:04:05\"><sitename>s</sitename></token>".into(),
                TicketFormatError::Structure,
            ),
            (
                format!("<token timestamp=\"11/22/2026 15:04:05\">{good_body}</token><token/>"),
                TicketFormatError::Structure,
            ),
            (
                format!("<token timestamp=\"11/22/2026 15:04:05\">{good_body}"),
                TicketFormatError::Structure,
            ),
            (
                "<token timestamp=\"11/22/2026 15:04:05\"><sitename>s</sitename><username>   </username></token>".into(),
                TicketFormatError::Field,
            ),
            (
                format!(
                    "<token timestamp=\"11/22/2026 15:04:05\"><sitename>s</sitename><username>{}</username></token>",
                    "u".repeat(MAX_TICKET_FIELD_CHARS + 1)
                ),
                TicketFormatError::Field,
            ),
            (
                "<token timestamp=\"11/22/2026 15:04:05\"><sitename>s</sitename><username>a&#1;b</username></token>".into(),
                TicketFormatError::Field,
            ),
        ];
        for (xml, want) in cases {
            assert_eq!(TicketClaims::parse(xml.as_bytes()), Err(want), "{xml}");
        }
        assert_eq!(
            TicketClaims::parse(b"<token timestamp=\"x\">\xff</token>"),
            Err(TicketFormatError::NotUtf8)
        );
    }
}
