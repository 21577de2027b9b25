// A namespace is dot-separated identifiers, like Luigi's `task_namespace`.
#[kart_core::task(namespace = "reports..daily", output = "x/{n}.json")]
fn weekly(n: u32) -> u32 {
    n
}

fn main() {}
