// Durations are like "500ms", "30s", "10m", "1h30m".
#[kart_core::task(output = "import/{n}.json")]
#[kart_core::run_with_lock(ttl = "10 minutes")]
fn import(n: u32) -> kart_core::Result<u32> {
    Ok(n)
}

fn main() {}
