//! Validation of every caller-supplied name and text: no panic, and what is accepted keeps
//! the promises invariant 4 rests on (no separator, control or bidirectional control, never
//! `.` or `..`, at most 255 bytes, already in NFC).
#![no_main]

use ferry_core::service::path_names;
use ferry_core::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    if let Ok((name, key)) = text::item_name("name", &value) {
        assert!(!name.is_empty() && name.len() <= 255);
        assert!(name != "." && name != "..");
        assert!(!name.contains(['/', '\\']));
        assert!(
            !name
                .chars()
                .any(|c| c.is_control() || text::is_bidi_control(c))
        );
        let (again, again_key) = text::item_name("name", &name).expect("accepted twice");
        assert_eq!((again, again_key), (name.clone(), key));
    }
    if let Ok(names) = path_names(&value) {
        // Resolved lexically: nothing can climb or hide a separator.
        for name in names {
            assert!(!name.is_empty() && name != "." && name != ".." && !name.contains('/'));
        }
    }
    let _ = text::user_name("userName", &value);
    let _ = text::email("email", &value);
    let _ = text::plain("p", &value, 255);
    let _ = text::new_password("password", &value);
    let _ = text::presented_password("password", &value);
});
