//! A minimal W3C WebDriver client over HTTP (ureq + serde_json) driving
//! headless Chromium through `chromedriver` on loopback: just what the
//! topology test needs (open a URL, run a script, click an element, take a
//! screenshot). The session and the driver end when it is dropped.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::support::procs::Proc;
use crate::support::wait_for;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Why the browser test cannot run here, if it cannot. With
/// EGD_REQUIRE_TOOLS set (deploy/test.sh installs both), it fails instead.
pub fn unavailable() -> Option<String> {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return None;
    }
    let reason = format!(
        "needs {} (Debian chromium and chromium-driver)",
        missing.join(" and ")
    );
    assert!(std::env::var_os("EGD_REQUIRE_TOOLS").is_none(), "{reason}");
    eprintln!("skipped: {reason}");
    Some(reason)
}

pub struct Browser {
    base: String,
    agent: ureq::Agent,
    session: Option<String>,
    _profile: tempfile::TempDir,
    _driver: Proc,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless session
    /// with a `width`×`height` window.
    pub fn start(width: u32, height: u32) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(CHROMEDRIVER);
        cmd.arg(format!("--port={port}"));
        let driver = Proc::spawn(cmd);
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .proxy(None)
            .build()
            .new_agent();
        let base = format!("http://127.0.0.1:{port}");
        let ready = wait_for(Duration::from_secs(20), || {
            let mut r = agent.get(format!("{base}/status")).call().ok()?;
            let v: Value = serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()?;
            (v["value"]["ready"] == json!(true)).then_some(())
        });
        assert!(ready.is_some(), "chromedriver starts\n{}", driver.log());
        let profile = tempfile::tempdir().unwrap();
        let mut b = Browser {
            base,
            agent,
            session: None,
            _profile: profile,
            _driver: driver,
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--no-first-run",
                    "--disable-background-networking", "--disable-extensions",
                    "--disable-sync", "--disable-component-update",
                    "--proxy-server=direct://", "--proxy-bypass-list=*",
                    format!("--user-data-dir={}", b._profile.path().display()),
                    format!("--window-size={width},{height}"),
                ],
            },
        }}});
        let v = b.call("POST", "/session", Some(caps));
        let id = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("new session: {v}"))
            .to_owned();
        b.session = Some(id);
        b
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let r = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(json!({})).to_string()),
        };
        let mut r = r.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status().as_u16();
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        assert!(status < 300, "{method} {path}: {status} {v}");
        v["value"].clone()
    }

    fn session(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session.as_deref().unwrap_or(""))
    }

    pub fn open(&self, url: &str) {
        self.call("POST", &self.session("/url"), Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body; `return` gives the value).
    pub fn eval(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.session("/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Clicks the element `css` selects, as a user would (the driver moves
    /// the pointer to its centre).
    pub fn click(&self, css: &str) {
        let found = self.call(
            "POST",
            &self.session("/element"),
            Some(json!({ "using": "css selector", "value": css })),
        );
        let id = found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned();
        self.call(
            "POST",
            &self.session(&format!("/element/{id}/click")),
            Some(json!({})),
        );
    }

    /// A PNG of the viewport, written to `path`.
    pub fn screenshot(&self, path: &Path) {
        let v = self.call("GET", &self.session("/screenshot"), None);
        let png = BASE64.decode(v.as_str().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            let _ = self
                .agent
                .delete(format!("{}/session/{id}", self.base))
                .call();
        }
    }
}
