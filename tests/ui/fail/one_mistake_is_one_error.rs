// A task with a mistake still declares its parameter struct, so the tasks that require it
// (and any other code naming it) report nothing more: one mistake, one error.
use kart_core::chrono::NaiveDate;

#[kart_core::task(output = "daily/{date}.json", fromat = "json")]
fn daily(date: NaiveDate) -> kart_core::Result<u64> {
    Ok(1)
}

#[kart_core::task(output = "weekly/{end}.json")]
fn weekly(end: NaiveDate, #[requires(Daily { date: end })] day: u64) -> kart_core::Result<u64> {
    Ok(day * 7)
}

fn main() {
    let _ = Weekly { end: NaiveDate::MIN };
}
