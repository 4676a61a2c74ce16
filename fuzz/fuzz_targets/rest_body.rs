//! REST request bodies (issue 19): a form, JSON or XML body, chosen by the first byte, is read
//! into fields or refused, never a panic; accepted fields never name the same field twice
//! (compared case-insensitively), and the names of an accepted form decode to UTF-8.
#![no_main]

use ferry_http::rest::body::Fields;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    let content_type = match kind % 4 {
        0 => "application/x-www-form-urlencoded",
        1 => "application/json",
        2 => "application/xml",
        _ => "text/plain",
    };
    if let Ok(fields) = Fields::read(Some(content_type), body) {
        let names: Vec<String> = fields.names().map(str::to_ascii_lowercase).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "a field twice: {names:?}");
        for name in &names {
            let _ = fields.one(name);
            let _ = fields.many(name);
        }
    }
});
