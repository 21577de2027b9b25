// #[run_with_lock] is read by #[task]; alone it does nothing, so it is an error.
#[kart_core::run_with_lock]
fn import(n: u32) -> u32 {
    n
}

fn main() {}
