//! Configuration: the original EtherGuard's YAML files, read into raw structs
//! (`raw`) and turned into validated types (`EdgeConfig`, `SuperConfig`,
//! `GenConfig`).
//!
//! Drive it with [`load_file`] (or [`load_str`] for text in hand): it tells
//! which kind of file it is — or decodes it as the kind you name — and
//! returns the validated config with warnings for keys it does not know.
//! Errors print as `FILE:LINE:COL: Key.Path: reason`.
//!
//! Writing goes the other way without losing anything the file had:
//! [`save_super_peers`] / [`save_edge_peers`] replace a file's `Peers:` list
//! (`SaveNewPeers`), [`render_edge_from_template`] makes a new edge's config
//! from `EdgeTemplate` and [`new_super_peer`] checks a `manage/peer/add`
//! request. Both edit the YAML text in place and load the result again
//! before handing it out; errors are [`WriteError`]s naming the file.
//! [`generate`] makes a whole network's configs from a generator file the
//! same way (`--mode gencfg`), writing nothing itself.

mod atomic;
mod check;
mod common;
mod edge;
mod edit;
mod emit;
mod error;
pub mod example;
mod r#gen;
mod interface;
mod raw;
mod save;
mod static_table;
mod super_node;
mod template;
mod types;
mod web;
mod write_error;
mod yaml;

#[cfg(test)]
mod save_tests;
#[cfg(test)]
mod static_table_tests;

use std::path::Path;

pub use common::{
    AddressFamilies, AfPrefer, GraphSettings, LogLevel, LogSettings, ManualLatency, MetricsConfig,
    NodeSelector, StaticNextHops,
};
pub use edge::{
    DynamicRoute, EdgeConfig, EdgeMode, EdgePeer, NtpSettings, P2pSettings, SuperNodeLink,
};
pub use error::{ConfigError, ConfigWarning, Position};
pub use r#gen::config::{GenConfig, GenEdgeRange, GenSuperNode, parse_id_ranges};
pub use r#gen::{
    GenMode, GenTemplate, GenTemplates, GeneratedFile, GeneratedNetwork, generate, read_templates,
};
pub use interface::{IType, Interface, L2HeaderMode, SocketSpec, VppRole};
pub use save::{edge_peers_replaced, save_edge_peers, save_super_peers, super_peers_replaced};
pub use static_table::{Problem as StaticTableProblem, problems as static_table_problems};
pub use super_node::{ApiTls, Passwords, SuperConfig, SuperPeer};
pub use template::{
    FieldError, NewEdge, PRIVATE_KEY_PLACEHOLDER, PeerAddFields, new_super_peer,
    render_edge_from_template, render_edge_template_text,
};
pub use types::{Endpoint, MacPrefix, Mtu, Secret, ValueError};
pub use web::WebConfig;
pub use write_error::WriteError;

use check::Check;

/// Which kind of file a configuration is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Edge,
    Super,
    /// A `gencfg` generator file.
    Generator,
}

impl FileKind {
    /// Tells the kind from the file's top-level keys: a supernode file has
    /// `PrivKeyV4`/`PrivKeyV6`, a generator file `Config output dir`;
    /// anything else is an edge.
    fn detect(keys: &yaml::KeyIndex) -> Self {
        let mut kind = FileKind::Edge;
        for k in keys.top_level_keys() {
            match k {
                "PrivKeyV4" | "PrivKeyV6" | "Passwords" => kind = FileKind::Super,
                "Config output dir" | "Edge Nodes" => return FileKind::Generator,
                _ => {}
            }
        }
        kind
    }
}

/// A validated configuration of any kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Config {
    Edge(Box<EdgeConfig>),
    Super(Box<SuperConfig>),
    Generator(Box<GenConfig>),
}

impl Config {
    pub fn kind(&self) -> FileKind {
        match self {
            Config::Edge(_) => FileKind::Edge,
            Config::Super(_) => FileKind::Super,
            Config::Generator(_) => FileKind::Generator,
        }
    }

    /// The `LogLevel` block, where the kind of file has one.
    pub fn log(&self) -> Option<LogSettings> {
        match self {
            Config::Edge(e) => Some(e.log),
            Config::Super(s) => Some(s.log),
            Config::Generator(_) => None,
        }
    }
}

/// A loaded file: the validated config and what was ignored in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<ConfigWarning>,
}

/// Upper bound on a configuration file's size: far above any real network's,
/// low enough that a wrong path (a disk image, say) is refused at once.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads and validates `path`. `kind` forces how the file is read; `None`
/// tells it from the file's shape.
pub fn load_file(path: &Path, kind: Option<FileKind>) -> Result<Loaded, ConfigError> {
    let text = read_text(path)?;
    load_str(path, &text, kind)
}

/// The whole text of `path`, refusing files too big to be a config.
fn read_text(path: &Path) -> Result<String, ConfigError> {
    let whole_file = |reason: String| ConfigError::new(path, Position::default(), "", reason);
    let meta = std::fs::metadata(path).map_err(|e| whole_file(format!("cannot read: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(whole_file(format!(
            "file is {} bytes, more than the {MAX_FILE_BYTES} a config may have",
            meta.len()
        )));
    }
    std::fs::read_to_string(path).map_err(|e| whole_file(format!("cannot read: {e}")))
}

/// Validates `text` as if read from `path` (which names it in messages and
/// anchors relative template paths).
pub fn load_str(path: &Path, text: &str, kind: Option<FileKind>) -> Result<Loaded, ConfigError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let kind = match kind {
        Some(k) => k,
        None => FileKind::detect(&yaml::index(path, text)?),
    };
    let (config, warnings) = match kind {
        FileKind::Edge => {
            let (r, keys, mut w) = yaml::decode::<raw::Edge>(path, text)?;
            let c = Check {
                file: path,
                keys: &keys,
            };
            let edge = edge::edge(c, &r)?;
            w.extend(static_table::edge_warnings(c, &edge)?);
            (Config::Edge(Box::new(edge)), w)
        }
        FileKind::Super => {
            let (r, keys, mut w) = yaml::decode::<raw::Super>(path, text)?;
            let c = Check {
                file: path,
                keys: &keys,
            };
            let sup = super_node::super_node(c, &r, dir)?;
            w.extend(static_table::super_warnings(c, &sup)?);
            (Config::Super(Box::new(sup)), w)
        }
        FileKind::Generator => {
            let (r, keys, w) = yaml::decode::<raw::Gen>(path, text)?;
            let c = Check {
                file: path,
                keys: &keys,
            };
            (
                Config::Generator(Box::new(r#gen::config::gen_config(c, &r, dir)?)),
                w,
            )
        }
    };
    Ok(Loaded { config, warnings })
}
