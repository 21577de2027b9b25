// Compiles: the documented forms of #[task] together.
use kart_core::chrono::NaiveDate;
use kart_core::{task, tasks, AnyTask, Result, RunContext};

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Fast,
}
impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(_: &str) -> std::result::Result<Self, String> {
        Ok(Mode::Fast)
    }
}
impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fast")
    }
}
kart_core::param_from_str!(Mode);

/// Raw numbers.
#[task(output = "raw/{date:%Y}/{date}.msgpack", format = "msgpack")]
pub fn raw(date: NaiveDate) -> Result<Vec<u32>> {
    Ok(vec![1, 2, 3])
}

/// A sum, with an optional context.
#[task(name = "Total")]
pub fn sum_numbers(
    /// Which day.
    date: NaiveDate,
    #[param(default = Mode::Fast)] mode: Mode,
    #[param(default, significant = false)] verbose: bool,
    #[requires(Raw { date })] numbers: Vec<u32>,
    ctx: &RunContext<'_>,
) -> Result<u32> {
    let _ = (mode, verbose, ctx.attempt());
    Ok(numbers.iter().sum())
}

/// Infallible tasks return their output directly; urgency may depend on parameters.
#[task(priority = if n > 10 { 5 } else { -1 })]
fn plain(n: u32) -> u32 {
    n
}

#[task(wrapper)]
fn everything(date: NaiveDate) -> Vec<AnyTask> {
    tasks![Total { date, mode: Mode::Fast, verbose: false }, Plain { n: 1 }]
}

fn main() {
    let date = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap();
    let _ = Everything { date };
}
