//! Structured edits of a YAML file's text: replace one key's entry (the key
//! and its whole value) or add it to its parent mapping, leaving every other
//! byte of the file — comments, key order, quoting, keys egd does not know —
//! as it was.
//!
//! Drive it with [`Editor::new`], then [`Editor::set`] once per key, then
//! [`Editor::into_text`]. Each `set` re-reads the key positions from the
//! current text, so edits compose. Entries come from [`entry`], which lets
//! `serde-saphyr` do the quoting. Only block-style mappings can be edited; a
//! key inside a flow mapping (`{a: 1, b: 2}`) is refused with a reason.
//! Callers check the result by loading it again (see `save.rs`).

use std::path::Path;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::error::Position;
use super::yaml::{self, Segment};

/// Why an edit could not be made; the text goes into the write error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("empty key path")]
    EmptyPath,
    /// The text does not parse (the parser's reason).
    #[error("{0}")]
    Parse(String),
    #[error("{path} shares a line with {next} (flow style cannot be edited)")]
    SharesLine { path: String, next: String },
    #[error("the document is not a block mapping")]
    NotBlockMapping,
    #[error("{0}: key position is outside the text")]
    OutsideText(String),
    #[error(
        "{path}: the key at line {line} is not at the start of its line (flow style cannot be edited)"
    )]
    NotLineStart { path: String, line: usize },
    /// The serializer's complaint about a value.
    #[error("cannot write {key}: {reason}")]
    Write { key: String, reason: String },
}

const BOM: char = '\u{feff}';

/// A YAML document's text under edit.
#[derive(Debug)]
pub struct Editor<'a> {
    file: &'a Path,
    text: String,
    bom: bool,
    eol: &'static str,
}

impl<'a> Editor<'a> {
    /// `file` only names the text in messages.
    pub fn new(file: &'a Path, text: &str) -> Self {
        let bom = text.starts_with(BOM);
        let text = text.strip_prefix(BOM).unwrap_or(text).to_owned();
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        Self {
            file,
            text,
            bom,
            eol,
        }
    }

    /// Makes `entry` (a `Key: value` block at indentation 0, as [`entry`]
    /// gives it) the entry at `path`: it replaces the existing key and value,
    /// or is added as the first key of the parent mapping (the last of the
    /// document at the top level), creating missing parents.
    pub fn set(&mut self, path: &[&str], entry: &str) -> Result<(), EditError> {
        let Some((_, parent)) = path.split_last() else {
            return Err(EditError::EmptyPath);
        };
        let segs: Vec<Segment> = path.iter().map(|k| Segment::Key((*k).to_owned())).collect();
        let index = yaml::index(self.file, &self.text).map_err(|e| EditError::Parse(e.reason))?;
        let entries = index.entries();
        if let Some(i) = entries.iter().position(|(p, _)| *p == segs) {
            let (start, indent) = self.key_line(entries[i].1, path)?;
            let end = match entries[i + 1..].iter().find(|(p, _)| !p.starts_with(&segs)) {
                Some((next, pos)) => {
                    if pos.line == entries[i].1.line {
                        return Err(EditError::SharesLine {
                            path: dotted(path),
                            next: yaml::path_string(next),
                        });
                    }
                    self.key_line(*pos, path)?.0
                }
                None => self.text.len(),
            };
            let end = self.before_trailing_comments(start, end);
            let mut new = self.indented(entry, indent);
            if end < self.text.len() && !new.ends_with('\n') {
                new.push_str(self.eol);
            }
            self.text.replace_range(start..end, &new);
            return Ok(());
        }
        let parent_segs = &segs[..parent.len()];
        match index.map_keys(parent_segs) {
            Some(keys) if !keys.is_empty() => {
                let (start, indent) = self.key_line(keys[0].1, path)?;
                if parent.is_empty() {
                    let mut new = self.text.clone();
                    if !new.is_empty() && !new.ends_with('\n') {
                        new.push_str(self.eol);
                    }
                    new.push_str(&self.indented(entry, indent));
                    self.text = new;
                } else {
                    let new = self.indented(entry, indent);
                    self.text.insert_str(start, &new);
                }
                Ok(())
            }
            _ if parent.is_empty() => {
                if self.text.trim().is_empty() || self.text.trim() == "{}" {
                    self.text = self.indented(entry, 0);
                    Ok(())
                } else {
                    Err(EditError::NotBlockMapping)
                }
            }
            _ => {
                // The parent is absent, empty (`{}`) or not a mapping: write it
                // anew with this one key inside.
                let parent_key = parent.last().copied().unwrap_or_default();
                let nested = format!("{parent_key}:\n{}", self.indented(entry, 2));
                self.set(parent, &nested)
            }
        }
    }

    /// The edited text (with the byte-order mark back if it had one).
    pub fn into_text(self) -> String {
        if self.bom {
            format!("{BOM}{}", self.text)
        } else {
            self.text
        }
    }

    /// Byte offset of the start of the line holding the key at `pos`, and the
    /// key's indentation; the key must be the first thing on its line.
    fn key_line(&self, pos: Position, path: &[&str]) -> Result<(usize, usize), EditError> {
        let line_no = usize::try_from(pos.line).unwrap_or(usize::MAX);
        let col = usize::try_from(pos.column).unwrap_or(usize::MAX);
        let Some(start) = line_start(&self.text, line_no) else {
            return Err(EditError::OutsideText(dotted(path)));
        };
        let line = &self.text[start..];
        let before: String = line.chars().take(col.saturating_sub(1)).collect();
        if before.chars().any(|c| c != ' ') {
            return Err(EditError::NotLineStart {
                path: dotted(path),
                line: line_no,
            });
        }
        Ok((start, col.saturating_sub(1)))
    }

