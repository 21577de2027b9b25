//! Named places where a fault test can freeze this process, to pause a worker at an exact
//! moment no signal sent from outside could hit (between making an output durable and
//! publishing it). Compiled in only with the `failpoints` feature, which kart's own tests
//! enable; `KART_FAILPOINTS=publish-durable` stops the process (SIGSTOP, once) when it gets
//! there, and the test resumes it with SIGCONT.

/// Stops this process the first time it reaches a failpoint named in `KART_FAILPOINTS`.
#[cfg(all(feature = "failpoints", target_os = "linux"))]
pub(crate) fn hit(name: &str) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;
    static STOPPED: AtomicBool = AtomicBool::new(false);
    // Read once: the graph build passes here for every task.
    static ARMED: OnceLock<Vec<String>> = OnceLock::new();
    let armed = ARMED
        .get_or_init(|| {
            std::env::var("KART_FAILPOINTS")
                .unwrap_or_default()
                .split(',')
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect()
        })
        .iter()
        .any(|n| n == name);
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
