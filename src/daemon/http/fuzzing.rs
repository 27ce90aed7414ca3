//! What the API handlers make of a request before they call the api — the
//! query string, the `Authorization` header, the form body merged with the
//! query, and the Manage API's form structs — without a server, for the
//! `http_form` fuzz target (`fuzz/`). Not an API: it may change with the
//! handlers.
//!
//! ```text
//! let req = fuzzing::request(uri, content_type, authorization, body);
//! req.fields → fuzzing::manage_forms(&fields) → one result per form
//! ```

use axum::http::{HeaderMap, HeaderValue, Uri, header};

use super::auth;
use super::form::{self, Pairs};
use super::routes_manage;
use crate::control::api::{AddPeer, UpdatePeer, UpdateSuper};

/// A request as the Manage API handler sees it.
#[derive(Debug)]
pub struct Decoded {
    /// `None`: not a URI the server would have accepted.
    pub query: Option<Pairs>,
    /// The Manage secret presented (`?Password=` or `Authorization: Bearer`).
    pub secret: Option<String>,
    /// The merged form fields, or the status and text of the refusal.
    pub fields: Result<Pairs, (u16, String)>,
}

/// Decodes a request from its parts (header values that are not valid
/// header bytes are left out, as the server never sees them).
pub fn request(
    uri: &str,
    content_type: Option<&[u8]>,
    authorization: Option<&[u8]>,
    body: &[u8],
) -> Decoded {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::AUTHORIZATION, authorization),
    ] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_bytes(v).ok()) {
            headers.insert(name, v);
        }
    }
    let query = Uri::try_from(uri).ok().map(|u| form::query_pairs(&u));
    let empty = Pairs::new();
    let q = query.as_ref().unwrap_or(&empty);
    let secret = auth::manage_secret(q, &headers).map(str::to_owned);
    let fields = form::merge_fields(form::is_form(&headers), body, q)
        .map_err(|r| (r.parts().0, r.parts().1.to_owned()));
    Decoded {
        query,
        secret,
        fields,
    }
}

/// Every Manage API form decoded from `fields`: `peer/add`, `peer/update`,
/// `super/update`, `peer/del` by NodeID and by PrivKey — the value (as
/// Debug text) or the refusal's status and text.
pub fn manage_forms(fields: &Pairs) -> [Result<String, (u16, String)>; 5] {
    fn out<T: std::fmt::Debug>(
        r: Result<T, super::reply::Refusal>,
    ) -> Result<String, (u16, String)> {
        r.map(|v| format!("{v:?}"))
            .map_err(|e| (e.parts().0, e.parts().1.to_owned()))
    }
    [
        out(form::decode::<AddPeer>(fields)),
        out(form::decode::<UpdatePeer>(fields)),
        out(form::decode::<UpdateSuper>(fields)),
        out(routes_manage::by_id(fields)),
        out(routes_manage::by_private_key(fields)),
    ]
}

/// The form fields that carry secrets (never quoted in a refusal).
pub const SECRET_FIELDS: [&str; 2] = form::SECRET_FIELDS;
