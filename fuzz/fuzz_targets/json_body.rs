//! JSON request bodies: the strict reader accepts a subset of what serde_json accepts (no
//! repeated keys) and reads it the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(strict) = ferry_http::strict_json::parse(data) {
        let plain: serde_json::Value = serde_json::from_slice(data).expect("serde_json reads it");
        assert_eq!(strict, plain);
    }
});
