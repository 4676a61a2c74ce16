//! A SOAP operation's parameter elements as a method's arguments. Each child element of the
//! operation is one parameter, named as in the method table (and the WSDL); its text is read
//! by the parameter's type into the JSON value the JSON wire would carry, so both wires end in
//! [`Args::from_pairs`] and the same checks. An element in another namespace, one with
//! children where text belongs, or text that is not of the type is refused (error 110); a
//! parameter given twice is refused there.

use ferry_core::{Error, Result};
use serde_json::{Map, Value};

use super::xml_tree::Element;
use crate::args::Args;
use crate::methods::{Method, ParamType};

/// The arguments in `operation` for `method`; `namespace` is the service's.
pub fn arguments(operation: &Element, method: &'static Method, namespace: &str) -> Result<Args> {
    if !operation.text.trim().is_empty() {
        return Err(Error::invalid(format!(
            "the {} element holds text; its parameters are elements",
            method.name
        )));
    }
    let mut pairs = Vec::with_capacity(operation.children.len());
    for child in &operation.children {
        if child.namespace.as_deref() != Some(namespace) {
            return Err(Error::invalid(format!(
                "unknown parameter {:?} (parameters are elements in the service's namespace)",
                child.name
            )));
        }
        let param = method
            .params
            .iter()
            .find(|p| p.name == child.name)
            .ok_or_else(|| Error::invalid(format!("unknown parameter {:?}", child.name)))?;
        let value = if child.nil {
            Value::Null
        } else {
            value(child, param.name, param.ty, namespace)?
        };
        pairs.push((child.name.clone(), value));
    }
    Args::from_pairs(pairs, method.params)
}

/// The JSON value of one parameter element.
fn value(e: &Element, name: &str, ty: ParamType, namespace: &str) -> Result<Value> {
    if ty == ParamType::PermissionList {
        return permission_list(e, namespace);
    }
    if !e.children.is_empty() {
        return Err(Error::invalid(format!("{name} must be {}", ty.described())));
    }
    let text = e.text.trim();
    let wrong = || Error::invalid(format!("{name} must be {}", ty.described()));
    Ok(if ty.is_integer() {
        Value::from(text.parse::<i64>().map_err(|_| wrong())?)
    } else if ty == ParamType::Boolean {
        // xs:boolean's four spellings.
        match text {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => return Err(wrong()),
        }
    } else {
        // Text keeps its spaces: the type's own check decides about them.
        Value::String(e.text.clone())
    })
}

/// `ArrayOfFTHPermissionListItemData`: `FTHPermissionListItemData` elements of integer fields.
fn permission_list(e: &Element, namespace: &str) -> Result<Value> {
    let wrong = |what: &str| Error::invalid(format!("a permission list {what}"));
    if !e.text.trim().is_empty() {
        return Err(wrong("holds text outside its items"));
    }
    let mut items = Vec::with_capacity(e.children.len());
    for item in &e.children {
        if item.name != "FTHPermissionListItemData" || item.namespace.as_deref() != Some(namespace)
        {
            return Err(wrong(
                "holds something other than FTHPermissionListItemData items",
            ));
        }
        let mut fields = Map::new();
        for field in &item.children {
            if field.namespace.as_deref() != Some(namespace) || !field.children.is_empty() {
                return Err(wrong("item holds an unknown element"));
            }
            let value = if field.nil {
                Value::Null
            } else {
                Value::from(
                    field
                        .text
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| wrong("item holds a field that is not an integer"))?,
                )
            };
            if fields.insert(field.name.clone(), value).is_some() {
                return Err(wrong("item holds a field twice"));
            }
        }
        items.push(Value::Object(fields));
    }
    Ok(Value::Array(items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods;
    use crate::soap::envelope::read_call;
    use crate::soap::xml_tree::Limits;

    const NS: &str = "urn:t";

    fn args(method: &str, inner: &str) -> Result<Args> {
        let xml = format!(
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><s:Body>\
             <{method} xmlns=\"{NS}\">{inner}</{method}></s:Body></s:Envelope>"
        );
        let call = read_call(xml.as_bytes(), None, Limits::default()).unwrap();
        arguments(&call.operation, methods::find(method).unwrap(), NS)
    }

    const SESSION: &str = "<sessionID>9f1c2b7e-0d3a-4c55-8e21-4b6f0a9d3c11</sessionID>";

    #[test]
    fn typed_values_are_read_by_their_parameter_type() {
        let a = args(
            "SetFolderPermissionList",
            &format!(
                "{SESSION}<folderID> 12 </folderID><permissionList>\
                 <FTHPermissionListItemData><Permission>15</Permission><UserID>3</UserID>\
                 <UserGroupID xsi:nil=\"true\"/></FTHPermissionListItemData></permissionList>\
                 <inheritPermissions>1</inheritPermissions>"
            ),
        )
        .unwrap();
        assert_eq!(a.int("folderID").unwrap(), 12);
        assert_eq!(a.opt_bool("inheritPermissions"), Some(true));
        let grants = a.permission_list("permissionList").unwrap();
        assert_eq!(
            (grants[0].permission, grants[0].user_id, grants[0].group_id),
            (15, 3, -1)
        );
    }

    #[test]
    fn a_nil_optional_parameter_is_absent_and_text_keeps_its_spaces() {
        let a = args(
            "Open",
            "<userName> bob </userName><password> p w </password>\
             <applicationID>1000</applicationID><clientVersion xsi:nil=\"true\"/>",
        )
        .unwrap();
        assert_eq!(a.opt_string("clientVersion"), None);
        assert_eq!(a.string("password"), " p w ");
    }

    #[test]
    fn refusals_are_invalid_arguments() {
        for (method, inner) in [
            ("GetFolder", format!("{SESSION}<folderID>1.5</folderID>")),
            ("GetFolder", format!("{SESSION}<folderID><x/></folderID>")),
            ("GetFolder", format!("{SESSION}<folderid>1</folderid>")),
            (
                "GetFolder",
                format!("{SESSION}<folderID xmlns=\"\">1</folderID>"),
            ),
            (
                "GetFolder",
                format!("{SESSION}<folderID>1</folderID><folderID>2</folderID>"),
            ),
            ("GetFolder", SESSION.to_string()),
            (
                "SetFolderPermissionList",
                format!(
                    "{SESSION}<folderID>1</folderID><permissionList><Item/></permissionList>\
                     <inheritPermissions>true</inheritPermissions>"
                ),
            ),
            (
                "SetFolderPermissionList",
                format!(
                    "{SESSION}<folderID>1</folderID><permissionList><FTHPermissionListItemData>\
                     <Permission>1</Permission><Permission>2</Permission>\
                     </FTHPermissionListItemData></permissionList>\
                     <inheritPermissions>yes</inheritPermissions>"
                ),
            ),
        ] {
            let e = args(method, &inner).expect_err(&inner);
            assert_eq!(e.code(), 110, "{inner}: {e}");
        }
    }
}
