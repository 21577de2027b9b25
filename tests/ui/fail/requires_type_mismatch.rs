// The argument's type must be the required task's output type (`u64` here).
#[kart_core::task(output = "sales/{day}.json")]
fn sales(day: String) -> kart_core::Result<u64> {
    Ok(1)
}

#[kart_core::task(output = "summary/{day}.json")]
fn summary(day: String, #[requires(Sales { day })] sales: String) -> kart_core::Result<String> {
    Ok(sales)
}

fn main() {}
