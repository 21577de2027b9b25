// `max_batch_size` bounds batches, but no parameter says how to batch.
#[kart_core::task(output = "loads/{day}.json", max_batch_size = 10)]
fn load(day: u32) -> u32 {
    day
}

fn main() {}
