//! The browser-tool token, both versions: arbitrary text opened as a token (the first byte 0),
//! or arbitrary plaintext sealed as version 1 (1) or 2 (2) and opened again, which must give
//! it back; whatever opens is read as the token's JSON.
#![no_main]

use std::sync::OnceLock;

use ferry_core::tool_token::ToolClaims;
use ferry_crypto::ToolTokenKeys;
use libfuzzer_sys::fuzz_target;

fn keys() -> &'static ToolTokenKeys {
    static KEYS: OnceLock<ToolTokenKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        ToolTokenKeys::from_base64(
            "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=",
            Some("ABEiM0RVZneImaq7zN3u/w=="),
            true,
        )
        .expect("fixed test keys")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let opened = match mode % 3 {
        0 => keys().open(&String::from_utf8_lossy(rest)).ok(),
        version => {
            // What is sealed opens (what would not open is not sealed).
            let (version, sealed) = if version == 1 {
                (1, keys().seal_v1(rest))
            } else {
                (2, keys().seal_v2(rest))
            };
            match sealed {
                Ok(token) => {
                    let (opened_as, plain) = keys().open(&token).expect("a sealed token opens");
                    assert_eq!((opened_as, plain.as_slice()), (version, rest));
                    Some((opened_as, plain))
                }
                Err(e) => {
                    assert_eq!(e, ferry_crypto::ToolTokenError::TooLong);
                    None
                }
            }
        }
    };
    if let Some((_, plain)) = opened
        && let Ok(claims) = ToolClaims::parse(&plain)
    {
        // What the server reads, it writes back readably.
        let again = ToolClaims::parse(claims.to_json().as_bytes()).expect("re-reads");
        assert_eq!(again, claims);
    }
});
