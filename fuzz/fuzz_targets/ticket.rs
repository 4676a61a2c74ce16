//! The SSO ticket's seal: arbitrary text opened as a ticket (first byte even), or arbitrary
//! plaintext sealed and opened again (odd), which must give it back; whatever opens is read
//! as the ticket's XML.
#![no_main]

use std::sync::OnceLock;

use ferry_core::ticket::TicketClaims;
use ferry_crypto::TicketKey;
use libfuzzer_sys::fuzz_target;

fn key() -> &'static TicketKey {
    static KEY: OnceLock<TicketKey> = OnceLock::new();
    KEY.get_or_init(|| TicketKey::derive("fuzzing-shared-password-0123456789"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let plain = if mode % 2 == 0 {
        key().open(&String::from_utf8_lossy(rest)).ok()
    } else {
        // What is sealed opens (what would not open is not sealed).
        match key().seal(rest) {
            Ok(sealed) => {
                let opened = key().open(&sealed).expect("a sealed ticket opens");
                assert_eq!(opened, rest);
                Some(opened)
            }
            Err(e) => {
                assert_eq!(e, ferry_crypto::TicketSealError::TooLong);
                None
            }
        }
    };
    if let Some(plain) = plain {
        let _ = TicketClaims::parse(&plain);
    }
});
