//! SFTP request decoding as a channel does it (Ferry's READ and WRITE fast paths and
//! russh-sftp's packet types): no panic on any body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ferry_sftp::decode_request(data);
});
