// Template placeholders are `{name}` or `{name:format}`.
#[kart_core::task(output = "reports/{day.json")]
fn report(day: String) -> kart_core::Result<u32> {
    Ok(1)
}

fn main() {}
