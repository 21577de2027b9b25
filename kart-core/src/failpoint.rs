//! Named places where a fault test can freeze this process, to pause a worker at an exact
//! moment no signal sent from outside could hit (between making an output durable and
//! publishing it). Compiled in only with the `failpoints` feature, which kart's own tests
//! enable; `KART_FAILPOINTS=publish-durable` stops the process (SIGSTOP, once) when it gets
//! there, and the test resumes it with SIGCONT.

/// Stops this process the first time it reaches a failpoint named in `KART_FAILPOINTS`.
#[cfg(feature = "failpoints")]
pub(crate) fn hit(name: &str) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static STOPPED: AtomicBool = AtomicBool::new(false);
    let armed = std::env::var("KART_FAILPOINTS")
        .is_ok_and(|names| names.split(',').any(|n| n.trim() == name));
    if armed && !STOPPED.swap(true, Ordering::SeqCst) {
        // The stop is delivered while this thread waits for `kill`: nothing of ours runs after.
        let _ = std::process::Command::new("kill")
            .args(["-STOP", &std::process::id().to_string()])
            .status();
    }
}

/// Without the feature, nothing.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub(crate) fn hit(_name: &str) {}
