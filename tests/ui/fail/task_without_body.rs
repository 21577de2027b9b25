// Only external data may be declared without a body.
#[kart_core::task(output = "raw/{day}.json")]
fn raw_counts(day: u32) -> Vec<u32>;

fn main() {}
