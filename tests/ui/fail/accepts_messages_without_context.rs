// Messages arrive through the run context, so a task that accepts them needs one.
#[kart_core::task(accepts_messages)]
fn long_loop(n: u32) -> u32 {
    n
}

fn main() {}
