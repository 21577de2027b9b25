// Two instances differing only in `region` would write the same file.
#[kart_core::task(output = "reports/{day}.json")]
fn report(day: String, region: String) -> kart_core::Result<u32> {
    Ok(1)
}

fn main() {}
