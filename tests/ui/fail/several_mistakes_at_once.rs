// Every mistake is reported in one build, each at its own token.
#[kart_core::task(outptu = "x", format = "yaml")]
fn report(name: &str, #[param(significant = false, defualt = 1)] n: u32) -> kart_core::Result<u32> {
    Ok(n)
}

fn main() {}
