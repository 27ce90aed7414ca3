//! Why a daemon (edge or supernode) stopped abnormally.

use std::io;

use egd_ifaces::IfaceError;

use super::http::ServeError;
use super::metrics::MetricsError;
use super::privdrop::PrivdropError;

/// What failed, with the error underneath as its source. `Display` gives
/// the line the daemon prints: `what: why`.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("signal handlers: {0}")]
    Signals(#[source] io::Error),
    #[error("{0}")]
    Interface(#[source] IfaceError),
    #[error("interface: no queue")]
    NoQueue,
    #[error("tap queue: {0}")]
    TapQueue(#[source] io::Error),
    #[error("tap: {0}")]
    TapQueues(#[source] io::Error),
    #[error("UDP socket: {0}")]
    Socket(#[source] io::Error),
    #[error("UDP socket: none bound")]
    NoSocket,
    #[error("reactor: {0}")]
    Reactor(#[source] io::Error),
    #[error("UDP: {0}")]
    AddSocket(#[source] io::Error),
    #[error("reactor wait: {0}")]
    Wait(#[source] io::Error),
    #[error("{0}")]
    Metrics(#[source] MetricsError),
    #[error("Web: {0}")]
    Web(#[source] ServeError),
    #[error("HTTP API: {0}")]
    HttpApi(#[source] ServeError),
    #[error("randomness: {0}")]
    Randomness(#[source] getrandom::Error),
    /// The wake-up pair of the loop; `what` is how the daemon names it.
    #[error("{what}: {source}")]
    Wake {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("resolver thread: {0}")]
    Resolver(#[source] io::Error),
    #[error("watch: {0}")]
    Watch(#[source] io::Error),
    #[error("watch interface: {0}")]
    WatchInterface(#[source] io::Error),
    #[error("{0}")]
    Privdrop(#[source] PrivdropError),
    #[error("data path thread: {0}")]
    Thread(#[source] io::Error),
    /// A data path thread (numbered from 1) could not start.
    #[error("data path thread {thread}: {source}")]
    DataPath {
        thread: usize,
        #[source]
        source: io::Error,
    },
    #[error("data path thread {0} died")]
    DataPathDied(usize),
    #[error("data path thread {0} stopped")]
    DataPathStopped(usize),
    #[error("shut down by the supernode: {0}")]
    ShutDown(String),
    /// A key super mode needs is missing from the config.
    #[error("{0} is required in super mode")]
    Missing(&'static str),
    #[error("DynamicRoute.SuperNode.EdgeAPICAFile {path}: {source}", path = .path.display())]
    CaFile {
        path: std::path::PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("Edge API {url}: {source}")]
    EdgeApi {
        url: String,
        #[source]
        source: super::http::ClientError,
    },
    #[error("control plane: {0}")]
    Control(#[source] io::Error),
}
