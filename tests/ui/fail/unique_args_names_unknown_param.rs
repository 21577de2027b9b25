// `unique_args` names parameters of the task.
#[kart_core::task(output = "import/{day}/{region}.json")]
#[kart_core::run_with_lock(lock = until_executed, unique_args = [regoin])]
fn import(day: String, region: String) -> kart_core::Result<u32> {
    Ok(1)
}

fn main() {}
