//! A method's JSON answer as the SOAP answer of the WSDL: `<MethodResponse>` holding
//! `<MethodResult>`, a structure's properties as elements in its schema's order, lists as
//! `ArrayOf…` of item elements, nulls as `xsi:nil`. Properties the schema does not name are not
//! sent (the WSDL could not describe them).

use quick_xml::escape::escape;
use serde_json::Value;

use super::schema::{XsdType, fields};
use crate::methods::{Method, Returns};

/// The body's content for `method`'s `reply` (elements unprefixed, in the default namespace
/// `namespace` declared on the response element).
pub fn response(method: &Method, reply: Option<&Value>, namespace: &str) -> String {
    let name = method.name;
    let mut out = format!("<{name}Response xmlns=\"{}\">", escape(namespace));
    let result = format!("{name}Result");
    match (method.returns, reply) {
        (Returns::One(structure), Some(value)) => {
            element(
                &mut out,
                &result,
                &XsdType::Structure(structure.into()),
                value,
            );
        }
        (Returns::Many(structure), Some(value)) => {
            let list = XsdType::List(Box::new(XsdType::Structure(structure.into())));
            element(&mut out, &result, &list, value);
        }
        _ => {}
    }
    out.push_str(&format!("</{name}Response>"));
    out
}

/// `<name>` holding `value` as type `ty`.
fn element(out: &mut String, name: &str, ty: &XsdType, value: &Value) {
    out.push('<');
    out.push_str(name);
    if value.is_null() {
        out.push_str(" xsi:nil=\"true\"/>");
        return;
    }
    out.push('>');
    match (ty, value) {
        (XsdType::Structure(structure), Value::Object(values)) => {
            for field in fields(structure) {
                if let Some(v) = values.get(field.name) {
                    element(out, field.name, &field.ty, v);
                }
            }
        }
        (XsdType::List(item), Value::Array(items)) => {
            let item_name = item.local();
            for v in items {
                element(out, &item_name, item, v);
            }
        }
        (_, Value::String(s)) => out.push_str(&escape(s.as_str())),
        (_, Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        (_, Value::Number(n)) => {
            use std::fmt::Write;
            let _ = write!(out, "{n}");
        }
        // A shape the schema does not describe: nothing rather than something unparseable.
        _ => {}
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods;
    use serde_json::json;

    #[test]
    fn a_structure_follows_its_schema_and_escapes_text() {
        let open = methods::find("Open").unwrap();
        let xml = response(
            open,
            Some(&json!({"SessionID": "a<b", "UserID": 7, "Extra": 1})),
            "urn:t",
        );
        assert_eq!(
            xml,
            "<OpenResponse xmlns=\"urn:t\"><OpenResult><SessionID>a&lt;b</SessionID>\
             <UserID>7</UserID></OpenResult></OpenResponse>"
        );
    }

    #[test]
    fn lists_and_nulls() {
        let m = methods::all()
            .find(|m| matches!(m.returns, Returns::Many("FTHFolderData")))
            .unwrap();
        let xml = response(
            m,
            Some(&json!([{"FolderID": 1, "Name": "A"}, {"FolderID": 2, "Description": null}])),
            "urn:t",
        );
        assert!(xml.contains(&format!(
            "<{0}Result><FTHFolderData><FolderID>1</FolderID><Name>A</Name></FTHFolderData>\
             <FTHFolderData><Description xsi:nil=\"true\"/><FolderID>2</FolderID></FTHFolderData></{0}Result>",
            m.name
        )));
    }
}
