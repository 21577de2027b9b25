// Parameter options are `default` and `significant`.
#[kart_core::task]
fn report(#[param(defualt = 3)] n: u32) -> kart_core::Result<u32> {
    Ok(n)
}

fn main() {}
