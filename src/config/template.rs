//! `manage/peer/add` (docs/system.md#http-apis): checking the request into a new
//! [`SuperPeer`] ([`new_super_peer`]) and making the new edge's config from
//! the supernode's `EdgeTemplate` ([`render_edge_from_template`]).
//!
//! Like upstream's handler, the rendered config is the template with
//! `NodeID`, `NodeName`, `PrivKey`, `DynamicRoute.AdditionalCost`,
//! `DynamicRoute.SuperNode.PSKey` and `DynamicRoute.SuperNode.SkipLocalIP`
//! set from the request, and `NextHopTable` and `Peers` emptied; egd can
//! also set `Interface.Name`. The supernode never sees the edge's private
//! key (the request carries the public key), so unless the caller has it the
//! file says [`PRIVATE_KEY_PLACEHOLDER`] there, as upstream's does. Unlike
//! upstream, which re-marshals the template, the template's text is edited in
//! place (comments and unknown keys stay), and the result is loaded back —
//! with a stand-in key when there is no real one — so what is returned
//! passes `egd --check` once a real key is filled in.

use std::path::Path;
use std::time::Duration;

use super::check::duration_from_secs;
use super::edge::EdgeMode;
use super::edit::{EditError, Editor, entry};
use super::emit::Number;
use super::super_node::SuperPeer;
use super::types::parse_node_id;
use super::write_error::WriteError;
use super::{Config, FileKind, load_str, read_text};
use crate::NodeId;
use crate::wg::{PresharedKey, PrivateKey, PublicKey};

/// What `PrivKey` says when the supernode does not know the key (upstream's
/// text; it does not load until replaced).
pub const PRIVATE_KEY_PLACEHOLDER: &str = "Your_Private_Key";

/// Stand-in private key used only to check a rendering without a real one.
const CHECK_KEY: [u8; 32] = [0x48; 32];

/// `AdditionalCost` when a request gives none (the original's default).
const DEFAULT_ADDITIONAL_COST: Duration = Duration::from_millis(10);

/// The new edge's own values, put into the template.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEdge {
    pub node_id: NodeId,
    /// `NodeName` (the supernode's `Peers[].Name`).
    pub name: String,
    /// `PrivKey`; `None` writes [`PRIVATE_KEY_PLACEHOLDER`].
    pub private_key: Option<PrivateKey>,
    /// `DynamicRoute.SuperNode.PSKey`: the key this edge shares with the
    /// supernode (the supernode's `Peers[].PSKey`).
    pub supernode_psk: Option<PresharedKey>,
    /// `DynamicRoute.AdditionalCost`.
    pub additional_cost: Duration,
    /// `DynamicRoute.SuperNode.SkipLocalIP`.
    pub skip_local_ip: bool,
    /// `Interface.Name`; `None` keeps the template's.
    pub interface_name: Option<String>,
}

impl NewEdge {
    /// The edge a supernode peer entry describes (private key unknown).
    pub fn for_peer(peer: &SuperPeer) -> Self {
        Self {
            node_id: peer.node_id,
            name: peer.name.clone(),
            private_key: None,
            supernode_psk: peer.preshared_key.clone(),
            additional_cost: peer.additional_cost,
            skip_local_ip: peer.skip_local_ip,
            interface_name: None,
        }
    }
}

/// Reads the template at `template` and renders it for `new`.
pub fn render_edge_from_template(template: &Path, new: &NewEdge) -> Result<String, WriteError> {
    let text = read_text(template)?;
    render_edge_template_text(template, &text, new)
}

/// Renders the template `text` (read from `template`, which names it in
/// errors) for `new`. Reads no file.
pub fn render_edge_template_text(
    template: &Path,
    text: &str,
    new: &NewEdge,
) -> Result<String, WriteError> {
    let edit_err = |key: &str, reason: &dyn std::fmt::Display| WriteError::Edit {
        file: template.to_path_buf(),
        key: key.to_owned(),
        reason: reason.to_string(),
    };
    let check_key = new
        .private_key
        .clone()
        .unwrap_or_else(|| PrivateKey::from_bytes(CHECK_KEY));
    let psk = new
        .supernode_psk
        .as_ref()
        .map(PresharedKey::to_base64)
        .unwrap_or_default();
    let mut edits: Vec<(&[&str], Result<String, EditError>)> = vec![
        (&["NodeID"], entry("NodeID", &new.node_id.get())),
        (&["NodeName"], entry("NodeName", &new.name)),
        (&["PrivKey"], entry("PrivKey", &check_key.to_base64())),
        (
            &["DynamicRoute", "AdditionalCost"],
            entry("AdditionalCost", &Number::millis(new.additional_cost)),
        ),
        (
            &["DynamicRoute", "SuperNode", "PSKey"],
            entry("PSKey", &psk),
        ),
        (
            &["DynamicRoute", "SuperNode", "SkipLocalIP"],
            entry("SkipLocalIP", &new.skip_local_ip),
        ),
        (
            &["NextHopTable"],
            entry(
                "NextHopTable",
                &std::collections::BTreeMap::<u16, u16>::new(),
            ),
        ),
        (&["Peers"], entry("Peers", &[] as &[u16])),
    ];
    if let Some(name) = &new.interface_name {
        edits.push((&["Interface", "Name"], entry("Name", name)));
    }
    let mut editor = Editor::new(template, text);
    for (path, e) in edits {
        let key = path.join(".");
        editor
            .set(path, &e.map_err(|r| edit_err(&key, &r))?)
            .map_err(|r| edit_err(&key, &r))?;
    }
    let rendered = editor.into_text();
    check(template, &rendered, new, &check_key).map_err(|(key, reason)| edit_err(&key, &reason))?;
    if new.private_key.is_some() {
        return Ok(rendered);
    }
    let placeholder =
        entry("PrivKey", PRIVATE_KEY_PLACEHOLDER).map_err(|r| edit_err("PrivKey", &r))?;
    let mut editor = Editor::new(template, &rendered);
    editor
        .set(&["PrivKey"], &placeholder)
        .map_err(|r| edit_err("PrivKey", &r))?;
    Ok(editor.into_text())
}

