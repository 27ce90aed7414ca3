//! Request parameters: the query string, a size- and time-limited body, and
//! upstream's form handling (fields from an `application/x-www-form-urlencoded`
//! body and from the query string, the body winning, like Go's `r.Form`).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use super::reply::Refusal;

/// Largest request body accepted (a NodeInfo of hundreds of peers is a few
/// tens of KiB).
pub(super) const BODY_LIMIT: usize = 1 << 20;
/// Time a client has to send its body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Fields that carry secrets: never passed on to a deserialiser whose error
/// message might quote them.
pub(super) const SECRET_FIELDS: [&str; 2] = ["Password", "PrivKey"];
/// The boolean form fields of `crate::control::api`.
const BOOL_FIELDS: [&str; 1] = ["SkipLocalIP"];

/// Decoded `name=value` pairs in request order.
pub(super) type Pairs = Vec<(String, String)>;

pub(super) fn query_pairs(uri: &Uri) -> Pairs {
    uri.query().map(parse_pairs).unwrap_or_default()
}

fn parse_pairs(text: &str) -> Pairs {
    serde_urlencoded::from_str(text).unwrap_or_default()
}

/// The first value of `name`.
pub(super) fn param<'a>(pairs: &'a Pairs, name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The whole body, or 413 past [`BODY_LIMIT`], 408 past [`BODY_TIMEOUT`].
pub(super) async fn read_body(body: Body) -> Result<Bytes, Refusal> {
    let collect = Limited::new(body, BODY_LIMIT).collect();
    match tokio::time::timeout(BODY_TIMEOUT, collect).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Body: larger than {BODY_LIMIT} bytes"),
        )),
        Ok(Err(_)) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "Body: could not be read",
        )),
        Err(_) => Err(Refusal::new(StatusCode::REQUEST_TIMEOUT, "Body: timed out")),
    }
}

/// Form fields from the body (when it is a form) and the query string; the
/// first occurrence of a name wins, body before query.
pub(super) async fn form_fields(
    headers: &HeaderMap,
    query: &Pairs,
    body: Body,
) -> Result<Pairs, Refusal> {
    let bytes = read_body(body).await?;
    merge_fields(is_form(headers), &bytes, query)
}

/// Whether the request says its body is `application/x-www-form-urlencoded`.
pub(super) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// [`form_fields`] once the body is read: each name once, its first
/// value, the body's before the query's.
pub(super) fn merge_fields(is_form: bool, body: &[u8], query: &Pairs) -> Result<Pairs, Refusal> {
    let mut fields = Pairs::new();
    let from_body = if is_form && !body.is_empty() {
        let Ok(body_text) = std::str::from_utf8(body) else {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "Body: form is not UTF-8",
            ));
        };
        parse_pairs(body_text)
    } else {
        Pairs::new()
    };
    for (k, v) in from_body.into_iter().chain(query.iter().cloned()) {
        if !fields.iter().any(|(seen, _)| *seen == k) {
            fields.push((k, v));
        }
    }
    Ok(fields)
}

/// `fields` as one of the API's form structs. Empty values count as absent
/// (so `AdditionalCost=` leaves the cost alone) and booleans take Go's
/// `strconv.ParseBool` spellings as upstream did.
pub(super) fn decode<T: DeserializeOwned>(fields: &Pairs) -> Result<T, Refusal> {
    let cleaned: Pairs = fields
        .iter()
        .filter(|(k, v)| !v.is_empty() && !SECRET_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| {
            let v = match BOOL_FIELDS.contains(&k.as_str()) {
                true => go_bool(v).unwrap_or(v),
                false => v,
            };
            (k.clone(), v.to_owned())
        })
        .collect();
    serde_urlencoded::to_string(&cleaned)
        .map_err(|e| e.to_string())
        .and_then(|s| serde_urlencoded::from_str(&s).map_err(|e| e.to_string()))
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, format!("Form: {e}")))
}

fn go_bool(v: &str) -> Option<&'static str> {
    match v {
        "1" | "t" | "T" | "TRUE" | "True" => Some("true"),
        "0" | "f" | "F" | "FALSE" | "False" => Some("false"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::control::api::{AddPeer, UpdatePeer};

    fn pairs(s: &str) -> Pairs {
        parse_pairs(s)
    }

    #[test]
    fn decode_reads_upstream_forms() {
        let p: AddPeer = decode(&pairs(
            "NodeID=5&Name=e5&PubKey=a%2Bb%3D&AdditionalCost=1.5&Password=x",
        ))
        .unwrap();
        assert_eq!(p.NodeID, 5);
        assert_eq!(p.PubKey, "a+b=");
        assert_eq!(p.AdditionalCost, Some(1.5));
        assert_eq!(p.SkipLocalIP, None);
    }

    #[test]
    fn empty_values_are_absent_and_go_bools_parse() {
        let u: UpdatePeer = decode(&pairs("NodeID=2&AdditionalCost=&SkipLocalIP=1")).unwrap();
        assert_eq!(u.AdditionalCost, None);
        assert_eq!(u.SkipLocalIP, Some(true));
        let u: UpdatePeer = decode(&pairs("NodeID=2&SkipLocalIP=F")).unwrap();
        assert_eq!(u.SkipLocalIP, Some(false));
    }

    #[test]
    fn bad_fields_are_400_without_secrets() {
        assert!(decode::<UpdatePeer>(&pairs("NodeID=x")).is_err());
        assert!(decode::<UpdatePeer>(&pairs("Password=NodeID")).is_err());
    }
}
