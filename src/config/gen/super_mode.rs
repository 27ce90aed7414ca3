//! Super-mode networks for `--mode gencfg` (see `mod.rs`): the
//! supernode's config `NAME_super.yaml` with a peer entry per edge, and the
//! edges, each pointed at the supernode's endpoints, public keys and Edge
//! API, with its own PSK shared with the supernode.
//!
//! The supernode listens for WireGuard and both HTTP APIs on the
//! generator's `Listen port` (as upstream); its five management passwords
//! are random. A peer entry takes `AdditionalCost` and `SkipLocalIP` from
//! the edge as generated (i.e. from the edge template).

use std::net::Ipv6Addr;

use super::config::GenSuperNode;
use super::{Entropy, Gen, GeneratedFile, GeneratedNetwork, Render, id_width};
use crate::config::emit::SuperPeerOut;
use crate::config::super_node::SuperPeer;
use crate::config::write_error::WriteError;
use crate::config::{Config, FileKind};

const SUPER_KEY: &str = "Super Node";

pub(super) fn super_network(
    g: &Gen<'_>,
    rng: &mut Entropy,
) -> Result<GeneratedNetwork, WriteError> {
    let Some(sn) = &g.config.super_node else {
        return Err(g.error(SUPER_KEY, "super mode needs the Super Node section"));
    };
    let ids = &g.config.edge_range.node_ids;
    let Some(max) = ids.iter().copied().max() else {
        return Err(g.error("Edge Node.Node IDs", "lists no node, e.g. \"[1~10,11,19]\""));
    };
    let endpoint_v4 = sn
        .endpoint_v4
        .as_ref()
        .map(|h| host_port(h, sn.listen_port));
    let endpoint_v6 = sn
        .endpoint_v6
        .as_ref()
        .map(|h| host_port(h, sn.listen_port));
    if endpoint_v4.is_none() && endpoint_v6.is_none() {
        return Err(g.error(
            SUPER_KEY,
            "needs Endpoint(IPv4)(optional) or Endpoint(IPv6)(optional): the edges must reach it",
        ));
    }
    let Some(api_url) = &sn.endpoint_edge_api else {
        return Err(g.error(
            &format!("{SUPER_KEY}.Endpoint(EdgeAPI)"),
            "the edges need the supernode's Edge API URL",
        ));
    };
    let mac = g.mac_prefix(max, rng)?;
    g.check_ranges(max)?;

    let (super_v4, super_v4_pub) = rng.key_pair();
    let (super_v6, super_v6_pub) = rng.key_pair();
    let passwords: Vec<String> = (0..5).map(|_| rng.password()).collect();

    let width = id_width(max);
    let mut files = Vec::with_capacity(ids.len() + 1);
    let mut peers = Vec::with_capacity(ids.len());
    for &id in ids {
        let (private_key, public_key) = rng.key_pair();
        let psk = rng.psk();
        let name = g.edge_file_name(id, width);
        let mut r = Render::new(&g.templates.edge);
        g.edge_identity(&mut r, id, width, mac, &private_key)?;
        let link = |key| ["DynamicRoute", "SuperNode", key];
        r.set(&link("UseSuperNode"), &true)?;
        r.set(&link("PSKey"), &psk.to_base64())?;
        r.set(
            &link("EndpointV4"),
            endpoint_v4.as_deref().unwrap_or_default(),
        )?;
        r.set(&link("PubKeyV4"), &super_v4_pub.to_base64())?;
        r.set(
            &link("EndpointV6"),
            endpoint_v6.as_deref().unwrap_or_default(),
        )?;
        r.set(&link("PubKeyV6"), &super_v6_pub.to_base64())?;
        r.set(&link("EndpointEdgeAPIUrl"), api_url)?;
        r.set(
            &["NextHopTable"],
            &std::collections::BTreeMap::<u16, u16>::new(),
        )?;
        r.set(&["Peers"], &[] as &[u16])?;
        let (text, loaded) = r.finish(&name, FileKind::Edge)?;
        let Config::Edge(edge) = loaded else {
            return Err(g.error("", "an edge template did not give an edge config"));
        };
        peers.push(SuperPeer {
            node_id: id,
            name: edge.node_name.clone(),
            public_key,
            preshared_key: Some(psk),
            additional_cost: edge.dynamic_route.additional_cost,
            skip_local_ip: edge.dynamic_route.super_node.skip_local_ip,
            endpoint: None,
            external_ip: None,
        });
        files.push(GeneratedFile { name, text });
    }
    let edge_template = files.first().map(|f| f.name.clone()).unwrap_or_default();
    let name = format!("{}_super.yaml", g.config.network_name);
    let keys = [super_v4.to_base64(), super_v6.to_base64()];
    let text = super_config(g, sn, &name, &edge_template, &passwords, &peers, &keys)?;
    files.insert(0, GeneratedFile { name, text });
    Ok(GeneratedNetwork {
        files,
        next_hop_table: None,
    })
}

/// The supernode's config `name`: the template with the network's values.
fn super_config(
    g: &Gen<'_>,
    sn: &GenSuperNode,
    name: &str,
    edge_template: &str,
    passwords: &[String],
    peers: &[SuperPeer],
    keys: &[String; 2],
) -> Result<String, WriteError> {
    let mut r = Render::new(&g.templates.super_node);
    let port = sn.listen_port.to_string();
    r.set(&["NodeName"], &format!("{}SN", g.config.network_name))?;
    r.set(&["PrivKeyV4"], &keys[0])?;
    r.set(&["PrivKeyV6"], &keys[1])?;
    r.set(&["ListenPort"], &sn.listen_port)?;
    r.set(&["ListenPort_EdgeAPI"], &port)?;
    r.set(&["ListenPort_ManageAPI"], &port)?;
    r.set(&["API_Prefix"], &sn.edge_api_prefix)?;
    let actions = [
        "ShowState",
        "AddPeer",
        "DelPeer",
        "UpdatePeer",
        "UpdateSuper",
    ];
    for (action, secret) in actions.iter().zip(passwords) {
        r.set(&["Passwords", action], secret)?;
    }
    r.set(
        &["NextHopTable"],
        &std::collections::BTreeMap::<u16, u16>::new(),
    )?;
    r.set(&["EdgeTemplate"], edge_template)?;
    let out: Vec<SuperPeerOut> = peers.iter().map(SuperPeerOut::from).collect();
    r.set(&["Peers"], &out)?;
    r.finish(name, FileKind::Super).map(|(text, _)| text)
}

/// `host:port`, with an IPv6 address in brackets.
fn host_port(host: &str, port: u16) -> String {
    if host.parse::<Ipv6Addr>().is_ok() {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
