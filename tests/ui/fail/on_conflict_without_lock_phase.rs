// A conflict strategy belongs to a unique job: say which phase is locked.
#[kart_core::task(output = "import/{n}.json")]
#[kart_core::run_with_lock(on_conflict = raise)]
fn import(n: u32) -> kart_core::Result<u32> {
    Ok(n)
}

fn main() {}
