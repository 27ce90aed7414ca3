//! The Manage API routes: check the action's secret (the api is not called
//! when it is missing or wrong), then read the form and act. `peer/del`
//! without any secret deletes the edge whose `PrivKey=` is given (an edge
//! leaving by itself).

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::auth;
use super::form::{Pairs, decode, form_fields, param, query_pairs};
use super::reply::{Refusal, api_error, json, text};
use crate::NodeId;
use crate::control::api::{ApiError, DelPeer, ManageAction, SuperApi};
use crate::wg::PrivateKey;

/// A Manage API path (matched in `routes.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ManageRoute {
    State,
    AddPeer,
    DelPeer,
    UpdatePeer,
    UpdateSuper,
}

pub(super) async fn handle(api: &dyn SuperApi, route: ManageRoute, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let query = query_pairs(&parts.uri);
    let secret = auth::manage_secret(&query, &parts.headers);
    let self_delete = route == ManageRoute::DelPeer && secret.is_none();
    if !self_delete {
        let Some(secret) = secret else {
            return text(
                StatusCode::UNAUTHORIZED,
                "Parameter Password: missing (give ?Password= or Authorization: Bearer)",
            );
        };
        if !api.check_secret(action(route), secret) {
            return text(
                StatusCode::UNAUTHORIZED,
                "Parameter Password: wrong password",
            );
        }
    }
    let fields = match form_fields(&parts.headers, &query, body).await {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    match route {
        ManageRoute::State => json(Ok(api.state())),
        ManageRoute::AddPeer => match decode(&fields).map(|req| api.add_peer(req)) {
            Ok(Ok(yaml)) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/yaml; charset=utf-8")],
                yaml,
            )
                .into_response(),
            Ok(Err(e)) => api_error(e),
            Err(refused) => refused.into_response(),
        },
        ManageRoute::DelPeer => {
            let req = if self_delete {
                by_private_key(&fields)
            } else {
                by_id(&fields)
            };
            match req.map(|req| api.del_peer(req)) {
                Ok(Ok(node)) => text(StatusCode::OK, format!("NodeID: {node} deleted.")),
                Ok(Err(e)) => api_error(e),
                Err(refused) => refused.into_response(),
            }
        }
        ManageRoute::UpdatePeer => done(decode(&fields).map(|req| api.update_peer(req))),
        ManageRoute::UpdateSuper => done(decode(&fields).map(|req| api.update_super(req))),
    }
}

fn action(route: ManageRoute) -> ManageAction {
    match route {
        ManageRoute::State => ManageAction::ShowState,
        ManageRoute::AddPeer => ManageAction::AddPeer,
        ManageRoute::DelPeer => ManageAction::DelPeer,
        ManageRoute::UpdatePeer => ManageAction::UpdatePeer,
        ManageRoute::UpdateSuper => ManageAction::UpdateSuper,
    }
}

fn done(r: Result<Result<(), ApiError>, Refusal>) -> Response {
    match r {
        Ok(Ok(())) => text(StatusCode::OK, "OK"),
        Ok(Err(e)) => api_error(e),
        Err(refused) => refused.into_response(),
    }
}

pub(super) fn by_id(fields: &Pairs) -> Result<DelPeer, Refusal> {
    let Some(raw) = param(fields, "NodeID") else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "Parameter NodeID: missing",
        ));
    };
    raw.parse::<u16>()
        .ok()
        .and_then(NodeId::new)
        .map(DelPeer::ById)
        .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, "Parameter NodeID: not a node id"))
}

pub(super) fn by_private_key(fields: &Pairs) -> Result<DelPeer, Refusal> {
    let Some(raw) = param(fields, "PrivKey") else {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "Parameter Password: missing (or give PrivKey= to delete yourself)",
        ));
    };
    // An unescaped '+' in a query string decodes as a space; base64 has no
    // spaces, so put it back (upstream's docs show keys pasted unescaped).
    let raw = raw.trim_matches(['\t', '\r', '\n']).replace(' ', "+");
    // The parse error would describe the secret; say only that it is wrong.
    PrivateKey::parse(&raw)
        .map(DelPeer::ByPrivateKey)
        .map_err(|_| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "Parameter PrivKey: not a WireGuard private key",
            )
        })
}
