//! The Manage API: one secret per action, by `?Password=` or Bearer; form
//! fields from the body or the query; `peer/del` by private key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::fake::{self, Call, NODE2_KEY, secret};
use super::{Reply, Server, get, post_form};
use crate::NodeId;
use crate::control::api::{AddPeer, DelPeer, ManageAction, SuperState, UpdatePeer, UpdateSuper};
use crate::wg::PrivateKey;

/// Every action once: (action, path, form, the call the fake should see).
fn actions() -> Vec<(ManageAction, &'static str, &'static str, Call)> {
    vec![
        (
            ManageAction::ShowState,
            "manage/super/state",
            "",
            Call::State,
        ),
        (
            ManageAction::AddPeer,
            "manage/peer/add",
            "NodeID=7&Name=e7&PubKey=AAAA&AdditionalCost=2.5&SkipLocalIP=true",
            Call::AddPeer(AddPeer {
                NodeID: 7,
                Name: "e7".into(),
                PubKey: "AAAA".into(),
                PSKey: None,
                AdditionalCost: Some(2.5),
                SkipLocalIP: Some(true),
            }),
        ),
        (
            ManageAction::DelPeer,
            "manage/peer/del",
            "NodeID=3",
            Call::DelPeer(DelPeer::ById(NodeId::new(3).unwrap())),
        ),
        (
            ManageAction::UpdatePeer,
            "manage/peer/update",
            "NodeID=1&AdditionalCost=10",
            Call::UpdatePeer(UpdatePeer {
                NodeID: 1,
                AdditionalCost: Some(10.0),
                SkipLocalIP: None,
            }),
        ),
        (
            ManageAction::UpdateSuper,
            "manage/super/update",
            "SendPingInterval=5&DampingFilterRadius=4",
            Call::UpdateSuper(UpdateSuper {
                SendPingInterval: Some(5.0),
                HttpPostInterval: None,
                PeerAliveTimeout: None,
                DampingFilterRadius: Some(4),
            }),
        ),
    ]
}

fn check_success(action: ManageAction, r: &Reply) {
    assert_eq!(r.status, 200, "{action:?}: {r:?}");
    match action {
        ManageAction::ShowState => {
            assert!(r.content_type.starts_with("application/json"));
            assert_eq!(
                serde_json::from_str::<SuperState>(&r.body).unwrap(),
                fake::state()
            );
        }
        ManageAction::AddPeer => {
            assert!(r.content_type.starts_with("text/yaml"), "{r:?}");
            assert_eq!(r.body, "NodeID: 7\n");
        }
        ManageAction::DelPeer => assert_eq!(r.body, "NodeID: 3 deleted."),
        _ => assert_eq!(r.body, "OK"),
    }
}

#[test]
fn every_action_with_its_password_in_the_query_succeeds() {
    let s = Server::split();
    for (action, path, form, call) in actions() {
        let url = s.manage_url(&format!("{path}?Password={}", secret(action)));
        let r = post_form(&url, None, form);
        check_success(action, &r);
        assert_eq!(s.api.calls().last(), Some(&call));
    }
    assert_eq!(s.api.calls().len(), 5);
}

#[test]
fn every_action_with_a_bearer_secret_and_query_fields_succeeds() {
    let s = Server::split();
    for (action, path, form, call) in actions() {
        // Upstream reads the fields from the query string too (GET works).
        let sep = if form.is_empty() { "" } else { "?" };
        let r = get(
            &s.manage_url(&format!("{path}{sep}{form}")),
            Some(secret(action)),
        );
        check_success(action, &r);
        assert_eq!(s.api.calls().last(), Some(&call));
    }
    assert_eq!(s.api.calls().len(), 5);
}

