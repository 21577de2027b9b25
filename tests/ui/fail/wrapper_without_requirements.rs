// A wrapper returns the tasks it requires.
#[kart_core::task(wrapper)]
fn all(day: String) {}

fn main() {}
