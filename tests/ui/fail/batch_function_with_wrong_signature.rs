// A batch function takes every value of the batch and returns one: `fn(&[u32]) -> u32`.
fn first(value: u32) -> u32 {
    value
}

#[kart_core::task(output = "loads/{day}.json")]
fn load(#[param(batch = first)] day: u32) -> u32 {
    day
}

fn main() {}
