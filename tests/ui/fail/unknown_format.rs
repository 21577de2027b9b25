// kart's formats are "json", "msgpack", "csv" and "parquet"; others are types implementing
// `kart_core::Format`, named by path.
#[kart_core::task(format = "yaml")]
fn report(n: u32) -> kart_core::Result<u32> {
    Ok(n)
}

fn main() {}