#[test]
fn a_missing_or_wrong_secret_is_401_and_nothing_changes() {
    let s = Server::split();
    for (action, path, form, _) in actions() {
        let wrong = if action == ManageAction::AddPeer {
            ManageAction::DelPeer
        } else {
            ManageAction::AddPeer
        };
        let attempts = [
            (format!("{path}?Password=nope"), None),
            // Another action's secret does not do.
            (format!("{path}?Password={}", secret(wrong)), None),
            (path.to_owned(), Some("nope")),
            (path.to_owned(), Some(secret(wrong))),
        ];
        for (url, bearer) in attempts {
            let r = post_form(&s.manage_url(&url), bearer, form);
            assert_eq!(r.status, 401, "{url} {bearer:?}: {r:?}");
            assert!(r.body.contains("Password"), "{r:?}");
            assert!(!r.body.contains("nope") && !r.body.contains("pw-"), "{r:?}");
        }
        // No secret at all (peer/del then wants PrivKey, also 401).
        let r = post_form(&s.manage_url(path), None, form);
        assert_eq!(r.status, 401, "{path}: {r:?}");
    }
    assert_eq!(s.api.calls(), vec![]);
}

#[test]
fn an_edge_deletes_itself_with_its_private_key() {
    let s = Server::split();
    let key = BASE64.encode(NODE2_KEY);
    assert!(key.contains('+'));
    let deleted = Call::DelPeer(DelPeer::ByPrivateKey(PrivateKey::from_bytes(NODE2_KEY)));
    // In a form body, escaped.
    let form = serde_urlencoded::to_string([("PrivKey", key.as_str())]).unwrap();
    let r = post_form(&s.manage_url("manage/peer/del"), None, &form);
    assert_eq!((r.status, r.body.as_str()), (200, "NodeID: 2 deleted."));
    // In the query, pasted unescaped as upstream's docs show it.
    let r = get(
        &s.manage_url(&format!("manage/peer/del?PrivKey={key}")),
        None,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(s.api.calls(), vec![deleted.clone(), deleted]);
    // Not a key: 400 without quoting it; an unknown key: the api's 404.
    let r = get(&s.manage_url("manage/peer/del?PrivKey=c2VjcmV0"), None);
    assert_eq!(r.status, 400, "{r:?}");
    assert!(!r.body.contains("c2VjcmV0"));
    let other = BASE64.encode([1u8; 32]);
    let form = serde_urlencoded::to_string([("PrivKey", other.as_str())]).unwrap();
    let r = post_form(&s.manage_url("manage/peer/del"), None, &form);
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(s.api.calls().len(), 3);
}

#[test]
fn api_errors_and_bad_forms_map_to_status_codes() {
    let s = Server::split();
    let add = |form: &str| {
        post_form(
            &s.manage_url(&format!(
                "manage/peer/add?Password={}",
                secret(ManageAction::AddPeer)
            )),
            None,
            form,
        )
    };
    let r = add("NodeID=1&Name=e1&PubKey=AAAA");
    assert_eq!((r.status, r.body.as_str()), (409, "NodeID 1 is taken"));
    assert!(r.content_type.starts_with("text/plain"));
    // Missing and malformed fields: 400, the api is not asked.
    assert_eq!(add("Name=e1&PubKey=AAAA").status, 400);
    assert_eq!(add("NodeID=x&Name=e1&PubKey=AAAA").status, 400);
    let del = |q: &str| {
        get(
            &s.manage_url(&format!("manage/peer/del?{q}")),
            Some(secret(ManageAction::DelPeer)),
        )
    };
    assert_eq!(del("NodeID=99").status, 404);
    assert_eq!(del("").status, 400);
    assert_eq!(del("NodeID=65533").status, 400);
    assert_eq!(s.api.calls().len(), 2);
}

#[test]
fn body_fields_win_over_query_fields() {
    let s = Server::split();
    let url = s.manage_url(&format!(
        "manage/peer/update?Password={}&NodeID=1&AdditionalCost=1",
        secret(ManageAction::UpdatePeer)
    ));
    let r = post_form(&url, None, "AdditionalCost=2");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        s.api.calls(),
        vec![Call::UpdatePeer(UpdatePeer {
            NodeID: 1,
            AdditionalCost: Some(2.0),
            SkipLocalIP: None,
        })]
    );
}
