//! The error of [`crate::open`]: says which interface and which step failed.

use std::fmt;
use std::io;

/// Opening or configuring an endpoint failed. Displays as
/// `"<kind> <name>: <step>: <os error>"`, e.g.
/// `tap egd1: TUNSETIFF: Operation not permitted (os error 1)`.
#[derive(Debug)]
pub struct IfaceError {
    what: String,
    source: Option<io::Error>,
}

impl IfaceError {
    /// A failure with no OS error behind it (bad setting, missing variable).
    pub fn msg(what: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            source: None,
        }
    }

    /// A failed system call or step.
    pub fn io(what: impl Into<String>, source: io::Error) -> Self {
        Self {
            what: what.into(),
            source: Some(source),
        }
    }

    /// The OS error kind, if an OS error caused this.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        self.source.as_ref().map(io::Error::kind)
    }

    /// Prefixes the description with more context (`"tap egd1"` + `": "` + …).
    pub(crate) fn context(mut self, outer: impl fmt::Display) -> Self {
        self.what = format!("{outer}: {}", self.what);
        self
    }
}

impl fmt::Display for IfaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(e) => write!(f, "{}: {e}", self.what),
            None => f.write_str(&self.what),
        }
    }
}

impl std::error::Error for IfaceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

/// `result.ctx("step")`: wraps an I/O error into an [`IfaceError`] naming the step.
pub(crate) trait Context<T> {
    fn ctx(self, what: impl fmt::Display) -> Result<T, IfaceError>;
}

impl<T, E: Into<io::Error>> Context<T> for Result<T, E> {
    fn ctx(self, what: impl fmt::Display) -> Result<T, IfaceError> {
        self.map_err(|e| IfaceError::io(what.to_string(), e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_step() {
        let e = IfaceError::io("TUNSETIFF", io::Error::from_raw_os_error(libc::EPERM))
            .context("tap egd1");
        assert!(
            e.to_string()
                .starts_with("tap egd1: TUNSETIFF: Operation not permitted"),
            "{e}"
        );
        assert_eq!(e.io_kind(), Some(io::ErrorKind::PermissionDenied));
        let e = IfaceError::msg("EG_FD_RX is not set").context("fd x");
        assert_eq!(e.to_string(), "fd x: EG_FD_RX is not set");
        assert_eq!(e.io_kind(), None);
    }
}
