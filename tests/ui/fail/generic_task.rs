// A parameter needs one concrete type to be parsed and hashed.
#[kart_core::task]
fn report<T: Clone>(n: T) -> kart_core::Result<u32> {
    Ok(1)
}

fn main() {}
