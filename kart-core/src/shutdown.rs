//! Stopping a run: gracefully (start no new task, let running ones finish) or at once
//! (running tasks are cancelled: they see it through `RunContext::is_cancelled`, and their
//! outputs are not committed). The command line maps SIGINT/SIGTERM onto this.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A shared stop switch for a run.
///
/// ```
/// let shutdown = kart_core::Shutdown::default();
/// assert!(!shutdown.is_stopping());
/// shutdown.cancel();
/// assert!(shutdown.is_stopping() && shutdown.is_cancelling());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    inner: Arc<State>,
}

#[derive(Debug, Default)]
struct State {
    stopping: AtomicBool,
    cancelling: AtomicBool,
}

impl Shutdown {
    /// Start no new task; running tasks finish.
    pub fn stop(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
    }
    /// Also cancel running tasks.
    pub fn cancel(&self) {
        self.stop();
        self.inner.cancelling.store(true, Ordering::SeqCst);
    }
    /// Whether the run is stopping.
    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }
    /// Whether running tasks are being cancelled.
    pub fn is_cancelling(&self) -> bool {
        self.inner.cancelling.load(Ordering::SeqCst)
    }
}
