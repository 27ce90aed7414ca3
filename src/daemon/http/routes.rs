//! Which path is which API call: the fixed suffixes under `API_Prefix`, the
//! methods each accepts, and the replies every route shares. Matching is a
//! plain string comparison after the prefix, so no configured prefix can be
//! mistaken for a path pattern.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{page, routes_edge, routes_manage};
use crate::control::api::{ApiError, SuperApi};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EdgeRoute {
    PeerInfo,
    NhTable,
    SuperParams,
    PostNodeInfo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ManageRoute {
    State,
    AddPeer,
    DelPeer,
    UpdatePeer,
    UpdateSuper,
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

/// Why a request was refused before (or instead of) calling the api: a
/// status and a plain-text explanation that never quotes a secret.
#[derive(Debug)]
pub(super) struct Refusal {
    status: StatusCode,
    msg: String,
}

impl Refusal {
    pub fn new(status: StatusCode, msg: impl Into<String>) -> Self {
        Self {
            status,
            msg: msg.into(),
        }
    }

    /// The status and the text the client would get.
    pub fn parts(&self) -> (u16, &str) {
        (self.status.as_u16(), &self.msg)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        text(self.status, self.msg)
    }
}

/// A plain-text reply.
pub(super) fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg.into(),
    )
        .into_response()
}

/// The status code and message of a refused API call.
pub(super) fn api_error(e: ApiError) -> Response {
    let (status, msg) = match e {
        ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
        ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m),
        ApiError::Conflict(m) => (StatusCode::CONFLICT, m),
        ApiError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, m),
    };
    text(status, msg)
}

/// 200 with the JSON of `r`, or the API error.
pub(super) fn json<T: Serialize>(r: Result<T, ApiError>) -> Response {
    match r {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => api_error(e),
    }
}
