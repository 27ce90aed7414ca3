//! Every WireGuard message view on arbitrary bytes: `parse` must never panic,
//! and every accessor of a parsed view must be safe to call.
#![no_main]

use egd::wire::wg::{CookieReply, HandshakeMacs, Initiation, Response, Transport, message_type};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = message_type(data);
    if let Ok(m) = Initiation::parse(data) {
        let _ = (m.sender(), m.ephemeral(), m.noise(), m.mac1(), m.mac2());
        let _ = (m.mac1_input(), m.mac2_input());
    }
    if let Ok(m) = Response::parse(data) {
        let _ = (
            m.sender(),
            m.receiver(),
            m.ephemeral(),
            m.noise(),
            m.mac1(),
            m.mac2(),
        );
    }
    if let Ok(m) = CookieReply::parse(data) {
        let _ = (m.receiver(), m.nonce(), m.encrypted_cookie());
    }
    if let Ok(m) = Transport::parse(data) {
        let _ = (m.receiver(), m.counter(), m.sealed_range(), m.payload_len());
    }
});
