// A resource amount is a whole number of units.
#[kart_core::task(output = "load/{n}.json")]
#[kart_core::resources(warehouse_db = 0.5)]
fn load(n: u32) -> kart_core::Result<u32> {
    Ok(n)
}

fn main() {}
