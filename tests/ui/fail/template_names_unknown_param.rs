// The output template mentions `{date}`, but the parameter is called `day`.
#[kart_core::task(output = "reports/{date}.json")]
fn report(day: String) -> kart_core::Result<u32> {
    Ok(1)
}

fn main() {}
