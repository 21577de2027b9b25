// Batch methods are "max", "min", "list" or a function; "avg" is none of them.
#[kart_core::task(output = "loads/{day}.json")]
fn load(#[param(batch = "avg")] day: u32) -> u32 {
    day
}

fn main() {}
