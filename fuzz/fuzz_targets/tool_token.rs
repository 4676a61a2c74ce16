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
        1 => {
            let token = keys().seal_v1(rest).expect("version 1 is on");
            let (version, plain) = keys().open(&token).expect("a sealed token opens");
            assert_eq!((version, plain.as_slice()), (1, rest));
            Some((version, plain))
        }
        _ => {
            let token = keys().seal_v2(rest);
            let (version, plain) = keys().open(&token).expect("a sealed token opens");
            assert_eq!((version, plain.as_slice()), (2, rest));
            Some((version, plain))
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
