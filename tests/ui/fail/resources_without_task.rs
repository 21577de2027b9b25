// #[resources] is read by #[task]; alone it is an error.
#[kart_core::resources(warehouse_db = 1)]
fn load(n: u32) -> u32 {
    n
}

fn main() {}