/// Loads the rendering and checks it says what was asked.
fn check(
    template: &Path,
    rendered: &str,
    new: &NewEdge,
    key: &PrivateKey,
) -> Result<(), (String, String)> {
    let loaded = load_str(template, rendered, Some(FileKind::Edge)).map_err(|e| {
        (
            e.key.clone(),
            format!("the rendered edge config would not load: {}", e.reason),
        )
    })?;
    let Config::Edge(e) = loaded.config else {
        return Err((String::new(), "not an edge config".to_owned()));
    };
    if e.mode() != EdgeMode::Super {
        return Err((
            "DynamicRoute.SuperNode.UseSuperNode".to_owned(),
            "the template is not a super-mode edge config (UseSuperNode is not true)".to_owned(),
        ));
    }
    let link = &e.dynamic_route.super_node;
    let same = e.node_id == new.node_id
        && e.node_name == new.name
        && e.private_key == *key
        && e.dynamic_route.additional_cost == new.additional_cost
        && link.preshared_key == new.supernode_psk
        && link.skip_local_ip == new.skip_local_ip
        && e.peers.is_empty()
        && e.next_hop_table.is_empty()
        && new
            .interface_name
            .as_ref()
            .is_none_or(|n| *n == e.interface.name);
    if same {
        Ok(())
    } else {
        Err((
            String::new(),
            "the rendered config does not load with the requested values".to_owned(),
        ))
    }
}

/// A `manage/peer/add` request's fields as sent (the original's names in
/// the docs), before checking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeerAddFields<'a> {
    /// `NodeID`.
    pub node_id: u64,
    /// `Name`.
    pub name: &'a str,
    /// `PubKey`, base64.
    pub public_key: &'a str,
    /// `PSKey`, base64; absent or empty for none.
    pub preshared_key: Option<&'a str>,
    /// `AdditionalCost` in ms; absent is 10.
    pub additional_cost_ms: Option<f64>,
    /// `SkipLocalIP`; absent is false.
    pub skip_local_ip: Option<bool>,
}

/// A request field that is wrong: `NodeID: 3 exists (Name edge3)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The request field, by the original's name.
    pub field: &'static str,
    /// True when the value is fine but taken by an existing peer (HTTP 409);
    /// false when it is invalid (HTTP 400).
    pub conflict: bool,
    pub reason: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for FieldError {}

/// Checks an add request against the supernode's `existing` peers and
/// returns the new peer (no endpoint or external IP yet).
pub fn new_super_peer(
    existing: &[SuperPeer],
    f: &PeerAddFields<'_>,
) -> Result<SuperPeer, FieldError> {
    let invalid = |field, reason: String| FieldError {
        field,
        conflict: false,
        reason,
    };
    let taken = |field, reason: String| FieldError {
        field,
        conflict: true,
        reason,
    };
    let node_id = parse_node_id(f.node_id).map_err(|r| invalid("NodeID", r.to_string()))?;
    let name = f.name.trim();
    if name.is_empty() {
        return Err(invalid("Name", "must not be empty".to_owned()));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(
            "Name",
            "must not contain control characters".to_owned(),
        ));
    }
    let public_key =
        PublicKey::parse(f.public_key).map_err(|r| invalid("PubKey", r.to_string()))?;
    if public_key.as_bytes() == &[0; 32] {
        return Err(invalid(
            "PubKey",
            "the all-zero key is not a public key".to_owned(),
        ));
    }
    let preshared_key = match f.preshared_key.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(PresharedKey::parse(s).map_err(|r| invalid("PSKey", r.to_string()))?),
    };
    let additional_cost = match f.additional_cost_ms {
        None => DEFAULT_ADDITIONAL_COST,
        Some(ms) if !ms.is_finite() || ms < 0.0 => {
            return Err(invalid(
                "AdditionalCost",
                format!("must be a number of milliseconds, 0 or more; got {ms}"),
            ));
        }
        Some(ms) => duration_from_secs(ms / 1000.0)
            .map_err(|_| invalid("AdditionalCost", format!("{ms} ms is too long")))?,
    };
    for p in existing {
        if p.node_id == node_id {
            return Err(taken(
                "NodeID",
                format!("{node_id} exists (Name {:?})", p.name),
            ));
        }
        if p.name == name {
            return Err(taken(
                "Name",
                format!("{name:?} exists (NodeID {})", p.node_id),
            ));
        }
        if p.public_key == public_key {
            return Err(taken("PubKey", format!("exists (NodeID {})", p.node_id)));
        }
    }
    Ok(SuperPeer {
        node_id,
        name: name.to_owned(),
        public_key,
        preshared_key,
        additional_cost,
        skip_local_ip: f.skip_local_ip.unwrap_or(false),
        endpoint: None,
        external_ip: None,
    })
}
