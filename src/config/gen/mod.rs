//! `--mode gencfg`: a whole network's configs from one generator file
//! ([`GenConfig`]), like upstream's `gencfg` (docs/system.md#modes).
//!
//! Drive it with [`read_templates`] (reads the generator's
//! `ConfigTemplate for …` files, or gives the built-in ones), then
//! [`generate`] with 32 random bytes: it returns every file's name and text
//! and writes nothing, so the same seed gives the same network (tests fix
//! it; `egd` passes OS randomness). The CLI writes the files.
//!
//! Every key, PSK, password and the random MAC prefix comes from one
//! ChaCha20 stream seeded by those bytes, drawn in a fixed order (nodes by
//! NodeID, pairs by (low, high) NodeID). Each file is the template's text
//! edited in place (`edit.rs`: comments, order and unknown keys stay), then
//! loaded back as egd would load it: a network that is generated passes
//! `egd --check`.
//!
//! - `static` / `p2p` (`mesh.rs`): one edge per `Edge Nodes` entry. Two
//!   nodes are peers when the `Distance matrix for all nodes` has an edge
//!   between them in either direction (or, with no matrix, when at least one
//!   of them has an endpoint); each pair shares its own PSK. Static mode's
//!   `NextHopTable` is egd's solver on that matrix (no additional cost, as
//!   `--mode solve`), every node getting the whole table.
//! - `super` (`super_mode.rs`): the supernode `NAME_super.yaml` and one edge
//!   per NodeID of `Edge Node.Node IDs`, each with its own PSK shared with
//!   the supernode.
//!
//! Files are named like upstream's: `NAME_edgeID.yaml`, the NodeID padded
//! with zeros to the width of the largest one (`EgNet_edge001.yaml` when
//! 100 is in the network).
//!
//! Differences from upstream, on purpose:
//! - each of the five management passwords is its own 128-bit random hex
//!   string (upstream: one 8-character string plus `_showstate`, …);
//! - `NodeName` is `NAME` + NodeID whether or not `Add NodeID to the
//!   interface name` is set (upstream then gives every edge the same name,
//!   while its supernode lists `NAME` + NodeID); the flag only changes
//!   `Interface.Name`;
//! - the supernode's `EdgeTemplate` names the first generated edge file (it
//!   sits next to it), not the generator's template path, which is relative
//!   to the generator's folder and wrong from the output folder;
//! - super-mode edges get `EndpointV4`/`EndpointV6` emptied when the
//!   generator has none for that family (upstream keeps the template's),
//!   and `Peers`/`NextHopTable` emptied (upstream keeps a template's);
//! - static/P2P edges keep the template's NTP servers (upstream empties
//!   them);
//! - `Network name` must be non-empty; capacity of the IP ranges is checked
//!   against the largest NodeID in every mode (upstream's static/P2P check
//!   used the length of the network name instead), and the largest NodeID
//!   must fit after the MAC prefix;
//! - endpoints are not resolved while generating (names may only resolve
//!   where the nodes run); an IPv6 supernode address is written as `[addr]`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ipnet::{Ipv4Net, Ipv6Net};
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;
use serde::Serialize;

use super::edit::{Editor, entry};
use super::error::{ConfigError, Position};
use super::types::MacPrefix;
use super::write_error::WriteError;
use super::{Config, FileKind, StaticNextHops, load_str};
use crate::NodeId;
use crate::wg::{PresharedKey, PrivateKey, PublicKey};

pub(super) mod config;
mod defaults;
mod mesh;
mod network;
mod super_mode;
#[cfg(test)]
mod tests;

use config::GenConfig;
pub use network::{generate, read_templates};

/// What kind of network to generate (`--cfgmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenMode {
    Static,
    Super,
    P2p,
}

/// A template's text and where it came from (named in errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenTemplate {
    pub path: PathBuf,
    pub text: String,
}

/// The edge and supernode templates a generation starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenTemplates {
    pub edge: GenTemplate,
    pub super_node: GenTemplate,
}

/// One generated config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// File name inside the output folder, `EgNet_edge1.yaml`.
    pub name: String,
    pub text: String,
}

