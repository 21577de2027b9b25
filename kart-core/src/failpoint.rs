//! Named places where a fault test can freeze this process, to pause a worker at an exact
//! moment no signal sent from outside could hit (between making an output durable and
//! publishing it). Compiled in only with the `failpoints` feature, which kart's own tests
//! enable; `KART_FAILPOINTS=publish-durable` stops the process (SIGSTOP, once) when it gets
//! there, and the test resumes it with SIGCONT.

/// Stops this process the first time it reaches a failpoint named in `KART_FAILPOINTS`.
#[cfg(all(feature = "failpoints", target_os = "linux"))]
pub(crate) fn hit(name: &str) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static STOPPED: AtomicBool = AtomicBool::new(false);
    let armed = std::env::var("KART_FAILPOINTS")
        .is_ok_and(|names| names.split(',').any(|n| n.trim() == name));
    if armed && !STOPPED.swap(true, Ordering::SeqCst) {
        // `raise` sends it to this very thread (tgkill), which stops on its way out of the
        // call. A signal sent to the process may be taken by another thread first, and under
        // load this one would go on for a while before the group stop reached it.
        // SAFETY: raising a signal has no memory-safety preconditions.
        unsafe {
            libc::raise(libc::SIGSTOP);
        }
    }
}

/// Without the feature, nothing.
#[cfg(not(all(feature = "failpoints", target_os = "linux")))]
#[inline(always)]
pub(crate) fn hit(_name: &str) {}
