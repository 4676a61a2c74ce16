//! Request bodies of the REST wire, read strictly into named fields. RAPR 2.1 asks for
//! `application/x-www-form-urlencoded` bodies; its folder update also takes the object as JSON
//! or XML, so all three are read, by `Content-Type`:
//! - a form: names compared case-insensitively, each given once except list names ending in
//!   `[]` (`Tags[]=a&Tags[]=b`), percent-escapes that must decode to UTF-8;
//! - JSON: one object whose values are scalars or arrays of scalars, no key twice at any depth
//!   ([`crate::strict_json`]);
//! - XML: one element whose children are the fields (a child with children is a list), read by
//!   the SOAP wire's bounded, DTD-less reader ([`crate::soap::xml_tree`]).
//!
//! Messages name the field, never its value.

use ferry_core::{Error, Result};
use percent_encoding::percent_decode;
use serde_json::Value;

use crate::soap::xml_tree::{self, Limits};

/// One field's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// A single value.
    One(String),
    /// A list (`Name[]=…` in a form, an array in JSON, an element with children in XML).
    Many(Vec<String>),
}

/// A body's fields, in the order given.
#[derive(Debug, Default)]
pub struct Fields {
    entries: Vec<(String, FieldValue)>,
}

/// Why a body was not read.
#[derive(Debug)]
pub enum BodyError {
    /// A `Content-Type` the REST wire does not read (HTTP 415).
    Unsupported,
    /// The body was refused (error 110).
    Invalid(Error),
}

impl From<Error> for BodyError {
    fn from(e: Error) -> Self {
        BodyError::Invalid(e)
    }
}

impl Fields {
    /// Reads `body`, sent with `content_type`. An empty body has no fields, whatever its type.
    pub fn read(content_type: Option<&str>, body: &[u8]) -> Result<Fields, BodyError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fields::default());
        }
        let media = content_type
            .and_then(|c| c.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match media.as_str() {
            "application/x-www-form-urlencoded" => Ok(Fields::from_form(body)?),
            "application/json" | "text/json" => Ok(Fields::from_json(body)?),
            "application/xml" | "text/xml" => Ok(Fields::from_xml(body)?),
            _ => Err(BodyError::Unsupported),
        }
    }

    fn push(&mut self, name: String, value: FieldValue) -> Result<()> {
        if self
            .entries
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            return Err(Error::invalid(format!(
                "field {name} is given more than once"
            )));
        }
        self.entries.push((name, value));
        Ok(())
    }

    /// Reads a form body.
    pub fn from_form(body: &[u8]) -> Result<Fields> {
        let mut fields = Fields::default();
        for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let (key, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            let key = form_text(key)?;
            let value = form_text(value)?;
            match key.strip_suffix("[]") {
                Some(list) => {
                    let found = fields
                        .entries
                        .iter_mut()
                        .find(|(n, _)| n.eq_ignore_ascii_case(list));
                    match found {
                        Some((_, FieldValue::Many(items))) => items.push(value),
                        Some(_) => {
                            return Err(Error::invalid(format!(
                                "field {list} is given both as a value and as a list"
                            )));
                        }
                        None => fields
                            .entries
                            .push((list.to_string(), FieldValue::Many(vec![value]))),
                    }
                }
                None => fields.push(key, FieldValue::One(value))?,
            }
        }
        Ok(fields)
    }

    /// Reads a JSON object body.
    pub fn from_json(body: &[u8]) -> Result<Fields> {
        let value = crate::strict_json::parse(body)
            .map_err(|e| Error::invalid(format!("the body is not valid JSON ({e})")))?;
        let Value::Object(object) = value else {
            return Err(Error::invalid("the body must be a JSON object"));
        };
        let mut fields = Fields::default();
        for (name, value) in object {
            let value = match value {
                Value::Null => continue,
                Value::Array(items) => FieldValue::Many(
                    items
                        .into_iter()
                        .map(|item| scalar(&name, item))
                        .collect::<Result<_>>()?,
                ),
                other => FieldValue::One(scalar(&name, other)?),
            };
            fields.push(name, value)?;
        }
        Ok(fields)
    }

    /// Reads an XML body: the root element's children are the fields.
    pub fn from_xml(body: &[u8]) -> Result<Fields> {
        let limits = Limits {
            max_bytes: crate::router::MAX_BODY_BYTES,
            ..Limits::default()
        };
        let root = xml_tree::parse(body, limits)
            .map_err(|e| Error::invalid(format!("the body was refused: {e}")))?;
        let mut fields = Fields::default();
        for child in root.children {
            if child.nil {
                continue;
            }
            let value = if child.children.is_empty() {
                FieldValue::One(child.text)
            } else {
                FieldValue::Many(
                    child
                        .children
                        .into_iter()
                        .map(|item| {
                            if item.children.is_empty() {
                                Ok(item.text)
                            } else {
                                Err(Error::invalid(format!(
                                    "field {} nests elements too deep",
                                    child.name
                                )))
                            }
                        })
                        .collect::<Result<_>>()?,
                )
            };
            fields.push(child.name, value)?;
        }
        Ok(fields)
    }

    /// Refuses a field whose name is not in `known` (compared case-insensitively).
    pub fn only(&self, known: &[&str]) -> Result<()> {
        match self
            .entries
            .iter()
            .find(|(n, _)| !known.iter().any(|k| k.eq_ignore_ascii_case(n)))
        {
            Some((name, _)) => Err(Error::invalid(format!("unknown field {name:?}"))),
            None => Ok(()),
        }
    }

    /// The fields' names, in the order given.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }

    fn get(&self, name: &str) -> Option<&FieldValue> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// A single-valued field, if given.
    pub fn one(&self, name: &str) -> Result<Option<&str>> {
        match self.get(name) {
            None => Ok(None),
            Some(FieldValue::One(v)) => Ok(Some(v)),
            Some(FieldValue::Many(_)) => Err(Error::invalid(format!(
                "field {name} takes one value, not a list"
            ))),
        }
    }

    /// A single-valued field that must be given and not empty.
    pub fn required(&self, name: &str) -> Result<&str> {
        match self.one(name)? {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(Error::invalid(format!("missing field {name}"))),
        }
    }

    /// A list field's values (a single value counts as a list of one); none if absent.
    pub fn many(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            None => Vec::new(),
            Some(FieldValue::One(v)) => vec![v.clone()],
            Some(FieldValue::Many(items)) => items.clone(),
        }
    }
}

