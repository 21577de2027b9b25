// Workers run each task on a thread; task functions are not async.
#[kart_core::task]
async fn report(n: u32) -> kart_core::Result<u32> {
    Ok(n)
}

fn main() {}
