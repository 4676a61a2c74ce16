//! The structures of the JSON API's OpenAPI document as XML Schema types: the one description
//! of every answer, read once, from which both the WSDL's types and the SOAP answers are made
//! (so an answer always matches its WSDL). Properties keep the document's order.

use std::sync::LazyLock;

use serde_json::{Map, Value};

use crate::methods::ParamType;

/// The OpenAPI document's structures (`components.schemas`).
pub fn structures() -> &'static Map<String, Value> {
    static STRUCTURES: LazyLock<Map<String, Value>> = LazyLock::new(|| {
        let mut doc = crate::openapi::document();
        match doc["components"]["schemas"].take() {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    });
    &STRUCTURES
}

/// What a property or parameter is in XML Schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum XsdType {
    /// A built-in simple type (`s:string`, `s:long`, `s:boolean`, `s:dateTime`).
    Simple(&'static str),
    /// One of the structures, by name.
    Structure(String),
    /// A list of the items' type, as `ArrayOf…` of `…` elements.
    List(Box<XsdType>),
}

impl XsdType {
    /// The type's name in the WSDL (`s:long`, `tns:FTHFolderData`, `tns:ArrayOfFTHFolderData`).
    pub fn qualified(&self) -> String {
        match self {
            XsdType::Simple(s) => (*s).to_string(),
            XsdType::Structure(name) => format!("tns:{name}"),
            XsdType::List(_) => format!("tns:{}", self.local()),
        }
    }

    /// The local name: a list's `ArrayOf…`, an item's element name.
    pub fn local(&self) -> String {
        match self {
            XsdType::Simple(s) => s.trim_start_matches("s:").to_string(),
            XsdType::Structure(name) => name.clone(),
            XsdType::List(item) => format!("ArrayOf{}", capitalised(&item.local())),
        }
    }
}

fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A property's type and whether it may be null, from its JSON Schema.
pub fn property_type(schema: &Value) -> (XsdType, bool) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return (XsdType::Structure(name.to_string()), false);
    }
    let (kind, nullable) = match schema.get("type") {
        Some(Value::String(t)) => (t.as_str(), false),
        Some(Value::Array(types)) => (
            types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("string"),
            types.iter().any(|t| t == "null"),
        ),
        _ => ("string", false),
    };
    let ty = match kind {
        "integer" => XsdType::Simple("s:long"),
        "boolean" => XsdType::Simple("s:boolean"),
        "array" => XsdType::List(Box::new(
            schema
                .get("items")
                .map(|items| property_type(items).0)
                .unwrap_or(XsdType::Simple("s:string")),
        )),
        _ if schema.get("format").and_then(Value::as_str) == Some("date-time") => {
            XsdType::Simple("s:dateTime")
        }
        _ => XsdType::Simple("s:string"),
    };
    (ty, nullable)
}

/// A parameter's type on the SOAP wire.
pub fn parameter_type(ty: ParamType) -> XsdType {
    match ty {
        ParamType::Boolean => XsdType::Simple("s:boolean"),
        ParamType::DateTime => XsdType::Simple("s:dateTime"),
        ParamType::PermissionList => XsdType::List(Box::new(XsdType::Structure(
            "FTHPermissionListItemData".into(),
        ))),
        t if t.is_integer() => XsdType::Simple("s:long"),
        _ => XsdType::Simple("s:string"),
    }
}

/// A structure's properties, in order, with their schemas.
pub fn properties(structure: &str) -> impl Iterator<Item = (&'static String, &'static Value)> {
    structures()
        .get(structure)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|p| p.iter())
}

/// One property of a structure as an answer writes it: its element name and type.
#[derive(Debug)]
pub struct Field {
    /// The property's (and element's) name.
    pub name: &'static str,
    /// Its type.
    pub ty: XsdType,
}

/// A structure's fields in order, worked out once per structure rather than on every answer.
pub fn fields(structure: &str) -> &'static [Field] {
    static FIELDS: LazyLock<std::collections::HashMap<&'static str, Vec<Field>>> =
        LazyLock::new(|| {
            structures()
                .keys()
                .map(|name| {
                    let fields = properties(name)
                        .map(|(property, schema)| Field {
                            name: property.as_str(),
                            ty: property_type(schema).0,
                        })
                        .collect();
                    (name.as_str(), fields)
                })
                .collect()
        });
    FIELDS.get(structure).map(Vec::as_slice).unwrap_or(&[])
}
