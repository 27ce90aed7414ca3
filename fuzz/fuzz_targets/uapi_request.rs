//! The UAPI socket's request reader (`/var/run/wireguard/NAME.sock`) on
//! arbitrary bytes, read as one connection's stream of requests: it ends
//! or answers, never panics, and never buffers past its budget.
#![no_main]

use egd::uapi::read_request;
use libfuzzer_sys::fuzz_target;

/// Small, so inputs reach the limit; the daemon's is 64 KiB.
const MAX: usize = 256;

fuzz_target!(|data: &[u8]| {
    let mut reader = data;
    for _ in 0..64 {
        let before = reader.len();
        if read_request(&mut reader, MAX).is_err() {
            break;
        }
        // A request consumed its lines and the blank one, within budget.
        let used = before - reader.len();
        assert!(used >= 2 && used <= MAX + 1, "request of {used} bytes");
    }
});
