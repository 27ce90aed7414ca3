//! The control plane of super mode, sans-IO (SYSTEM.md §3.2): what the
//! supernode and an edge say to each other and decide, with time and
//! messages passed in so the simulated network can run it.
//!
//! - [`api`]: the HTTP APIs' bodies and the trait the HTTP layer calls.

pub mod api;
