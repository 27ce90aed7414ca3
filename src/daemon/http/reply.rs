//! The replies every route shares: a refusal before the api is called,
//! plain text, JSON and the status of an API error.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::control::api::ApiError;

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
