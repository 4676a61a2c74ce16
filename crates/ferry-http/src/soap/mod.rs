//! Thru's SOAP wire (issue 19): the JSON API's methods as SOAP 1.1 and 1.2 operations at
//! `/soap`, described by a WSDL at `/soap?wsdl`, both made from the method table and the
//! OpenAPI structures. [`xml_tree`] reads what clients send within fixed bounds and without
//! DTDs; [`envelope`] finds the call and writes faults; [`params`] turns the operation's
//! elements into the method's arguments; [`reply`] writes the answer; [`schema`] maps the
//! structures to XML Schema; [`wsdl`] writes the description; [`endpoint`] serves them.

pub mod endpoint;
pub mod envelope;
pub mod params;
pub mod reply;
pub mod schema;
pub mod wsdl;
pub mod xml_tree;

/// The target namespace of the WSDL, its operations and their elements, unless `[soap]
/// namespace` says otherwise. Thru's published documents reachable to the team do not give
/// theirs; this is ASP.NET's default, which `.asmx` services keep unless told otherwise
/// (docs/thru-compatibility.md).
pub const DEFAULT_NAMESPACE: &str = "http://tempuri.org/";