/// A generated network: its files, and in static mode the next-hop table
/// every edge carries.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedNetwork {
    pub files: Vec<GeneratedFile>,
    pub next_hop_table: Option<StaticNextHops>,
}

/// The generation in progress: its inputs, for the mode modules.
pub(super) struct Gen<'a> {
    pub file: &'a Path,
    pub config: &'a GenConfig,
    pub templates: &'a GenTemplates,
}

impl Gen<'_> {
    /// An error about the generator file's `key`.
    pub fn error(&self, key: &str, reason: impl std::fmt::Display) -> WriteError {
        WriteError::Config(ConfigError::new(
            self.file,
            Position::default(),
            key,
            reason.to_string(),
        ))
    }

    /// `NAME_edgeID.yaml`, the NodeID zero-padded to `width` digits.
    pub fn edge_file_name(&self, id: NodeId, width: usize) -> String {
        format!(
            "{}_edge{}.yaml",
            self.config.network_name,
            padded(id, width)
        )
    }

    /// The MAC prefix: the generator's, checked to leave room for `max`, or
    /// a random locally administered unicast one.
    pub fn mac_prefix(&self, max: NodeId, rng: &mut Entropy) -> Result<MacPrefix, WriteError> {
        let key = "Edge Node.MacAddress prefix";
        let prefix = match self.config.edge_range.mac_prefix {
            Some(p) => p,
            None => rng.mac_prefix().map_err(|e| self.error(key, e))?,
        };
        // A full MAC is used verbatim (docs/system.md#interfaces), so every generated edge
        // would get the same address: the generator needs a real prefix.
        if prefix.is_full_mac() {
            return Err(self.error(
                key,
                format!("{prefix} is a full MAC; every edge would get it, give 2–5 bytes"),
            ));
        }
        if prefix.mac_for(max).is_none() {
            return Err(self.error(
                key,
                format!("NodeID {max} does not fit in the bytes after {prefix}"),
            ));
        }
        Ok(prefix)
    }

    /// Checks that the host part of every address range can hold `max`
    /// (the address of node N is the range's N-th host; the last usable one
    /// is reserved for NodeID 0, as upstream's tap does).
    pub fn check_ranges(&self, max: NodeId) -> Result<(), WriteError> {
        let r = &self.config.edge_range;
        let ranges = [
            (
                "Edge Node.IPv4 range",
                r.ipv4.map(|n: Ipv4Net| n.prefix_len()),
                32,
            ),
            (
                "Edge Node.IPv6 range",
                r.ipv6.map(|n: Ipv6Net| n.prefix_len()),
                128,
            ),
            (
                "Edge Node.IPv6 LL range",
                r.ipv6_link_local.map(|n: Ipv6Net| n.prefix_len()),
                128,
            ),
        ];
        for (key, prefix_len, bits) in ranges {
            let Some(len) = prefix_len else { continue };
            let host_bits = u32::from(bits - len);
            if host_bits == 0 || host_bits >= 17 {
                continue;
            }
            let size = 1u32 << host_bits;
            let usable = if size > 2 { size - 2 } else { size };
            if u32::from(max.get()) > usable {
                return Err(self.error(
                    key,
                    format!("a /{len} holds {usable} node addresses; NodeID {max} does not fit"),
                ));
            }
        }
        Ok(())
    }

    /// The edits every edge gets, whatever the mode.
    pub fn edge_identity(
        &self,
        render: &mut Render<'_>,
        id: NodeId,
        width: usize,
        mac: MacPrefix,
        private_key: &PrivateKey,
    ) -> Result<(), WriteError> {
        let c = self.config;
        let name = format!("{}{}", c.network_name, padded(id, width));
        let if_name = if c.ifname_with_id {
            name.clone()
        } else {
            c.network_name.clone()
        };
        let text = |v: Option<String>| v.unwrap_or_default();
        let r = &c.edge_range;
        render.set(&["Interface", "Name"], &if_name)?;
        render.set(&["Interface", "MacAddrPrefix"], &mac.to_string())?;
        render.set(
            &["Interface", "IPv4CIDR"],
            &text(r.ipv4.map(|n| n.to_string())),
        )?;
        render.set(
            &["Interface", "IPv6CIDR"],
            &text(r.ipv6.map(|n| n.to_string())),
        )?;
        render.set(
            &["Interface", "IPv6LLPrefix"],
            &text(r.ipv6_link_local.map(|n| n.to_string())),
        )?;
        render.set(&["NodeID"], &id.get())?;
        render.set(&["NodeName"], &name)?;
        render.set(&["PrivKey"], &private_key.to_base64())
    }
}

