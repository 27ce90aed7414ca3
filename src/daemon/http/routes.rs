//! Which path is which API call: the fixed suffixes under `API_Prefix`, the
//! methods each accepts, and the replies every route shares. Matching is a
//! plain string comparison after the prefix, so no configured prefix can be
//! mistaken for a path pattern.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::page;
use super::reply::text;
use super::routes_edge::{self, EdgeRoute};
use super::routes_manage::{self, ManageRoute};
use crate::control::api::SuperApi;

/// Which route sets a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Apis {
    pub edge: bool,
    pub manage: bool,
}

impl Apis {
    pub const EDGE: Self = Self {
        edge: true,
        manage: false,
    };
    pub const MANAGE: Self = Self {
        edge: false,
        manage: true,
    };
    pub const BOTH: Self = Self {
        edge: true,
        manage: true,
    };
}

#[derive(Clone)]
struct Ctx {
    api: Arc<dyn SuperApi>,
    prefix: Arc<str>,
    apis: Apis,
}

/// The service one listener runs: every request goes to [`dispatch`].
pub(super) fn router(api: Arc<dyn SuperApi>, prefix: String, apis: Apis) -> Router {
    Router::new().fallback(dispatch).with_state(Ctx {
        api,
        prefix: prefix.into(),
        apis,
    })
}

fn edge_route(rest: &str) -> Option<EdgeRoute> {
    Some(match rest {
        "/edge/peerinfo" => EdgeRoute::PeerInfo,
        "/edge/nhtable" => EdgeRoute::NhTable,
        "/edge/superparams" => EdgeRoute::SuperParams,
        "/edge/post/nodeinfo" => EdgeRoute::PostNodeInfo,
        _ => return None,
    })
}

fn manage_route(rest: &str) -> Option<ManageRoute> {
    Some(match rest {
        "/manage/super/state" => ManageRoute::State,
        "/manage/peer/add" => ManageRoute::AddPeer,
        "/manage/peer/del" => ManageRoute::DelPeer,
        "/manage/peer/update" => ManageRoute::UpdatePeer,
        "/manage/super/update" => ManageRoute::UpdateSuper,
        _ => return None,
    })
}

async fn dispatch(State(ctx): State<Ctx>, req: Request) -> Response {
    let rest = req.uri().path().strip_prefix(&*ctx.prefix).unwrap_or("");
    let api = &*ctx.api;
    if let Some(route) = edge_route(rest).filter(|_| ctx.apis.edge) {
        let (allowed, name) = match route {
            EdgeRoute::PostNodeInfo => (Method::POST, "POST"),
            _ => (Method::GET, "GET"),
        };
        if *req.method() != allowed {
            return method_not_allowed(name);
        }
        return routes_edge::handle(api, route, req).await;
    }
    if let Some(route) = manage_route(rest).filter(|_| ctx.apis.manage) {
        // Upstream registers the handlers for any method and its docs use
        // GET for state and del, POST for the rest; take both everywhere.
        if !matches!(*req.method(), Method::GET | Method::POST) {
            return method_not_allowed("GET, POST");
        }
        return routes_manage::handle(api, route, req).await;
    }
    if ctx.apis.manage && page::is_page(req.uri().path(), &ctx.prefix) {
        return page::handle(api, &ctx.prefix, &req);
    }
    text(StatusCode::NOT_FOUND, "no such API path")
}

fn method_not_allowed(allow: &'static str) -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, allow)],
        format!("method not allowed (use {allow})"),
    )
        .into_response()
}
