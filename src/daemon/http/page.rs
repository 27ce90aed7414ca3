//! The topology page (`GET /`, and `GET {prefix}/`, on the Manage API
//! listeners): one self-contained HTML document, embedded in the binary, that
//! polls `{prefix}/manage/super/state` and draws the mesh. Needs the
//! `ShowState` secret like the JSON it reads (`?Password=` on the page URL,
//! which the script passes on as `Authorization: Bearer`, or Bearer itself);
//! without it the answer is 401 with a small password form.
//!
//! The page is read-only and carries no data of its own: only the relative
//! URL of the state JSON is filled in here, never the secret. A strict
//! Content-Security-Policy allows exactly the embedded script and style (by
//! hash) and fetches from this origin only.

use std::sync::LazyLock;

use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::auth;
use super::form::query_pairs;
use crate::control::api::{ManageAction, SuperApi};

const SHELL: &str = include_str!("assets/topology.html");
const STYLE: &str = include_str!("assets/topology.css");
const SCRIPT: &str = include_str!("assets/topology.js");
const LOGIN: &str = include_str!("assets/login.html");

/// Where the state JSON lives below `API_Prefix`.
const STATE_PATH: &str = "/manage/super/state";

/// Whether `path` asks for the page: `/`, or the prefix itself (with or
/// without its trailing slash).
pub(super) fn is_page(path: &str, prefix: &str) -> bool {
    path == "/"
        || (!prefix.is_empty() && (path == prefix || path.strip_prefix(prefix) == Some("/")))
}

/// Answers a request for the page (see [`is_page`]).
pub(super) fn handle(api: &dyn SuperApi, prefix: &str, req: &Request) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
            "method not allowed (use GET)",
        )
            .into_response();
    }
    let query = query_pairs(req.uri());
    let message = match auth::manage_secret(&query, req.headers()) {
        None => "The topology page needs the ShowState password.",
        Some(s) if !api.check_secret(ManageAction::ShowState, s) => "Wrong password.",
        Some(_) => return page(&state_url(req.uri().path(), prefix)),
    };
    html(
        StatusCode::UNAUTHORIZED,
        LOGIN.replace("{{MESSAGE}}", message),
        LOGIN_POLICY,
    )
}

/// The state JSON's URL relative to the page at `page_path`, so the page
/// also works behind a reverse proxy that mounts it elsewhere.
fn state_url(page_path: &str, prefix: &str) -> String {
    let absolute = format!("{prefix}{STATE_PATH}");
    let dir = page_path.rfind('/').map_or("/", |i| &page_path[..=i]);
    match absolute.strip_prefix(dir) {
        Some(relative) => relative.to_owned(),
        None => absolute,
    }
}

/// The page with `state_url` filled in.
pub(super) fn render(state_url: &str) -> String {
    SHELL
        .replace("{{STATE_URL}}", &escape_attribute(state_url))
        .replace("{{CSS}}", STYLE)
        .replace("{{JS}}", SCRIPT)
}

fn page(state_url: &str) -> Response {
    html(StatusCode::OK, render(state_url), &PAGE_POLICY)
}

fn html(status: StatusCode, body: String, policy: &str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CONTENT_SECURITY_POLICY, policy),
        ],
        body,
    )
        .into_response()
}

/// The page may run its own script and style (by hash), fetch from this
/// origin, and nothing else.
static PAGE_POLICY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; connect-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        sha256_source(SCRIPT),
        sha256_source(STYLE)
    )
});

/// The password form runs nothing and only submits to this origin.
const LOGIN_POLICY: &str =
    "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A CSP hash source (`sha256-…`) for an inline element's exact text.
fn sha256_source(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    format!("sha256-{}", BASE64.encode(digest.as_ref()))
}

/// `text` safe inside a double-quoted HTML attribute.
fn escape_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_served_at_the_root_and_at_the_prefix() {
        for (path, prefix, want) in [
            ("/", "", true),
            ("/", "/eg_api", true),
            ("/eg_api", "/eg_api", true),
            ("/eg_api/", "/eg_api", true),
            ("/eg_api/x", "/eg_api", false),
            ("/eg_apix", "/eg_api", false),
            ("", "", false),
            ("/index.html", "", false),
        ] {
            assert_eq!(is_page(path, prefix), want, "{path:?} under {prefix:?}");
        }
    }

    #[test]
    fn the_state_url_is_relative_to_the_page() {
        for (path, prefix, want) in [
            ("/", "", "manage/super/state"),
            ("/", "/eg_net/eg_api", "eg_net/eg_api/manage/super/state"),
            ("/eg_net/eg_api/", "/eg_net/eg_api", "manage/super/state"),
            (
                "/eg_net/eg_api",
                "/eg_net/eg_api",
                "eg_api/manage/super/state",
            ),
        ] {
            assert_eq!(state_url(path, prefix), want, "{path:?} under {prefix:?}");
        }
    }

    #[test]
    fn rendering_fills_every_placeholder_and_escapes_the_url() {
        let html = render("a&b\"<x>'/manage/super/state");
        assert!(!html.contains("{{"), "a placeholder is left");
        assert!(html.contains("content=\"a&amp;b&quot;&lt;x&gt;&#39;/manage/super/state\""));
        assert!(html.contains(SCRIPT) && html.contains(STYLE));
    }

    #[test]
    fn the_policy_allows_exactly_the_embedded_script_and_style() {
        let p = &*PAGE_POLICY;
        assert!(p.contains(&format!("script-src '{}'", sha256_source(SCRIPT))));
        assert!(p.contains(&format!("style-src '{}'", sha256_source(STYLE))));
        assert!(!p.contains("unsafe"));
        // The inline elements hash exactly as the policy says: nothing
        // between the tags but the embedded text.
        let html = render("x");
        assert!(html.contains(&format!("<script>{SCRIPT}</script>")));
        assert!(html.contains(&format!("<style>{STYLE}</style>")));
    }

    #[test]
    fn assets_load_nothing_from_elsewhere() {
        for asset in [SHELL, STYLE, SCRIPT, LOGIN] {
            for banned in ["http://", "https://", "//cdn", "@import", "src=\""] {
                // The SVG namespace is an identifier, not a fetch.
                let cleaned = asset.replace("http://www.w3.org/2000/svg", "");
                assert!(!cleaned.contains(banned), "{banned:?} in an asset");
            }
        }
    }
}
