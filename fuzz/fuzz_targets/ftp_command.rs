//! FTP command lines and the addresses of PORT and EPRT: what is accepted is one command
//! with an upper-case verb and no control character that could smuggle a second one.
#![no_main]

use ferry_ftps::command::{parse, strip_terminator};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = parse(strip_terminator(data)) {
        assert!(!cmd.verb.is_empty() && cmd.verb.len() <= 8);
        assert!(
            cmd.verb
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert!(!cmd.arg.contains(['\r', '\n', '\0']));
        let _ = ferry_ftps::parse_port(&cmd.arg);
        let _ = ferry_ftps::parse_eprt(&cmd.arg);
    }
});
