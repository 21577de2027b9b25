//! SIGINT/SIGTERM: stop, then cancel, then leave — releasing locks and removing temporary
//! files whatever happens.

use crate::exit::{codes, Failure};
use crate::out::tell;

/// How long cancelled tasks get to return before the process exits anyway (releasing every
/// lock and removing its temporary files first).
const FORCED_EXIT_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// SIGINT/SIGTERM: the first stops starting tasks (running ones finish); the second, or the
/// shutdown grace running out, cancels running tasks; a third exits at once. Whatever happens,
/// locks are released and temporary files removed before the process ends.
pub(crate) fn watch_signals(
    shutdown: kart_core::Shutdown,
    grace: Option<kart_core::Duration>,
    interrupted: u8,
) -> Result<signal_hook::iterator::Handle, Failure> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map_err(|e| Failure {
            message: format!("cannot install signal handlers: {e}"),
            code: codes::BAD_INPUT,
        })?;
    let handle = signals.handle();
    std::thread::spawn(move || {
        let mut count = 0;
        for signal in signals.forever() {
            count += 1;
            let name = if signal == SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            match count {
                1 => {
                    let bound = grace.map_or_else(
                        || "send it again to cancel them".to_string(),
                        |g| format!("cancelling them in {g}"),
                    );
                    tell!("{name}: starting no new tasks; letting running ones finish ({bound})");
                    shutdown.stop();
                    if let Some(grace) = grace {
                        let shutdown = shutdown.clone();
                        std::thread::spawn(move || {
                            std::thread::sleep(grace.as_std());
                            if !shutdown.is_cancelling() {
                                tell!("shutdown grace of {grace} over: cancelling running tasks");
                                cancel_then_force_exit(&shutdown, interrupted);
                            }
                        });
                    }
                }
                2 => {
                    tell!("{name} again: cancelling running tasks");
                    cancel_then_force_exit(&shutdown, interrupted);
                }
                _ => force_exit(interrupted),
            }
        }
    });
    Ok(handle)
}

fn cancel_then_force_exit(shutdown: &kart_core::Shutdown, code: u8) {
    shutdown.cancel();
    std::thread::spawn(move || {
        std::thread::sleep(FORCED_EXIT_AFTER);
        tell!(
            "running tasks did not stop within {}: exiting",
            kart_core::Duration(FORCED_EXIT_AFTER)
        );
        force_exit(code);
    });
}

/// Leaves now, but not without releasing locks and removing half-written temporary files.
fn force_exit(code: u8) -> ! {
    let locks = kart_core::lock::release_all();
    let temps = kart_core::store::local::remove_in_flight_temp_files();
    tell!("released {locks} lock(s), removed {temps} temporary file(s); exiting");
    std::process::exit(i32::from(code))
}
