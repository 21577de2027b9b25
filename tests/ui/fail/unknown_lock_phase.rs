// Lock phases are until_executing, while_executing and until_executed.
#[kart_core::task(output = "import/{n}.json")]
#[kart_core::run_with_lock(lock = while_running)]
fn import(n: u32) -> kart_core::Result<u32> {
    Ok(n)
}

fn main() {}