/// `id` zero-padded to `width` digits.
fn padded(id: NodeId, width: usize) -> String {
    format!("{:0width$}", id.get())
}

/// Digits of the largest NodeID: the width of every file's number.
pub(super) fn id_width(max: NodeId) -> usize {
    max.get().to_string().len()
}

/// The generator's random stream.
#[derive(Debug)]
pub(super) struct Entropy(ChaCha20Rng);

impl Entropy {
    pub fn new(rng: ChaCha20Rng) -> Self {
        Self(rng)
    }

    fn bytes32(&mut self) -> [u8; 32] {
        let mut b = [0u8; 32];
        self.0.fill_bytes(&mut b);
        b
    }

    pub fn key_pair(&mut self) -> (PrivateKey, PublicKey) {
        let private = crate::wg::keys::private_key_from_random(self.bytes32());
        let public = crate::wg::keys::public_key(&private);
        (private, public)
    }

    pub fn psk(&mut self) -> PresharedKey {
        PresharedKey::from_bytes(self.bytes32())
    }

    /// 128 random bits as 32 hex digits.
    pub fn password(&mut self) -> String {
        let mut b = [0u8; 16];
        self.0.fill_bytes(&mut b);
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// Four random bytes, locally administered and unicast (upstream's
    /// choice of length: two bytes are left for the NodeID).
    fn mac_prefix(&mut self) -> Result<MacPrefix, super::types::ValueError> {
        let mut b = [0u8; 4];
        self.0.fill_bytes(&mut b);
        b[0] = (b[0] & !0b01) | 0b10;
        MacPrefix::parse(&format!(
            "{:02X}:{:02X}:{:02X}:{:02X}",
            b[0], b[1], b[2], b[3]
        ))
    }
}

/// A template's text under edit into one output file.
pub(super) struct Render<'a> {
    template: &'a Path,
    editor: Editor<'a>,
}

impl<'a> Render<'a> {
    pub fn new(template: &'a GenTemplate) -> Self {
        Self {
            template: &template.path,
            editor: Editor::new(&template.path, &template.text),
        }
    }

    /// Sets the key at `path` (created if the template lacks it).
    pub fn set<T: Serialize + ?Sized>(
        &mut self,
        path: &[&str],
        value: &T,
    ) -> Result<(), WriteError> {
        let key = path.join(".");
        let edit_err = |reason: super::edit::EditError| WriteError::Edit {
            file: self.template.to_path_buf(),
            key: key.clone(),
            reason: reason.to_string(),
        };
        let last = path.last().copied().unwrap_or_default();
        let e = entry(last, value).map_err(edit_err)?;
        self.editor.set(path, &e).map_err(edit_err)
    }

    /// The text, loaded back as a `kind` config named `name`.
    pub fn finish(self, name: &str, kind: FileKind) -> Result<(String, Config), WriteError> {
        let text = self.editor.into_text();
        let loaded =
            load_str(Path::new(name), &text, Some(kind)).map_err(|e| WriteError::Edit {
                file: self.template.to_path_buf(),
                key: e.key.clone(),
                reason: format!("the generated {name} would not load: {e}"),
            })?;
        Ok((text, loaded.config))
    }
}

/// A next-hop table in the config's shape (`NextHopTable[src][dst]`).
pub(super) fn table_for_yaml(t: &StaticNextHops) -> BTreeMap<u16, BTreeMap<u16, u16>> {
    t.iter()
        .map(|(s, row)| {
            (
                s.get(),
                row.iter().map(|(d, n)| (d.get(), n.get())).collect(),
            )
        })
        .collect()
}
