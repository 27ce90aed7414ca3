//! Validation helpers: turn raw `Spanned` fields into validated values, or
//! into a [`ConfigError`] that names the key path and position.
//!
//! A [`Check`] knows the file and its key index; a [`KeyPath`] names where in
//! the file a value lives. Missing keys have no position of their own, so they
//! are placed at their nearest existing ancestor.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde_saphyr::Spanned;

use super::error::{ConfigError, Position};
use super::types::ValueError;
use super::yaml::{KeyIndex, Segment, path_string};

/// Where a value lives in a configuration file: `Peers[1].PubKey`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<Segment>);

impl KeyPath {
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by a mapping key.
    pub fn key(&self, name: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Segment::Key(name.to_owned()));
        Self(segs)
    }

    /// This path extended by a sequence index.
    pub fn index(&self, i: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Segment::Index(i));
        Self(segs)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&path_string(&self.0))
    }
}

/// A raw scalar field: absent, or present with its position.
pub type Field<T> = Option<Spanned<T>>;

/// Validation context for one file.
#[derive(Debug, Clone, Copy)]
pub struct Check<'a> {
    pub file: &'a Path,
    pub keys: &'a KeyIndex,
}

impl Check<'_> {
    /// An error about the value at `at`.
    pub fn error(&self, at: Position, path: &KeyPath, reason: impl fmt::Display) -> ConfigError {
        ConfigError::new(self.file, at, path.to_string(), reason.to_string())
    }

    /// An error about `path` as a whole (placed at its key, or the nearest
    /// ancestor that exists).
    pub fn error_at_key(&self, path: &KeyPath, reason: impl fmt::Display) -> ConfigError {
        self.error(self.keys.position(path.segments()), path, reason)
    }

    /// The error for a required key that is absent or empty.
    pub fn missing(&self, path: &KeyPath, why: &str) -> ConfigError {
        self.error_at_key(path, format!("missing required key ({why})"))
    }

    /// A required field's value and position.
    pub fn required<'f, T>(
        &self,
        field: &'f Field<T>,
        path: &KeyPath,
        why: &str,
    ) -> Result<(&'f T, Position), ConfigError> {
        match field {
            Some(s) => Ok((&s.value, s.referenced.into())),
            None => Err(self.missing(path, why)),
        }
    }

    /// A string field parsed with `parse`; absent or empty gives `None`.
    pub fn parse_opt<T, E: fmt::Display>(
        &self,
        field: &Field<String>,
        path: &KeyPath,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, ConfigError> {
        match field {
            Some(s) if !s.value.trim().is_empty() => parse(s.value.trim())
                .map(Some)
                .map_err(|reason| self.error(s.referenced.into(), path, reason)),
            _ => Ok(None),
        }
    }

    /// A string field that must be present and non-empty, parsed with `parse`.
    pub fn parse_req<T, E: fmt::Display>(
        &self,
        field: &Field<String>,
        path: &KeyPath,
        why: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, ConfigError> {
        self.parse_opt(field, path, parse)?
            .ok_or_else(|| self.missing(path, why))
    }

    /// A number-or-string field, checked by `check`; absent gives `default`.
    pub fn value_or<T: Copy, U, E: fmt::Display>(
        &self,
        field: &Field<T>,
        path: &KeyPath,
        default: U,
        check: impl FnOnce(T) -> Result<U, E>,
    ) -> Result<U, ConfigError> {
        match field {
            Some(s) => check(s.value).map_err(|r| self.error(s.referenced.into(), path, r)),
            None => Ok(default),
        }
    }

    /// A count or identifier that must fit in 32 bits; absent is `default`.
    pub fn u32_or(
        &self,
        field: &Field<u64>,
        path: &KeyPath,
        default: u32,
    ) -> Result<u32, ConfigError> {
        self.value_or(field, path, default, |v| {
            u32::try_from(v).map_err(|_| format!("{v} does not fit in 32 bits"))
        })
    }

    /// An interval in seconds (the original's float seconds); must be finite
    /// and not negative.
    pub fn seconds(
        &self,
        field: &Field<f64>,
        path: &KeyPath,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        self.value_or(field, path, default, duration_from_secs)
    }

    /// A duration given in milliseconds; must be finite and not negative.
    pub fn millis(
        &self,
        field: &Field<f64>,
        path: &KeyPath,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        self.value_or(field, path, default, |ms| duration_from_secs(ms / 1000.0))
    }

    /// A boolean flag; absent is `default`.
    pub fn flag(field: &Field<bool>, default: bool) -> bool {
        field.as_ref().map_or(default, |s| s.value)
    }

    /// A plain string; absent is empty.
    pub fn text(field: &Field<String>) -> String {
        field.as_ref().map(|s| s.value.clone()).unwrap_or_default()
    }
}

/// Seconds as a `Duration`, refusing what `Duration` cannot hold.
pub fn duration_from_secs(secs: f64) -> Result<Duration, ValueError> {
    if !secs.is_finite() {
        return Err(ValueError::NotFinite(secs));
    }
    if secs < 0.0 {
        return Err(ValueError::Negative(secs));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| ValueError::TooLong(secs))
}

/// A UDP port number (0 = any).
pub fn port(v: i64) -> Result<u16, ValueError> {
    u16::try_from(v).map_err(|_| ValueError::Port(v))
}

/// `DampingFilterRadius`: 0 or more, 4 when absent.
pub fn damping_radius(c: Check<'_>, f: &Field<i64>, at: &KeyPath) -> Result<u32, ConfigError> {
    c.value_or(f, at, 4, |v| {
        u32::try_from(v).map_err(|_| format!("radius must be 0 or more, got {v}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_print_like_errors_show_them() {
        let p = KeyPath::root().key("Peers").index(2).key("PubKey");
        assert_eq!(p.to_string(), "Peers[2].PubKey");
    }

    #[test]
    fn seconds_refuse_negative_and_non_finite() {
        assert_eq!(duration_from_secs(1.5), Ok(Duration::from_millis(1500)));
        assert!(duration_from_secs(-1.0).is_err());
        assert!(duration_from_secs(f64::NAN).is_err());
        assert!(duration_from_secs(f64::INFINITY).is_err());
        assert!(duration_from_secs(1e300).is_err());
    }
}