    /// Moves `end` back over blank and comment-only lines that follow the
    /// entry starting at `start`: they belong to what comes next.
    fn before_trailing_comments(&self, start: usize, end: usize) -> usize {
        let first_line_end = self.text[start..end]
            .find('\n')
            .map_or(end, |i| start + i + 1);
        let mut end = end;
        while end > first_line_end {
            let prev_start = self.text[..end - 1].rfind('\n').map_or(0, |i| i + 1);
            if prev_start < first_line_end {
                break;
            }
            let line = self.text[prev_start..end].trim();
            if line.is_empty() || line.starts_with('#') {
                end = prev_start;
            } else {
                break;
            }
        }
        end
    }

    /// `block` with every non-empty line indented by `n` spaces and this
    /// file's line ending.
    fn indented(&self, block: &str, n: usize) -> String {
        let pad = " ".repeat(n);
        let mut out = String::with_capacity(block.len() + n * 8);
        for line in block.lines() {
            if !line.is_empty() {
                out.push_str(&pad);
            }
            out.push_str(line);
            out.push_str(self.eol);
        }
        out
    }
}

/// `Key: value` as YAML (a scalar on one line; a sequence or mapping as a
/// block below the key), quoted wherever YAML needs it.
pub fn entry<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<String, EditError> {
    struct One<'a, T: ?Sized>(&'a str, &'a T);
    impl<T: Serialize + ?Sized> Serialize for One<'_, T> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry(self.0, self.1)?;
            m.end()
        }
    }
    serde_saphyr::to_string(&One(key, value)).map_err(|e| EditError::Write {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

fn line_start(text: &str, line_no: usize) -> Option<usize> {
    if line_no == 0 {
        return None;
    }
    if line_no == 1 {
        return Some(0);
    }
    text.match_indices('\n')
        .nth(line_no - 2)
        .map(|(i, _)| i + 1)
        .filter(|i| *i <= text.len())
}

fn dotted(path: &[&str]) -> String {
    path.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, path: &[&str], e: &str) -> Result<String, EditError> {
        let mut ed = Editor::new(Path::new("t.yaml"), text);
        ed.set(path, e)?;
        Ok(ed.into_text())
    }

    #[test]
    fn replaces_a_block_value_and_keeps_the_rest() {
        let text = "# head\nA: 1\nPeers:\n- X: 1\n  Y: 2\n# about B\n\nB: {c: 1} # keep\n";
        let out = set(text, &["Peers"], "Peers: []\n").unwrap();
        assert_eq!(
            out,
            "# head\nA: 1\nPeers: []\n# about B\n\nB: {c: 1} # keep\n"
        );
    }

    #[test]
    fn replaces_the_last_key_and_appends_a_missing_one() {
        let out = set("A: 1\nPeers:\n  - X: 1", &["Peers"], "Peers: []\n").unwrap();
        assert_eq!(out, "A: 1\nPeers: []\n");
        let out = set("A: 1", &["Peers"], "Peers: []\n").unwrap();
        assert_eq!(out, "A: 1\nPeers: []\n");
    }

    #[test]
    fn nested_keys_are_replaced_inserted_or_created() {
        let text = "D:\n  S:\n    K: old\n    L: 1\n  T: 2\nE: 3\n";
        assert_eq!(
            set(text, &["D", "S", "K"], "K: new\n").unwrap(),
            "D:\n  S:\n    K: new\n    L: 1\n  T: 2\nE: 3\n"
        );
        assert_eq!(
            set(text, &["D", "S", "M"], "M: 9\n").unwrap(),
            "D:\n  S:\n    M: 9\n    K: old\n    L: 1\n  T: 2\nE: 3\n"
        );
        assert_eq!(
            set(text, &["D", "U", "V"], "V: 9\n").unwrap(),
            "D:\n  U:\n    V: 9\n  S:\n    K: old\n    L: 1\n  T: 2\nE: 3\n"
        );
        assert_eq!(
            set("D: {}\nE: 1\n", &["D", "V"], "V: 9\n").unwrap(),
            "D:\n  V: 9\nE: 1\n"
        );
    }

    #[test]
    fn keeps_crlf_and_bom() {
        let out = set(
            "\u{feff}A: 1\r\nPeers: x\r\nB: 2\r\n",
            &["Peers"],
            "Peers:\n- 1\n",
        )
        .unwrap();
        assert_eq!(out, "\u{feff}A: 1\r\nPeers:\r\n- 1\r\nB: 2\r\n");
    }

    #[test]
    fn refuses_flow_style() {
        assert!(set("{A: 1, Peers: []}", &["Peers"], "Peers: []\n").is_err());
        assert!(set("A: {B: 1, C: 2}\n", &["A", "B"], "B: 3\n").is_err());
    }

    #[test]
    fn entries_quote_what_needs_it() {
        assert_eq!(entry("K", "true").unwrap(), "K: \"true\"\n");
        assert_eq!(entry("K", "").unwrap(), "K: \"\"\n");
        assert_eq!(entry("K", &10u16).unwrap(), "K: 10\n");
    }
}
