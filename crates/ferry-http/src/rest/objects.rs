//! RAPR's objects (`ThruPublicSession`, `ThruPublicFolderInfo`, `ThruPublicFileInfo`,
//! `ThruPublicContentResult`, `ThruPublicServerInfo`, `ErrorInfo`) made from the method table's
//! answers, and written in JSON or in XML as .NET's serializers write them:
//! - IDs are strings (RAPR's samples are strings; Ferry's are its integers in decimal), and an
//!   absent one is null; ID fields end in `ID` (`FolderID`), as RAPR's tables and the
//!   OpenAPI of its successor (Boomi's MFT File Sharing API) write them;
//! - dates are `/Date(milliseconds)/`, UTC;
//! - XML has the object's name as root element with the `xsd`/`xsi` namespace declarations of
//!   RAPR's samples, a list's items as elements named after their type (`<string>`), and a
//!   null as `xsi:nil="true"`.

use ferry_core::clock::Timestamp;
use quick_xml::escape::escape;
use serde_json::{Map, Value, json};

use super::negotiate::Format;

/// A field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A date, written `/Date(ms)/`.
    Date(Timestamp),
    /// Null.
    Nil,
    /// A list of text (`<string>` items in XML).
    Texts(Vec<String>),
    /// A list of objects.
    Objects(Vec<Obj>),
}

/// A named object with its fields in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Obj {
    /// Its type name: the XML root element.
    pub name: &'static str,
    /// Its fields.
    pub fields: Vec<(&'static str, Val)>,
}

impl Obj {
    /// This object in `format`.
    pub fn write(&self, format: Format) -> String {
        match format {
            Format::Json => self.json().to_string(),
            Format::Xml => {
                let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
                out.push('<');
                out.push_str(self.name);
                out.push_str(
                    " xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
                     xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">",
                );
                self.xml_fields(&mut out);
                out.push_str("</");
                out.push_str(self.name);
                out.push('>');
                out
            }
        }
    }

    fn json(&self) -> Value {
        let mut map = Map::new();
        for (name, value) in &self.fields {
            let v = match value {
                Val::Text(t) => json!(t),
                Val::Int(i) => json!(i),
                Val::Bool(b) => json!(b),
                Val::Date(t) => json!(date_text(*t)),
                Val::Nil => Value::Null,
                Val::Texts(items) => json!(items),
                Val::Objects(items) => Value::Array(items.iter().map(Obj::json).collect()),
            };
            map.insert((*name).to_string(), v);
        }
        Value::Object(map)
    }

    fn xml_fields(&self, out: &mut String) {
        for (name, value) in &self.fields {
            match value {
                Val::Nil => {
                    out.push_str(&format!("<{name} xsi:nil=\"true\" />"));
                }
                Val::Texts(items) => {
                    out.push_str(&format!("<{name}>"));
                    for item in items {
                        out.push_str(&format!("<string>{}</string>", escape(item.as_str())));
                    }
                    out.push_str(&format!("</{name}>"));
                }
                Val::Objects(items) => {
                    out.push_str(&format!("<{name}>"));
                    for item in items {
                        out.push_str(&format!("<{}>", item.name));
                        item.xml_fields(out);
                        out.push_str(&format!("</{}>", item.name));
                    }
                    out.push_str(&format!("</{name}>"));
                }
                scalar => {
                    let text = match scalar {
                        Val::Text(t) => escape(t.as_str()).into_owned(),
                        Val::Int(i) => i.to_string(),
                        Val::Bool(b) => b.to_string(),
                        Val::Date(t) => date_text(*t),
                        _ => String::new(),
                    };
                    out.push_str(&format!("<{name}>{text}</{name}>"));
                }
            }
        }
    }
}

/// `/Date(ms)/`, the WCF form RAPR's dates take.
pub fn date_text(t: Timestamp) -> String {
    format!("/Date({})/", t.0)
}

/// `ErrorInfo` (RAPR 4.1): the message and Ferry's documented error code.
pub fn error_info(code: u32, message: &str) -> Obj {
    Obj {
        name: "ErrorInfo",
        fields: vec![
            ("Message", Val::Text(message.to_string())),
            ("ErrorCode", Val::Int(i64::from(code))),
        ],
    }
}

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name).unwrap_or(&Value::Null)
}

fn int(v: &Value, name: &str) -> i64 {
    field(v, name).as_i64().unwrap_or(-1)
}

fn text(v: &Value, name: &str) -> String {
    field(v, name).as_str().unwrap_or_default().to_string()
}

/// An ID as RAPR writes it: a string, or null where Ferry's wire says -1 (none).
fn id(v: &Value, name: &str) -> Val {
    match int(v, name) {
        -1 => Val::Nil,
        n => Val::Text(n.to_string()),
    }
}

fn date(v: &Value, name: &str) -> Val {
    field(v, name)
        .as_str()
        .and_then(Timestamp::parse_rfc3339)
        .map_or(Val::Nil, Val::Date)
}

/// `ThruPublicSession` from `FTHSessionData`.
pub fn session(v: &Value) -> Obj {
    Obj {
        name: "ThruPublicSession",
        fields: vec![
            ("SessionID", Val::Text(text(v, "SessionID"))),
            ("UserID", id(v, "UserID")),
        ],
    }
}

