// A completeness rule takes the task and the workspace and says yes or no; this one takes
// only a day.
fn loaded(day: &chrono::NaiveDate) -> bool {
    day.to_string().ends_with("01")
}

#[kart_core::task(complete = loaded)]
fn partition(day: chrono::NaiveDate) -> kart_core::Result<()> {
    let _ = day;
    Ok(())
}

fn main() {}
