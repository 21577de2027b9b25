// Formats are "json" and "msgpack".
#[kart_core::task(format = "yaml")]
fn report(n: u32) -> kart_core::Result<u32> {
    Ok(n)
}

fn main() {}
