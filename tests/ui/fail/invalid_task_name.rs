// `name` becomes the parameter struct's name, so it must be an identifier.
#[kart_core::task(name = "TPS-Report")]
fn tps_report(n: u32) -> kart_core::Result<u32> {
    Ok(n)
}

fn main() {}
