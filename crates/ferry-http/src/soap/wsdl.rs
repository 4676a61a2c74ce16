//! The WSDL 1.1 document of the SOAP wire, generated from the method table (operations and
//! their parameters) and the OpenAPI structures (answers): document/literal wrapped, as
//! ASP.NET's `.asmx` services are, with a SOAP 1.1 and a SOAP 1.2 binding at one address.
//! Adding a method to the table adds its operation here.

use std::collections::BTreeSet;

use quick_xml::escape::escape;

use super::schema::{XsdType, parameter_type, properties, property_type, structures};
use crate::methods::{self, Method, Returns};

/// The service's name in the WSDL (and its port types' and bindings' stem).
const SERVICE: &str = "FerryService";

/// The WSDL, with `location` (the endpoint's absolute URL) as both ports' address.
pub fn document(namespace: &str, location: &str) -> String {
    let ns = escape(namespace);
    let mut lists = BTreeSet::new();
    let mut schema = String::new();
    for m in methods::all() {
        schema.push_str(&request_element(m, &mut lists));
        schema.push_str(&response_element(m, &mut lists));
    }
    for (name, _) in structures() {
        if name == "Error" {
            continue;
        }
        schema.push_str(&format!("<s:complexType name=\"{name}\"><s:sequence>"));
        for (property, prop_schema) in properties(name) {
            let (ty, nullable) = property_type(prop_schema);
            remember_list(&ty, &mut lists);
            schema.push_str(&format!(
                "<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"{property}\"{} type=\"{}\"/>",
                if nullable { " nillable=\"true\"" } else { "" },
                ty.qualified()
            ));
        }
        schema.push_str("</s:sequence></s:complexType>");
    }
    for list in &lists {
        let XsdType::List(item) = list else { continue };
        schema.push_str(&format!(
            "<s:complexType name=\"{}\"><s:sequence><s:element minOccurs=\"0\" maxOccurs=\"unbounded\" name=\"{}\" nillable=\"true\" type=\"{}\"/></s:sequence></s:complexType>",
            list.local(),
            item.local(),
            item.qualified()
        ));
    }

    let mut messages = String::new();
    let mut port_type = String::new();
    let mut binding11 = String::new();
    let mut binding12 = String::new();
    for m in methods::all() {
        let name = m.name;
        messages.push_str(&format!(
            "<wsdl:message name=\"{name}SoapIn\"><wsdl:part name=\"parameters\" element=\"tns:{name}\"/></wsdl:message>\
             <wsdl:message name=\"{name}SoapOut\"><wsdl:part name=\"parameters\" element=\"tns:{name}Response\"/></wsdl:message>"
        ));
        port_type.push_str(&format!(
            "<wsdl:operation name=\"{name}\"><wsdl:documentation xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\">{}</wsdl:documentation>\
             <wsdl:input message=\"tns:{name}SoapIn\"/><wsdl:output message=\"tns:{name}SoapOut\"/></wsdl:operation>",
            escape(m.summary)
        ));
        for (binding, prefix) in [(&mut binding11, "soap"), (&mut binding12, "soap12")] {
            binding.push_str(&format!(
                "<wsdl:operation name=\"{name}\"><{prefix}:operation soapAction=\"{ns}{name}\" style=\"document\"/>\
                 <wsdl:input><{prefix}:body use=\"literal\"/></wsdl:input><wsdl:output><{prefix}:body use=\"literal\"/></wsdl:output></wsdl:operation>"
            ));
        }
    }
    let location = escape(location);
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
<wsdl:definitions xmlns:s=\"http://www.w3.org/2001/XMLSchema\" xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\" xmlns:soap12=\"http://schemas.xmlsoap.org/wsdl/soap12/\" xmlns:tns=\"{ns}\" xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" targetNamespace=\"{ns}\">\
<wsdl:documentation xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\">Ferry's session web service on Thru's SOAP wire: the same methods, parameters and error codes as /api/v1 (docs/thru-compatibility.md). A refused call is a SOAP fault whose detail carries ErrorCode and ErrorMessage.</wsdl:documentation>\
<wsdl:types><s:schema elementFormDefault=\"qualified\" targetNamespace=\"{ns}\">{schema}</s:schema></wsdl:types>\
{messages}\
<wsdl:portType name=\"{SERVICE}Soap\">{port_type}</wsdl:portType>\
<wsdl:binding name=\"{SERVICE}Soap\" type=\"tns:{SERVICE}Soap\"><soap:binding transport=\"http://schemas.xmlsoap.org/soap/http\"/>{binding11}</wsdl:binding>\
<wsdl:binding name=\"{SERVICE}Soap12\" type=\"tns:{SERVICE}Soap\"><soap12:binding transport=\"http://schemas.xmlsoap.org/soap/http\"/>{binding12}</wsdl:binding>\
<wsdl:service name=\"{SERVICE}\">\
<wsdl:port name=\"{SERVICE}Soap\" binding=\"tns:{SERVICE}Soap\"><soap:address location=\"{location}\"/></wsdl:port>\
<wsdl:port name=\"{SERVICE}Soap12\" binding=\"tns:{SERVICE}Soap12\"><soap12:address location=\"{location}\"/></wsdl:port>\
</wsdl:service></wsdl:definitions>"
    )
}

