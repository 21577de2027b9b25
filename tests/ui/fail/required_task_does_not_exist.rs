// #[requires] names a task that is not defined.
#[kart_core::task(output = "summary/{day}.json")]
fn summary(day: String, #[requires(DailySales { day })] sales: u64) -> kart_core::Result<u64> {
    Ok(sales)
}

fn main() {}
