//! YAML decoding with positions: raw structs come out of `serde-saphyr`, every
//! key the structs do not know becomes a [`ConfigWarning`] with its line, and
//! every type error becomes a [`ConfigError`] naming line, column and key path.
//!
//! Drive it with [`decode`]; keep the returned [`KeyIndex`] to place errors
//! about keys that are *missing* (they have no position of their own, so they
//! point at their parent).

use std::fmt::{self, Write as _};
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::error::{ConfigError, ConfigWarning, Position};

/// Marker that `serde-saphyr` uses internally for `Spanned`; the ignored-key
/// callback reports it, but it is not a key in the user's file.
const SPANNED_MARKER: &str = "__serde_saphyr_private_spanned";

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Formats a key path the way errors print it: `Peers[2].PubKey`.
pub fn path_string(path: &[Segment]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

/// The shape of a YAML document with the position of every mapping key.
#[derive(Debug, Default)]
pub struct KeyIndex {
    root: KeyTree,
}

#[derive(Debug, Default)]
enum KeyTree {
    Map(Vec<(String, Position, KeyTree)>),
    Seq(Vec<KeyTree>),
    #[default]
    Leaf,
}

impl KeyIndex {
    /// Position of the key at `path`, or of its nearest ancestor that exists
    /// (line 1, column 1 for the document itself).
    pub fn position(&self, path: &[Segment]) -> Position {
        let mut best = Position { line: 1, column: 1 };
        let mut node = &self.root;
        for seg in path {
            match (node, seg) {
                (KeyTree::Map(entries), Segment::Key(k)) => {
                    match entries.iter().find(|(name, _, _)| name == k) {
                        Some((_, pos, child)) => {
                            best = *pos;
                            node = child;
                        }
                        None => break,
                    }
                }
                (KeyTree::Seq(items), Segment::Index(i)) => match items.get(*i) {
                    Some(child) => node = child,
                    None => break,
                },
                _ => break,
            }
        }
        best
    }

    /// Every mapping key of the document with its full path and position, in
    /// document order (a key comes before the keys inside its value).
    pub fn entries(&self) -> Vec<(Vec<Segment>, Position)> {
        fn walk(node: &KeyTree, path: &mut Vec<Segment>, out: &mut Vec<(Vec<Segment>, Position)>) {
            match node {
                KeyTree::Map(entries) => {
                    for (k, pos, child) in entries {
                        path.push(Segment::Key(k.clone()));
                        out.push((path.clone(), *pos));
                        walk(child, path, out);
                        path.pop();
                    }
                }
                KeyTree::Seq(items) => {
                    for (i, child) in items.iter().enumerate() {
                        path.push(Segment::Index(i));
                        walk(child, path, out);
                        path.pop();
                    }
                }
                KeyTree::Leaf => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut Vec::new(), &mut out);
        out
    }

    /// The keys of the mapping at `path` (empty for `{}`), or `None` when
    /// nothing is there or the value is not a mapping.
    pub fn map_keys(&self, path: &[Segment]) -> Option<Vec<(String, Position)>> {
        let mut node = &self.root;
        for seg in path {
            node = match (node, seg) {
                (KeyTree::Map(entries), Segment::Key(k)) => {
                    &entries.iter().find(|(name, _, _)| name == k)?.2
                }
                (KeyTree::Seq(items), Segment::Index(i)) => items.get(*i)?,
                _ => return None,
            };
        }
        match node {
            KeyTree::Map(entries) => {
                Some(entries.iter().map(|(k, p, _)| (k.clone(), *p)).collect())
            }
            _ => None,
        }
    }

    /// The top-level keys of the document, for telling file kinds apart.
    pub fn top_level_keys(&self) -> impl Iterator<Item = &str> {
        let entries: &[(String, Position, KeyTree)] = match &self.root {
            KeyTree::Map(entries) => entries,
            _ => &[],
        };
        entries.iter().map(|(k, _, _)| k.as_str())
    }
}

/// A mapping key as text, whatever its YAML scalar type (`1:` and `"1":` both
/// give "1", matching how the ignored-key callback names keys).
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for KeyTree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyTree;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML node")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyTree, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
                    let child = map.next_value::<KeyTree>()?;
                    entries.push((key.value.0, Position::from(key.referenced), child));
                }
                Ok(KeyTree::Map(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyTree, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<KeyTree>()? {
                    items.push(item);
                }
                Ok(KeyTree::Seq(items))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<KeyTree, E> {
                Ok(KeyTree::Leaf)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<KeyTree, E> {
                Ok(KeyTree::Leaf)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<KeyTree, E> {
                Ok(KeyTree::Leaf)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<KeyTree, E> {
                Ok(KeyTree::Leaf)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<KeyTree, E> {
                Ok(KeyTree::Leaf)
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyTree, E> {
                Ok(KeyTree::Leaf)
            }
            fn visit_none<E: de::Error>(self) -> Result<KeyTree, E> {
                Ok(KeyTree::Leaf)
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads the key index alone (no raw structs), e.g. to tell which kind of
/// file this is before choosing the struct to decode into.
pub fn index(file: &Path, text: &str) -> Result<KeyIndex, ConfigError> {
    match serde_saphyr::from_str::<Option<KeyTree>>(text) {
        Ok(root) => Ok(KeyIndex {
            root: root.unwrap_or_default(),
        }),
        Err(e) => Err(from_saphyr(file, e, String::new())),
    }
}

/// Decodes `text` into `T`, collecting unknown keys as warnings.
pub fn decode<T: DeserializeOwned>(
    file: &Path,
    text: &str,
) -> Result<(T, KeyIndex, Vec<ConfigWarning>), ConfigError> {
    let keys = index(file, text)?;
    let mut unknown: Vec<Vec<Segment>> = Vec::new();
    let mut failed_at = String::new();
    let decoded = serde_saphyr::with_deserializer_from_str(text, |de| {
        let mut track = serde_path_to_error::Track::new();
        let tracked = serde_path_to_error::Deserializer::new(de, &mut track);
        let out = serde_ignored::deserialize(tracked, |p| {
            let mut segs = Vec::new();
            if collect_segments(&p, &mut segs) {
                unknown.push(segs);
            }
        });
        if out.is_err() {
            failed_at = tracked_path(&track.path());
        }
        out
    });
    let value = decoded.map_err(|e| from_saphyr(file, e, failed_at))?;
    let warnings = unknown
        .into_iter()
        .map(|segs| ConfigWarning {
            file: file.to_path_buf(),
            position: keys.position(&segs),
            key: path_string(&segs),
            message: "unknown key, ignored".to_owned(),
        })
        .collect();
    Ok((value, keys, warnings))
}

/// Flattens an ignored-key path; false for the spanned marker, which is not
/// a key of the user's.
fn collect_segments(path: &serde_ignored::Path<'_>, out: &mut Vec<Segment>) -> bool {
    use serde_ignored::Path as P;
    match path {
        P::Root => true,
        P::Seq { parent, index } => {
            let ok = collect_segments(parent, out);
            out.push(Segment::Index(*index));
            ok
        }
        P::Map { parent, key } => {
            let ok = collect_segments(parent, out);
            out.push(Segment::Key(key.clone()));
            ok && key != SPANNED_MARKER
        }
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            collect_segments(parent, out)
        }
    }
}

/// The key path at which decoding stopped, minus the `value` step that the
/// `Spanned` wrapper adds.
fn tracked_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment as S;
    let mut segs: Vec<Segment> = path
        .iter()
        .filter_map(|s| match s {
            S::Seq { index } => Some(Segment::Index(*index)),
            S::Map { key } => Some(Segment::Key(key.clone())),
            S::Enum { variant } => Some(Segment::Key(variant.clone())),
            S::Unknown => None,
        })
        .collect();
    if segs.last() == Some(&Segment::Key("value".to_owned())) {
        segs.pop();
    }
    path_string(&segs)
}

/// Turns a parser/type error into the one-line form, keeping only its reason
/// (the library's own text repeats the position and adds a source snippet).
fn from_saphyr(file: &Path, e: serde_saphyr::Error, key: String) -> ConfigError {
    let position = e.location().map(Position::from).unwrap_or_default();
    let full = e.without_snippet().to_string();
    let mut reason = full.lines().next().unwrap_or_default().trim();
    reason = reason.strip_prefix("error:").unwrap_or(reason).trim_start();
    if let Some(rest) = reason.strip_prefix("line ")
        && let Some((_, tail)) = rest.split_once(": ")
    {
        reason = tail;
    }
    // Some messages repeat the position at the end; the prefix already has it.
    if let Some((head, _)) = reason.rsplit_once(" at line ") {
        reason = head;
    }
    ConfigError::new(file, position, key, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize)]
    #[allow(non_snake_case)]
    struct Inner {
        A: Option<Spanned<u32>>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(non_snake_case, dead_code)] // L and M exist so their keys count as known
    struct Doc {
        X: Option<Inner>,
        L: Option<Vec<Inner>>,
        M: Option<BTreeMap<u16, u16>>,
    }

    #[test]
    fn unknown_keys_are_warnings_with_lines() {
        let text = "X:\n  A: 5\n  Typo: 1\nL:\n- A: 1\n  B: 2\nM:\n  1: 2\n";
        let (doc, keys, warnings) = decode::<Doc>(Path::new("f.yaml"), text).unwrap();
        assert_eq!(doc.X.unwrap().A.unwrap().value, 5);
        let shown: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "f.yaml:3:3: X.Typo: unknown key, ignored",
                "f.yaml:6:3: L[0].B: unknown key, ignored"
            ]
        );
        let path = [Segment::Key("M".into()), Segment::Key("1".into())];
        assert_eq!(keys.position(&path), Position { line: 8, column: 3 });
    }

    #[test]
    fn type_errors_name_line_column_and_key() {
        let text = "X:\n  A: notnum\n";
        let e = decode::<Doc>(Path::new("f.yaml"), text).unwrap_err();
        assert_eq!(e.position, Position { line: 2, column: 6 });
        assert_eq!(e.key, "X.A");
        assert!(e.to_string().starts_with("f.yaml:2:6: X.A: "), "{e}");
        assert!(!e.reason.contains("line"), "position is not repeated: {e}");
    }

    #[test]
    fn broken_yaml_is_an_error_not_a_panic() {
        for text in ["X: [", "\t\u{0}", "X:\n  A: 1\n A: 2\n", ": : :"] {
            let _ = decode::<Doc>(Path::new("f.yaml"), text);
        }
    }
}
