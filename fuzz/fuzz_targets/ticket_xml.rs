//! The ticket's XML parser (quick-xml driven by hand, no DTD): anything it accepts renders
//! back to XML it reads the same.
#![no_main]

use ferry_core::ticket::TicketClaims;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(claims) = TicketClaims::parse(data) {
        let again = TicketClaims::parse(claims.to_xml().as_bytes()).expect("re-reads");
        assert_eq!(again, claims);
    }
});
