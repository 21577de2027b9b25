// A misspelled option lists the valid ones.
#[kart_core::task(outptu = "reports/{day}.json")]
fn report(day: String) -> kart_core::Result<u32> {
    Ok(1)
}

fn main() {}
