// A wrapper has no output of its own.
#[kart_core::task(wrapper, output = "all/{day}.json")]
fn all(day: String) -> Vec<kart_core::AnyTask> {
    Vec::new()
}

fn main() {}
