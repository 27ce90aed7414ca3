//! The decrypted-payload parsers on arbitrary bytes: the routing header, every
//! kind of control body (pings with or without the echo, pongs and reports
//! with or without penalty and round trip), and the Ethernet view. None may
//! panic, and whatever parses must re-emit to bytes that parse to the same
//! value.
#![no_main]

use egd::wire::control::{Body, Control, report_entries};
use egd::wire::ethernet::Frame;
use egd::wire::header::{Header, Kind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, body)) = Header::parse(data) {
        let mut out = [0u8; 16];
        header.emit(&mut out).unwrap();
        assert_eq!(Header::parse(&[&out[..10], &data[10..]].concat()).map(|(h, _)| h), Ok(header));
        assert!(body.end <= data.len());
    }
    let _ = Frame::parse(data).map(|f| (f.dst(), f.src(), f.ethertype()));
    for kind in 0..=u8::MAX {
        let Some(kind) = Kind::from_u8(kind) else { continue };
        if let Ok(msg) = Control::parse(kind, data) {
            let mut out = vec![0u8; data.len() + 16];
            let n = msg.emit(&mut out).unwrap();
            assert_eq!(Control::parse(kind, &out[..n]), Ok(msg.clone()));
            // Entries and their extensions (penalty, rtt) read without
            // panicking, one per entry.
            if let Body::Reports { entries, extras, .. } = msg.body {
                assert_eq!(report_entries(entries, extras).count(), entries.len() / 14);
            }
        }
    }
});
