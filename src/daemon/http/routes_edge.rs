//! The Edge API routes: authenticate the node (`auth::edge_node`), then ask
//! the supernode. Reads answer JSON; `post/nodeinfo` takes a JSON
//! [`NodeInfo`] and answers 204.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::auth;
use super::form::{query_pairs, read_body};
use super::reply::{api_error, json, text};
use crate::control::api::{NodeInfo, SuperApi};

/// An Edge API path (matched in `routes.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EdgeRoute {
    PeerInfo,
    NhTable,
    SuperParams,
    PostNodeInfo,
}

pub(super) async fn handle(api: &dyn SuperApi, route: EdgeRoute, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let query = query_pairs(&parts.uri);
    let node = match auth::edge_node(api, &query, &parts.headers) {
        Ok(node) => node,
        Err(refused) => return refused.into_response(),
    };
    match route {
        EdgeRoute::PeerInfo => json(api.peer_info(node)),
        EdgeRoute::NhTable => json(api.nh_table(node)),
        EdgeRoute::SuperParams => json(api.super_params(node)),
        EdgeRoute::PostNodeInfo => {
            let bytes = match read_body(body).await {
                Ok(b) => b,
                Err(refused) => return refused.into_response(),
            };
            let info: NodeInfo = match serde_json::from_slice(&bytes) {
                Ok(info) => info,
                Err(e) => {
                    return text(
                        StatusCode::BAD_REQUEST,
                        format!("Body: not a NodeInfo ({e})"),
                    );
                }
            };
            match api.post_node_info(node, info) {
                Ok(()) => StatusCode::NO_CONTENT.into_response(),
                Err(e) => api_error(e),
            }
        }
    }
}
