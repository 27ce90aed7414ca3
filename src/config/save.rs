//! `SaveNewPeers`: writing a node's peer list back into its own config file
//! (docs/system.md#config) — the supernode after `manage/peer/add|del|update`, an edge
//! with `DynamicRoute.SaveNewPeers: true` after learning peers.
//!
//! Only the `Peers:` entry changes. It is a structured edit of the file's
//! text (see `edit.rs`), not a re-serialisation, so comments, key order,
//! number formats and keys egd does not know (which upstream EtherGuard may)
//! all stay. The new entries have upstream's key names and shapes. Before
//! anything is written the edited text is loaded again and must give the
//! same configuration with only the peers changed and the same warnings
//! (minus those inside the old `Peers`); then it replaces the file
//! atomically (`atomic.rs`).
//!
//! Callers serialise saves of one file (two concurrent saves each leave a
//! complete file; the last rename wins).

use std::path::Path;

use super::atomic;
use super::edge::EdgePeer;
use super::edit::{Editor, entry};
use super::emit::{EdgePeerOut, SuperPeerOut};
use super::error::ConfigWarning;
use super::super_node::SuperPeer;
use super::write_error::WriteError;
use super::{Config, FileKind, Loaded, load_str, read_text};

/// Rewrites the supernode config at `path` with `Peers:` replaced by
/// `peers`, atomically.
pub fn save_super_peers(path: &Path, peers: &[SuperPeer]) -> Result<(), WriteError> {
    let text = read_text(path)?;
    let new = super_peers_replaced(path, &text, peers)?;
    atomic::replace_file(path, new.as_bytes())
}

/// Rewrites the edge config at `path` with `Peers:` replaced by `peers`,
/// atomically.
pub fn save_edge_peers(path: &Path, peers: &[EdgePeer]) -> Result<(), WriteError> {
    let text = read_text(path)?;
    let new = edge_peers_replaced(path, &text, peers)?;
    atomic::replace_file(path, new.as_bytes())
}

/// The supernode config `text` (read from `path`) with `Peers:` replaced,
/// checked as described in the module docs. Writes nothing.
pub fn super_peers_replaced(
    path: &Path,
    text: &str,
    peers: &[SuperPeer],
) -> Result<String, WriteError> {
    let out: Vec<SuperPeerOut> = peers.iter().map(SuperPeerOut::from).collect();
    replaced(path, text, FileKind::Super, &out, |c| match c {
        Config::Super(s) => {
            s.peers = peers.to_vec();
            true
        }
        _ => false,
    })
}

/// The edge config `text` (read from `path`) with `Peers:` replaced, checked
/// as described in the module docs. Writes nothing.
pub fn edge_peers_replaced(
    path: &Path,
    text: &str,
    peers: &[EdgePeer],
) -> Result<String, WriteError> {
    let out: Vec<EdgePeerOut> = peers.iter().map(EdgePeerOut::from).collect();
    replaced(path, text, FileKind::Edge, &out, |c| match c {
        Config::Edge(e) => {
            e.peers = peers.to_vec();
            true
        }
        _ => false,
    })
}

fn replaced<T: serde::Serialize>(
    path: &Path,
    text: &str,
    kind: FileKind,
    peers: &[T],
    with_new_peers: impl FnOnce(&mut Config) -> bool,
) -> Result<String, WriteError> {
    let edit_err = |key: &str, reason: String| WriteError::Edit {
        file: path.to_path_buf(),
        key: key.to_owned(),
        reason,
    };
    let Loaded {
        config: mut expected,
        warnings,
    } = load_str(path, text, Some(kind))?;
    if !with_new_peers(&mut expected) {
        return Err(edit_err("", "not the expected kind of file".to_owned()));
    }
    let block = entry("Peers", peers).map_err(|r| edit_err("Peers", r.to_string()))?;
    let mut editor = Editor::new(path, text);
    editor
        .set(&["Peers"], &block)
        .map_err(|r| edit_err("Peers", r.to_string()))?;
    let new = editor.into_text();
    let reloaded = load_str(path, &new, Some(kind)).map_err(|e| {
        edit_err(
            &e.key,
            format!("the new peer list would not load: {}", e.reason),
        )
    })?;
    if reloaded.config != expected {
        return Err(edit_err(
            "Peers",
            "the rewritten file would not load as the same config with the new peers".to_owned(),
        ));
    }
    if outside_peers(&warnings) != outside_peers(&reloaded.warnings) {
        return Err(edit_err(
            "Peers",
            "the rewritten file would change which keys are ignored".to_owned(),
        ));
    }
    Ok(new)
}

/// Warnings (key and message) about keys outside the `Peers` list.
fn outside_peers(warnings: &[ConfigWarning]) -> Vec<(&str, &str)> {
    warnings
        .iter()
        .filter(|w| w.key != "Peers" && !w.key.starts_with("Peers["))
        .map(|w| (w.key.as_str(), w.message.as_str()))
        .collect()
}
