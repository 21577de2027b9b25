// External data is declared, not produced: kart never runs a body, so there must be none.
#[kart_core::task(external, output = "raw/{day}.json")]
fn raw_counts(day: u32) -> Vec<u32> {
    vec![day]
}

fn main() {}
