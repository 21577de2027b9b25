// An output template ending in `/` is a directory, which the task fills through an
// `&mut OutputDir` argument.
#[kart_core::task(output = "models/{n}/")]
fn train(n: u32) -> kart_core::Result<u64> {
    Ok(u64::from(n))
}

fn main() {}