fn remember_list(ty: &XsdType, lists: &mut BTreeSet<XsdType>) {
    if let XsdType::List(item) = ty {
        remember_list(item, lists);
        lists.insert(ty.clone());
    }
}

/// `<s:element name="Method">` with the parameters in the table's order.
fn request_element(m: &Method, lists: &mut BTreeSet<XsdType>) -> String {
    let mut out = format!("<s:element name=\"{}\"><s:complexType><s:sequence>", m.name);
    for p in m.params {
        let ty = parameter_type(p.ty);
        remember_list(&ty, lists);
        let occurs = if p.required {
            "minOccurs=\"1\" maxOccurs=\"1\""
        } else {
            "minOccurs=\"0\" maxOccurs=\"1\" nillable=\"true\""
        };
        out.push_str(&format!(
            "<s:element {occurs} name=\"{}\" type=\"{}\"><s:annotation><s:documentation>{}</s:documentation></s:annotation></s:element>",
            p.name,
            ty.qualified(),
            escape(p.description)
        ));
    }
    out.push_str("</s:sequence></s:complexType></s:element>");
    out
}

/// `<s:element name="MethodResponse">` holding `MethodResult` (none for a method that
/// answers nothing).
fn response_element(m: &Method, lists: &mut BTreeSet<XsdType>) -> String {
    let result = match m.returns {
        Returns::One(s) => Some(XsdType::Structure(s.into())),
        Returns::Many(s) => Some(XsdType::List(Box::new(XsdType::Structure(s.into())))),
        Returns::Nothing => None,
    };
    let inner = match result {
        Some(ty) => {
            remember_list(&ty, lists);
            format!(
                "<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"{}Result\" type=\"{}\"/>",
                m.name,
                ty.qualified()
            )
        }
        None => String::new(),
    };
    format!(
        "<s:element name=\"{}Response\"><s:complexType><s:sequence>{inner}</s:sequence></s:complexType></s:element>",
        m.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::xml_tree::{Limits, parse};

    #[test]
    fn every_method_is_an_operation_and_every_type_is_defined() {
        let wsdl = document("urn:t", "http://localhost/soap");
        let limits = Limits {
            max_bytes: 16 << 20,
            max_depth: 32,
            max_elements: 1_000_000,
        };
        let root = parse(wsdl.as_bytes(), limits).expect("the WSDL is well-formed");
        assert_eq!(root.name, "definitions");
        for m in methods::all() {
            assert!(wsdl.contains(&format!("<wsdl:operation name=\"{}\">", m.name)));
        }
        let types = &wsdl[..wsdl.find("</wsdl:types>").unwrap()];
        for used in types.split("type=\"tns:").skip(1) {
            let name = &used[..used.find('"').unwrap()];
            assert!(
                wsdl.contains(&format!("<s:complexType name=\"{name}\">")),
                "{name} is used and not defined"
            );
        }
    }
}
