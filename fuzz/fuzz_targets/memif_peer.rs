//! A hostile VPP on the other end of a memif control socket: arbitrary
//! control records with memfds, eventfds or nothing beside them, for either
//! role, then frames through whatever rings the fuzzer's memory describes
//! (see `egd_ifaces::memif::fuzzing` for the input layout). The session must
//! end or come up and the link must fault cleanly; nothing may panic.
#![no_main]

use egd_ifaces::memif::fuzzing::peer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    peer(data);
});
