// External data depends on nothing kart runs, is never locked, and has no run context.
#[kart_core::task]
fn cleaned(day: u32) -> u32 {
    day
}

#[kart_core::task(external, output = "raw/{day}.json")]
#[kart_core::run_with_lock]
fn raw_counts(
    day: u32,
    #[requires(Cleaned { day })] cleaned: u32,
    ctx: &kart_core::RunContext,
) -> Vec<u32>;

fn main() {}
