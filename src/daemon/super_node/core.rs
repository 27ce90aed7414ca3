//! The supernode's core as the loop and the HTTP thread share it.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::control::super_core::SuperCore;

/// The core, shared by the loop and the HTTP thread.
pub type SharedCore = Arc<Mutex<SuperCore>>;

/// Locks the core; a panic on another thread while holding it does not
/// make the state unusable (every method leaves it consistent).
pub fn lock(core: &SharedCore) -> MutexGuard<'_, SuperCore> {
    core.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