/// One percent-encoded form component (`+` is a space), which must decode to UTF-8.
fn form_text(raw: &[u8]) -> Result<String> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_decode(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| Error::invalid("the form body does not decode to UTF-8"))
}

fn scalar(name: &str, value: Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(Error::invalid(format!(
            "field {name} must be a string, a number, a boolean or a list of them"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_take_lists_and_refuse_repeats() {
        let f = Fields::from_form(b"Name=New+Folder&Tags%5B%5D=567&Tags[]=897&x=%C3%A9").unwrap();
        assert_eq!(f.one("name").unwrap(), Some("New Folder"));
        assert_eq!(f.many("Tags"), vec!["567".to_string(), "897".to_string()]);
        assert_eq!(f.one("X").unwrap(), Some("é"));
        assert!(Fields::from_form(b"Name=a&name=b").is_err());
        assert!(Fields::from_form(b"Tags[]=a&Tags=b").is_err());
        assert!(Fields::from_form(b"Name=%FF").is_err());
        assert!(f.only(&["Name", "Tags"]).is_err());
        assert!(f.only(&["Name", "Tags", "x"]).is_ok());
    }

    #[test]
    fn json_and_xml_bodies() {
        let f =
            Fields::from_json(br#"{"Name":"a","ParentFolderId":"7","Tags":[],"X":null}"#).unwrap();
        assert_eq!(f.required("ParentFolderId").unwrap(), "7");
        assert!(f.one("X").unwrap().is_none());
        assert!(Fields::from_json(br#"{"Name":{"a":1}}"#).is_err());
        assert!(Fields::from_json(br#"{"Name":"a","Name":"b"}"#).is_err());
        let x = Fields::from_xml(
            b"<ThruPublicFolderInfo><Name>b</Name><Tags><string>t</string></Tags></ThruPublicFolderInfo>",
        )
        .unwrap();
        assert_eq!(x.required("Name").unwrap(), "b");
        assert_eq!(x.many("Tags"), vec!["t".to_string()]);
        assert!(
            Fields::from_xml(b"<!DOCTYPE a [<!ENTITY e \"x\">]><a><Name>&e;</Name></a>").is_err()
        );
        assert!(matches!(
            Fields::read(Some("text/plain"), b"x"),
            Err(BodyError::Unsupported)
        ));
    }
}
