// A wrapper never runs, so there is nothing to lock.
#[kart_core::task(wrapper)]
#[kart_core::run_with_lock]
fn all(n: u32) -> Vec<kart_core::AnyTask> {
    Vec::new()
}

fn main() {}
