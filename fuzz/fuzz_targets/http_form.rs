//! The HTTP APIs' request decoding (`src/daemon/http/form.rs`, through
//! `egd::daemon::http::fuzzing`) on arbitrary requests: the query string
//! of an arbitrary URI, `Content-Type` and `Authorization` values, a body,
//! merged as the Manage API handler does and decoded into every Manage form
//! (`peer/add`, `peer/update`, `super/update`, `peer/del` by NodeID and by
//! PrivKey). Nothing may panic, and:
//! - merged fields name each field once, body before query;
//! - `application/x-www-form-urlencoded` round-trips (`decode` re-encodes
//!   the fields it keeps and parses them again);
//! - a refusal never quotes a secret (`Password`, `PrivKey`) that is not
//!   also in a field the client sent in clear.
//!
//! Input: four parts split at the first three 0xff bytes: URI, content
//! type, authorization, body (a missing part is absent; an empty content
//! type means a form).
#![no_main]

use egd::daemon::http::fuzzing::{SECRET_FIELDS, manage_forms, request};
use libfuzzer_sys::fuzz_target;

const FORM: &[u8] = b"application/x-www-form-urlencoded";

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |b| *b == 0xff);
    let uri = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let content_type = parts.next().map(|c| if c.is_empty() { FORM } else { c });
    let authorization = parts.next();
    let body = parts.next().unwrap_or_default();
    let req = request(&uri, content_type, authorization, body);
    let Ok(fields) = req.fields else {
        return;
    };
    for (i, (k, _)) in fields.iter().enumerate() {
        assert!(
            fields[..i].iter().all(|(seen, _)| seen != k),
            "{k:?} twice in {fields:?}"
        );
    }
    let encoded = serde_urlencoded::to_string(&fields).expect("strings encode");
    let back: Vec<(String, String)> = serde_urlencoded::from_str(&encoded).expect("parses");
    assert_eq!(back, fields, "round trip through {encoded:?}");

    // Secrets worth looking for: with a character no fixed message has
    // (they are printable ASCII), and not also sent under a name whose
    // value may be quoted.
    let secrets: Vec<&str> = fields
        .iter()
        .filter(|(k, v)| {
            SECRET_FIELDS.contains(&k.as_str()) && v.chars().any(|c| !(' '..='~').contains(&c))
        })
        .map(|(_, v)| v.as_str())
        .filter(|s| {
            fields
                .iter()
                .filter(|(k, _)| !SECRET_FIELDS.contains(&k.as_str()))
                .all(|(k, v)| !k.contains(s) && !v.contains(s))
        })
        .collect();
    for refused in manage_forms(&fields).into_iter().filter_map(Result::err) {
        let (status, text) = refused;
        assert!((400..500).contains(&status), "status {status}: {text}");
        for s in &secrets {
            assert!(!text.contains(s), "refusal {text:?} quotes a secret");
        }
    }
});