/// The fields folders and files share after their size: the caller's rights, and who made and
/// last changed the item, when.
fn rights_and_history(v: &Value) -> [(&'static str, Val); 5] {
    [
        (
            "EffectivePermission",
            Val::Int(int(v, "EffectivePermission")),
        ),
        ("DateCreated", date(v, "DateCreated")),
        ("DateModified", date(v, "DateModified")),
        ("CreatedByUserID", id(v, "CreatedByUserID")),
        ("ModifiedByUserID", id(v, "ModifiedByUserID")),
    ]
}

/// `ThruPublicFolderInfo` from `FTHFolderData`, in the order of RAPR's sample.
pub fn folder(v: &Value) -> Obj {
    Obj {
        name: "ThruPublicFolderInfo",
        fields: [
            ("FolderID", id(v, "FolderID")),
            ("ParentFolderID", id(v, "ParentFolderID")),
            ("Name", Val::Text(text(v, "Name"))),
            ("Path", Val::Nil),
            ("Description", Val::Text(text(v, "Description"))),
            ("Tags", Val::Texts(Vec::new())),
            ("Size", Val::Nil),
        ]
        .into_iter()
        .chain(rights_and_history(v))
        .chain([
            ("InFavorite", Val::Bool(false)),
            ("FolderType", Val::Int(int(v, "FolderType"))),
        ])
        .collect(),
    }
}

/// `ThruPublicFileInfo` from `FTHFileData`.
pub fn file(v: &Value) -> Obj {
    Obj {
        name: "ThruPublicFileInfo",
        fields: [
            ("FileID", id(v, "FileID")),
            ("ParentFolderID", id(v, "ParentFolderID")),
            ("Name", Val::Text(text(v, "Name"))),
            ("Description", Val::Text(String::new())),
            ("Path", Val::Nil),
            ("Tags", Val::Texts(Vec::new())),
            ("Size", Val::Int(int(v, "Size"))),
        ]
        .into_iter()
        .chain(rights_and_history(v))
        .chain([
            ("IsQuarantined", Val::Bool(false)),
            ("InFavorite", Val::Bool(false)),
            ("IsPartiallyUploaded", Val::Bool(false)),
            ("Version", Val::Int(int(v, "Version"))),
            ("Sha256", Val::Text(text(v, "SHA256"))),
        ])
        .collect(),
    }
}

/// `ThruPublicContentResult`: folders and files; a kind that was not asked for is null, as
/// RAPR says of a folders-only search's files.
pub fn content(folders: Option<&Value>, files: Option<&Value>) -> Obj {
    let list = |v: Option<&Value>, each: fn(&Value) -> Obj| match v {
        Some(Value::Array(items)) => Val::Objects(items.iter().map(each).collect()),
        _ => Val::Nil,
    };
    Obj {
        name: "ThruPublicContentResult",
        fields: vec![
            ("Folders", list(folders, folder)),
            ("Files", list(files, file)),
        ],
    }
}

/// `ThruPublicServerInfo` (RAPR 5.7.1: `SiteId`, `Name`, `Title`, `Welcome`, `Enabled`) from
/// `GetServerInfo`'s answer, for the site named `site` (the request's host), with Ferry's
/// version and the REST versions after RAPR's fields.
pub fn server_info(v: &Value, rest_version: &str, site: &str) -> Obj {
    Obj {
        name: "ThruPublicServerInfo",
        fields: vec![
            ("SiteID", Val::Text("1".into())),
            ("Name", Val::Text(site.to_string())),
            ("Title", Val::Text(text(v, "ServerName"))),
            (
                "Welcome",
                Val::Text(format!("{} file transfer", text(v, "ServerName"))),
            ),
            ("Enabled", Val::Bool(true)),
            ("ServerVersion", Val::Text(text(v, "ServerVersion"))),
            ("RestVersion", Val::Text(rest_version.to_string())),
            (
                "RestVersions",
                Val::Texts(super::VERSIONS.iter().map(|v| v.to_string()).collect()),
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_in_both_formats() {
        let fth = json!({"FolderID": 7, "ParentFolderID": -1, "Name": "a<b&c",
            "EffectivePermission": 255, "DateCreated": "2026-11-22T18:43:14.123Z",
            "DateModified": "2026-11-22T18:43:14.123Z", "CreatedByUserID": 1,
            "ModifiedByUserID": -1, "FolderType": 1, "Description": ""});
        let f = folder(&fth);
        let j: Value = serde_json::from_str(&f.write(Format::Json)).unwrap();
        assert_eq!(j["FolderID"], "7");
        assert_eq!(j["ParentFolderID"], Value::Null);
        assert_eq!(j["DateCreated"], "/Date(1795372994123)/");
        let x = f.write(Format::Xml);
        assert!(x.contains("<Name>a&lt;b&amp;c</Name>"), "{x}");
        assert!(x.contains("<ParentFolderID xsi:nil=\"true\" />"), "{x}");
        assert!(x.contains("<Tags></Tags>"), "{x}");
        assert!(x.starts_with("<?xml"));
    }
}
