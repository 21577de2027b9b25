// Cloudtasker's table: `reschedule` goes only with `while_executing`.
#[kart_core::task(output = "import/{n}.json")]
#[kart_core::run_with_lock(lock = until_executed, on_conflict = reschedule)]
fn import(n: u32) -> kart_core::Result<u32> {
    Ok(n)
}

fn main() {}
