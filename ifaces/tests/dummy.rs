//! `dummy`: never readable, accepts and discards every frame.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use egd_ifaces::IfaceKind;

#[test]
fn dummy_drops_everything() {
    let mut d = egd_ifaces::open(&common::spec(IfaceKind::Dummy, "relay")).unwrap();
    assert_eq!(d.name(), "relay");
    assert_eq!(d.read_fd(), None);
    assert_eq!(d.maintain_interval(), None);
    let mut buf = [0u8; 64];
    assert_eq!(d.read_frame(&mut buf).unwrap(), None);
    d.write_frame(&common::frame(1, 60)).unwrap();
    d.write_frame(&common::frame(2, 9000)).unwrap();
    d.maintain().unwrap();
    assert_eq!(d.read_frame(&mut buf).unwrap(), None);
    let s = d.stats();
    assert_eq!((s.tx_frames, s.tx_bytes, s.rx_frames), (2, 9060, 0));
}
