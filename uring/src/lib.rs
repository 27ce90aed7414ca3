//! egd-uring: io_uring rings, buffer rings, multishot receive, batched and
//! GSO sends, timers and feature probing, with an epoll fallback behind the
//! same trait. Knows nothing about WireGuard or routing.
//!
//! Filled in by the data-plane work; `unsafe` is allowed here only, each block
//! with a `// SAFETY:` note.
