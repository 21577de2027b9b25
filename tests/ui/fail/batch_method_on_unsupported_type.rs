// "max" needs an order (floats have none) and "list" joins text, so it needs a String.
#[kart_core::task(output = "loads/{ratio}/{day}.json")]
fn load(#[param(batch = "max")] ratio: f64, #[param(batch = "list")] day: u32) -> u32 {
    day
}

fn main() {}
