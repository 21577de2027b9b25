// Each option may be given once.
#[kart_core::task(output = "a/{n}.json", output = "b/{n}.json")]
fn report(n: u32) -> kart_core::Result<u32> {
    Ok(n)
}

fn main() {}
