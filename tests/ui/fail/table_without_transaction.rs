// A table task writes its rows in the transaction kart gives it; this one takes none.
#[kart_core::task(table = "sales_daily", db = "warehouse")]
fn load_sales(day: chrono::NaiveDate) -> kart_core::Result<()> {
    let _ = day;
    Ok(())
}

fn main() {}
