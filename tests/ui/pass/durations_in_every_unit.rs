// Compiles: durations in attributes follow the runtime's grammar (`--task-timeout 90min`
// works, so `timeout = "90min"` does too).
use kart_core::__private::TaskDef;
use kart_core::task;

/// Minutes spelled out, fractions of hours.
#[task(output = "slow/{n}.json", timeout = "90min")]
#[run_with_lock(ttl = "1.5h", timeout = "2hrs")]
pub fn slow(n: u32) -> u32 {
    n
}

fn main() {
    let spec = <Slow as TaskDef>::SPEC;
    assert_eq!(spec.timeout_ms, Some(90 * 60 * 1000));
    let lock = spec.run_lock.unwrap();
    assert_eq!(lock.ttl_ms, Some(90 * 60 * 1000));
    assert_eq!(lock.timeout_ms, Some(2 * 3600 * 1000));
}
