//! Who may call: the Edge API token of the node named by `?NodeID=`, and the
//! Manage API secrets (`?Password=` or `Authorization: Bearer`). Tokens and
//! secrets are compared in constant time and never appear in a reply or a
//! log line; replies only say which parameter was wrong.

use axum::http::{HeaderMap, StatusCode, header};
use subtle::ConstantTimeEq;

use super::form::{Pairs, param};
use super::reply::Refusal;
use crate::NodeId;
use crate::control::api::SuperApi;

/// Whether `a == b`, in time that depends only on the lengths.
pub(super) fn ct_eq(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The token of an `Authorization: Bearer <token>` header (scheme matched
/// without regard to case, RFC 9110 §11.1).
pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The node an Edge API request speaks for, once its token checks out.
pub(super) fn edge_node(
    api: &dyn SuperApi,
    query: &Pairs,
    headers: &HeaderMap,
) -> Result<NodeId, Refusal> {
    let Some(raw) = param(query, "NodeID") else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "Parameter NodeID: missing",
        ));
    };
    let Some(node) = raw.parse::<u16>().ok().and_then(NodeId::new) else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "Parameter NodeID: not a node id",
        ));
    };
    let Some(given) = bearer(headers) else {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "Header Authorization: missing Bearer token",
        ));
    };
    // An unknown node (no tokens) gets the same answer as a wrong token.
    // Every token is compared, so the time does not tell which one matched.
    let matched = api
        .edge_tokens(node)
        .iter()
        .fold(false, |found, expected| ct_eq(given, expected) | found);
    if matched {
        Ok(node)
    } else {
        Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "Header Authorization: wrong token for this NodeID",
        ))
    }
}

/// The Manage API secret a request presents: `?Password=` (upstream's way)
/// or else `Authorization: Bearer`.
pub(super) fn manage_secret<'a>(query: &'a Pairs, headers: &'a HeaderMap) -> Option<&'a str> {
    param(query, "Password")
        .filter(|p| !p.is_empty())
        .or_else(|| bearer(headers))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_needs_a_token() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        for (value, want) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER  abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer ", None),
            ("Bearer", None),
        ] {
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            assert_eq!(bearer(&h), want, "{value:?}");
        }
    }

    #[test]
    fn constant_time_compare_agrees_with_eq() {
        assert!(ct_eq("abc", "abc"));
        assert!(!ct_eq("abc", "abd"));
        assert!(!ct_eq("abc", "abcd"));
        assert!(!ct_eq("", "a"));
    }
}
