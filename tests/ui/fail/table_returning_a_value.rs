// A table task's output is the rows it writes: it returns nothing.
use kart_core::db::SqliteTransaction;

#[kart_core::task(table = "sales_daily", db = "warehouse")]
fn load_sales(day: chrono::NaiveDate, tx: &mut SqliteTransaction) -> kart_core::Result<u64> {
    let n = tx.execute("INSERT INTO sales_daily (day) VALUES (?1)", [day.to_string()])?;
    Ok(n as u64)
}

fn main() {}
