// The path may only depend on parameters that are part of the id.
#[kart_core::task(output = "reports/{day}/{verbosity}.json")]
fn report(day: String, #[param(significant = false)] verbosity: u8) -> kart_core::Result<u32> {
    Ok(1)
}

fn main() {}
