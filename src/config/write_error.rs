//! Why a configuration file could not be written or rendered. Every variant
//! names the file; in every case the file on disk is unchanged.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::error::ConfigError;

#[derive(Debug)]
pub enum WriteError {
    /// The file as it stands does not load (fix it by hand first).
    Config(ConfigError),
    /// Reading, writing or renaming failed.
    Io {
        file: PathBuf,
        /// What was being done: "replace it", "read it"…
        action: &'static str,
        source: io::Error,
    },
    /// The edit could not be made, or the edited text would not load back as
    /// the intended configuration.
    Edit {
        file: PathBuf,
        /// The key path concerned, `Peers` or `Peers[2].NodeID`.
        key: String,
        reason: String,
    },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => write!(f, "{e}"),
            Self::Io {
                file,
                action,
                source,
            } => write!(f, "{}: cannot {action}: {source}", file.display()),
            Self::Edit { file, key, reason } => {
                write!(
                    f,
                    "{}: {key}: {reason} (file left unchanged)",
                    file.display()
                )
            }
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(e) => Some(e),
            Self::Io { source, .. } => Some(source),
            Self::Edit { .. } => None,
        }
    }
}

impl From<ConfigError> for WriteError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}
