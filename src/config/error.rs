//! Errors and warnings from loading a configuration file.
//!
//! Every problem names the file, the line and column, and the key path, so an
//! operator can jump to it: `FILE:LINE:COL: Key.Path: reason`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_saphyr::Location;

/// Where a key or value stands in a file (1-based line and column; 0 when the
/// YAML parser could not tell, e.g. a key that is missing altogether).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

impl From<Location> for Position {
    fn from(loc: Location) -> Self {
        Self {
            line: loc.line(),
            column: loc.column(),
        }
    }
}

/// A configuration file that cannot be used. `Display` is the one-line form
/// `FILE:LINE:COL: Key.Path: reason` that `egd --check` prints before exiting 2.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub position: Position,
    /// The key path, `Interface.MTU` or `Peers[2].PubKey`; empty when the
    /// problem concerns the whole file (unreadable, not YAML).
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(
        file: &Path,
        position: Position,
        key: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            file: file.to_path_buf(),
            position,
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: ",
            self.file.display(),
            self.position.line,
            self.position.column
        )?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// Something in a file that egd ignores but an operator should know about,
/// such as a misspelt key. Never fatal.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigWarning {
    pub file: PathBuf,
    pub position: Position,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file.display(),
            self.position.line,
            self.position.column,
            self.key,
            self.message
        )
    }
}
