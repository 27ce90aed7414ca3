//! egd's `Web` key on edges: where to serve the read-only topology page of
//! the edge's own graph, and the secret that guards it (the counterpart of a
//! supernode's `Passwords.ShowState`). Absent means no web server.
//!
//! ```yaml
//! Web:
//!   Listen: 127.0.0.1:3001
//!   Password: a-long-secret
//! ```

use std::net::SocketAddr;

use super::check::{Check, KeyPath};
use super::error::ConfigError;
use super::raw;
use super::types::Secret;

/// The validated `Web` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfig {
    pub listen: SocketAddr,
    /// Needed for the page and its JSON (`?Password=` or `Authorization: Bearer`).
    pub password: Secret,
}

pub fn web(
    c: Check<'_>,
    raw: Option<&raw::Web>,
    at: &KeyPath,
) -> Result<Option<WebConfig>, ConfigError> {
    let Some(r) = raw else { return Ok(None) };
    let listen = c.parse_req(
        &r.Listen,
        &at.key("Listen"),
        "the page needs an ip:port to listen on",
        |s| {
            s.parse()
                .map_err(|_| format!("{s:?} is not an ip:port listen address"))
        },
    )?;
    let password_at = at.key("Password");
    let password = Check::text(&r.Password);
    if password.is_empty() {
        return Err(c.missing(&password_at, "the page is never served without a secret"));
    }
    Ok(Some(WebConfig {
        listen,
        password: Secret::new(password),
    }))
}
