//! The configuration loader on arbitrary text, read as each kind of file and
//! as detected: it returns a config or an error, never panics.
#![no_main]

use std::path::Path;

use egd::config::{FileKind, load_str};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("/fuzz/egd.yaml");
    for kind in [None, Some(FileKind::Edge), Some(FileKind::Super), Some(FileKind::Generator)] {
        if let Err(e) = load_str(path, &text, kind) {
            // Errors always render as one line.
            assert!(!e.to_string().contains('\n') || e.reason.contains('\n'));
        }
    }
});
