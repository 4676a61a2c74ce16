//! PROXY protocol headers (v1 and v2) at the start of a connection from a trusted balancer:
//! never a panic, and a header found is no longer than the bytes and within the protocol's
//! bounds (a v1 line of at most 107 bytes, a v2 block of 16 bytes and at most 65,535 more).
#![no_main]

use ferry_core::proxy_protocol::header_in;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((len, _client))) = header_in(data) {
        assert!(len <= data.len());
        if data.starts_with(b"PROXY ") {
            assert!(len <= 107);
        } else {
            assert!((16..=16 + 65_535).contains(&len));
        }
    }
});
