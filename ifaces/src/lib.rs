//! egd-ifaces: the L2 endpoints (tap, memif, dummy, stdio, sockets, fd) and an
//! in-memory pair for tests. Knows nothing about WireGuard or routing.
//!
//! Filled in by the data-plane work; `unsafe` is allowed here only, each block
//! with a `// SAFETY:` note.
