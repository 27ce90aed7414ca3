//! Tests of the HTTP layer against a recording fake [`SuperApi`]. Every
//! server binds 127.0.0.1 port 0 and every request goes there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod edge;
mod fake;
mod manage;
mod page;
mod server;
mod tls;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ureq::Agent;

use super::{HttpConfig, HttpHandle, spawn};
use fake::FakeApi;

pub(super) const LOCAL: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// Edge and Manage API on separate loopback listeners (port 0 is never
/// shared) under `eg_api` (no leading slash, as configs often have it).
fn split_config() -> HttpConfig {
    HttpConfig {
        edge_listen: vec![LOCAL],
        manage_listen: vec![LOCAL],
        api_prefix: "eg_api".into(),
        tls: None,
    }
}

/// A loopback port free a moment ago (for the same-port mode, which needs
/// a real port number on both sides).
fn free_port() -> u16 {
    std::net::TcpListener::bind(LOCAL)
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    api: Arc<FakeApi>,
    handle: HttpHandle,
}

impl Server {
    fn start(cfg: HttpConfig) -> Self {
        let api = Arc::new(FakeApi::default());
        let handle = spawn(cfg, api.clone()).expect("server starts");
        Self { api, handle }
    }

    fn split() -> Self {
        Self::start(split_config())
    }

    fn edge_url(&self, path: &str) -> String {
        format!("http://{}/eg_api/{path}", self.handle.edge_addrs()[0])
    }

    fn manage_url(&self, path: &str) -> String {
        format!("http://{}/eg_api/{path}", self.handle.manage_addrs()[0])
    }
}

/// A plain client that reports every status instead of failing on it.
fn agent() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent()
}

/// Status, content type and body text of an answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: String,
    body: String,
}

fn reply(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut r = r.expect("an HTTP answer");
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    Reply {
        status: r.status().as_u16(),
        content_type,
        body: r.body_mut().read_to_string().unwrap(),
    }
}

fn get(url: &str, bearer: Option<&str>) -> Reply {
    let mut req = agent().get(url);
    if let Some(t) = bearer {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    reply(req.call())
}

fn post(url: &str, bearer: Option<&str>, content_type: &str, body: &[u8]) -> Reply {
    let mut req = agent().post(url).header("Content-Type", content_type);
    if let Some(t) = bearer {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    reply(req.send(body))
}

fn post_form(url: &str, bearer: Option<&str>, form: &str) -> Reply {
    post(
        url,
        bearer,
        "application/x-www-form-urlencoded",
        form.as_bytes(),
    )
}
