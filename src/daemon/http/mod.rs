//! The supernode's HTTP APIs over the wire (docs/system.md#http-apis): a server that
//! answers the Edge and Manage APIs by calling [`crate::control::api::SuperApi`],
//! and the blocking client an edge uses to reach them. The shapes of the
//! requests and answers live in `crate::control::api`; this module is only
//! transport: listeners, TLS, authentication, status codes.
//!
//! Server: build an [`HttpConfig`] (e.g. [`HttpConfig::on_ports`]), call
//! [`spawn`] with the supernode's `Arc<dyn SuperApi>`. It binds every
//! listener before it returns (so a busy port is an error at once), then
//! serves on its own thread with a single-threaded tokio runtime, never on
//! the data path. Dropping the returned [`HttpHandle`] (or calling
//! [`HttpHandle::shutdown`]) stops it.
//!
//! The Manage listeners also serve the topology page at `/` (`page`), read
//! with the `ShowState` secret.
//!
//! Client: [`EdgeApiClient::new`] with the supernode's API base URL, the
//! edge's NodeID and its Edge API token; each call blocks for at most
//! [`client::CALL_TIMEOUT`].

mod auth;
pub mod client;
mod config;
mod error;
mod form;
#[doc(hidden)]
pub mod fuzzing;
mod listen;
mod page;
mod reply;
mod routes;
mod routes_edge;
mod routes_manage;
mod server;
mod tls;

pub use client::{CallError, EdgeApiClient, TlsRoots};
pub use config::{HttpConfig, TlsFiles};
pub use error::{ClientError, ServeError};
pub use server::{HttpHandle, spawn};

#[cfg(test)]
mod tests;
