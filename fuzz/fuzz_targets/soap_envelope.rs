//! SOAP envelopes and the XML under them (issue 19): any input is a call or a refusal, never
//! a panic; the depth and element bounds hold for whatever is accepted; an accepted call's
//! elements read as any method's arguments give arguments or error 110, never a panic.
#![no_main]

use ferry_http::methods;
use ferry_http::soap::envelope::read_call;
use ferry_http::soap::params::arguments;
use ferry_http::soap::xml_tree::{Element, Limits, XmlError, parse};
use libfuzzer_sys::fuzz_target;

fn depth_and_count(e: &Element) -> (usize, usize) {
    let mut deepest = 0;
    let mut count = 1;
    for c in &e.children {
        let (d, n) = depth_and_count(c);
        deepest = deepest.max(d);
        count += n;
    }
    (deepest + 1, count)
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_bytes: 64 * 1024,
        max_depth: 16,
        max_elements: 500,
    };
    match parse(data, limits) {
        Ok(root) => {
            let (depth, count) = depth_and_count(&root);
            assert!(depth <= limits.max_depth && count <= limits.max_elements);
        }
        Err(XmlError::TooLarge(n)) => assert!(data.len() > n),
        Err(_) => {}
    }
    if let Ok(call) = read_call(data, None, limits) {
        let namespace = call.operation.namespace.clone().unwrap_or_default();
        for method in methods::all() {
            if let Err(e) = arguments(&call.operation, method, &namespace) {
                assert_eq!(e.code(), 110, "{e}");
            }
        }
    }
});
