// An argument is either a parameter or a requirement.
#[kart_core::task(output = "a/{n}.json")]
fn a(n: u32) -> kart_core::Result<u32> {
    Ok(n)
}

#[kart_core::task(output = "b/{n}.json")]
fn b(n: u32, #[param(default = 1)] #[requires(A { n })] input: u32) -> kart_core::Result<u32> {
    Ok(input)
}

fn main() {}
