//! The daemon shell: the only code that touches clocks, sockets, files,
//! signals and the OS's randomness. Everything else in egd is driven from
//! here with time, randomness and packets passed in.
#![allow(clippy::disallowed_methods)]

pub mod batch_lock;
pub mod clock;
pub mod datapath;
pub mod ddns;
pub mod edge;
pub mod edge_control;
pub mod edge_web;
pub mod entropy;
pub mod error;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod ntp;
pub mod outbox;
pub mod post_script;
pub mod privdrop;
pub mod reload;
pub mod rx_batch;
pub mod shell;
pub mod signals;
pub mod sockets;
pub mod super_node;
pub mod systemd;
pub mod uapi;
pub mod wake;
pub mod workers;
