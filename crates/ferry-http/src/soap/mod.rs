//! Thru's SOAP wire (issue 19), built up in parts: [`xml_tree`] reads what clients send
//! within fixed bounds and without DTDs, [`envelope`] finds the call in a SOAP 1.1 or 1.2
//! envelope and writes answers and faults. The endpoint, the WSDL and the mapping onto the
//! JSON method table come next.

pub mod envelope;
pub mod xml_tree;
