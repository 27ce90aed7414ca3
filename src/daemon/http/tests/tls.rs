//! Native TLS: a self-signed certificate made here, a client trusting only
//! it.

use std::sync::Arc;

use super::fake::{self, Call, FakeApi, secret, token};
use super::{Server, split_config};
use crate::NodeId;
use crate::control::api::ManageAction;
use crate::daemon::http::{CallError, EdgeApiClient, HttpConfig, TlsFiles, TlsRoots, spawn};

struct Cert {
    _dir: tempfile::TempDir,
    files: TlsFiles,
    pem: Vec<u8>,
}

fn self_signed() -> Cert {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = TlsFiles {
        cert_chain_pem: dir.path().join("cert.pem"),
        private_key_pem: dir.path().join("key.pem"),
    };
    std::fs::write(&files.cert_chain_pem, ck.cert.pem()).unwrap();
    std::fs::write(&files.private_key_pem, ck.signing_key.serialize_pem()).unwrap();
    Cert {
        _dir: dir,
        files,
        pem: ck.cert.pem().into_bytes(),
    }
}

fn tls_server(cert: &Cert) -> Server {
    Server::start(HttpConfig {
        tls: Some(cert.files.clone()),
        ..split_config()
    })
}

#[test]
fn the_client_round_trips_over_https() {
    let cert = self_signed();
    let s = tls_server(&cert);
    let base = format!("https://{}/eg_api", s.handle.edge_addrs()[0]);
    let node = NodeId::new(3).unwrap();
    let c = EdgeApiClient::new(&base, node, token(3), TlsRoots::Only(cert.pem.clone())).unwrap();
    assert_eq!(c.peer_info().unwrap(), fake::peer_info(3));
    assert_eq!(c.nh_table().unwrap(), fake::nh_table());
    assert_eq!(c.super_params().unwrap(), fake::super_params(3));
    c.post_node_info(&fake::node_info()).unwrap();
    assert_eq!(s.api.calls().len(), 4);

    // Mozilla's roots do not vouch for a self-signed certificate.
    let untrusting = EdgeApiClient::new(&base, node, token(3), TlsRoots::WebPki).unwrap();
    let err = untrusting.peer_info().unwrap_err();
    assert!(matches!(err, CallError::Transport { .. }), "{err:?}");
    // Plain HTTP to a TLS listener gets no API answer.
    let plain = format!("http://{}/eg_api", s.handle.edge_addrs()[0]);
    let c = EdgeApiClient::new(&plain, node, token(3), TlsRoots::WebPki).unwrap();
    assert!(c.peer_info().is_err());
    assert_eq!(s.api.calls().len(), 4);
}

#[test]
fn the_manage_api_is_served_over_https_too() {
    let cert = self_signed();
    let s = tls_server(&cert);
    let roots =
        ureq::tls::RootCerts::from(vec![ureq::tls::Certificate::from_pem(&cert.pem).unwrap()]);
    let agent = ureq::Agent::config_builder()
        .proxy(None)
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
        .build()
        .new_agent();
    let url = format!(
        "https://{}/eg_api/manage/super/state",
        s.handle.manage_addrs()[0]
    );
    let mut r = agent
        .get(&url)
        .header(
            "Authorization",
            &format!("Bearer {}", secret(ManageAction::ShowState)),
        )
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let state: crate::control::api::SuperState =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(state, fake::state());
    assert_eq!(s.api.calls(), vec![Call::State]);
}

#[test]
fn unreadable_or_mismatched_tls_files_fail_at_spawn() {
    let cert = self_signed();
    let other = self_signed();
    let api = || Arc::new(FakeApi::default());
    let missing = TlsFiles {
        cert_chain_pem: cert.files.cert_chain_pem.with_file_name("absent.pem"),
        ..cert.files.clone()
    };
    let err = spawn(
        HttpConfig {
            tls: Some(missing),
            ..split_config()
        },
        api(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("absent.pem"), "{err}");
    let mismatched = TlsFiles {
        cert_chain_pem: cert.files.cert_chain_pem.clone(),
        private_key_pem: other.files.private_key_pem.clone(),
    };
    let err = spawn(
        HttpConfig {
            tls: Some(mismatched),
            ..split_config()
        },
        api(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("TLS"), "{err}");
    let key_as_cert = TlsFiles {
        cert_chain_pem: cert.files.private_key_pem.clone(),
        private_key_pem: cert.files.private_key_pem.clone(),
    };
    let err = spawn(
        HttpConfig {
            tls: Some(key_as_cert),
            ..split_config()
        },
        api(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no CERTIFICATE"), "{err}");
}
