//! The topology page on the Manage listeners: the `ShowState` secret by
//! `?Password=` or Bearer (401 with a form otherwise, the api never asked
//! for state), at `/` and at the prefix, with a strict policy, and never on
//! the Edge API listeners.

use super::fake::{Call, secret};
use super::{Server, agent, get, reply};
use crate::control::api::ManageAction;

fn root(s: &Server, path_and_query: &str) -> String {
    format!("http://{}{path_and_query}", s.handle.manage_addrs()[0])
}

#[test]
fn the_page_needs_the_show_state_secret() {
    let s = Server::split();
    let show = secret(ManageAction::ShowState);
    let wrong = secret(ManageAction::AddPeer);
    for (url, bearer) in [
        (root(&s, "/"), None),
        (root(&s, &format!("/?Password={wrong}")), None),
        (root(&s, "/"), Some(wrong)),
        (root(&s, "/?Password="), None),
    ] {
        let r = get(&url, bearer);
        assert_eq!(r.status, 401, "{url} {bearer:?}");
        assert!(r.content_type.starts_with("text/html"), "{r:?}");
        assert!(
            r.body.contains("name=\"Password\""),
            "a password form: {r:?}"
        );
        assert!(!r.body.contains(wrong) && !r.body.contains(show));
    }
    for (url, bearer) in [
        (root(&s, &format!("/?Password={show}")), None),
        (root(&s, "/"), Some(show)),
        (root(&s, &format!("/eg_api/?Password={show}")), None),
        (root(&s, &format!("/eg_api?Password={show}")), None),
    ] {
        let r = get(&url, bearer);
        assert_eq!(r.status, 200, "{url} {bearer:?}");
        assert!(r.content_type.starts_with("text/html"), "{r:?}");
        assert!(r.body.contains("<svg id=\"topo\""));
        assert!(!r.body.contains(show), "the secret is never echoed");
    }
    // The page reads the state itself: serving it asks the api for nothing.
    assert!(!s.api.calls().contains(&Call::State));
    let r = get(&root(&s, "/"), Some(show));
    assert!(
        r.body.contains("content=\"eg_api/manage/super/state\""),
        "{}",
        r.body
    );
}

#[test]
fn the_page_has_a_strict_policy_and_only_answers_get() {
    let s = Server::split();
    let show = secret(ManageAction::ShowState);
    let r = agent()
        .get(root(&s, "/"))
        .header("Authorization", &format!("Bearer {show}"))
        .call()
        .unwrap();
    let h = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let csp = h("content-security-policy");
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"));
    assert!(
        csp.contains("script-src 'sha256-") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(h("cache-control"), "no-store");
    assert_eq!(h("referrer-policy"), "no-referrer");
    let post = reply(
        agent()
            .post(root(&s, "/"))
            .header("Authorization", &format!("Bearer {show}"))
            .send(&b""[..]),
    );
    assert_eq!(post.status, 405);
}

#[test]
fn the_edge_api_listener_serves_no_page() {
    let s = Server::split();
    let url = format!("http://{}/", s.handle.edge_addrs()[0]);
    assert_eq!(get(&url, Some(secret(ManageAction::ShowState))).status, 404);
}
