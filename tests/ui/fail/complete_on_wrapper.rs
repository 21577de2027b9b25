// A wrapper is complete exactly when what it requires is: it cannot have a rule of its own.
use kart_core::{task, tasks, AnyTask, Workspace};

#[task(output = "day/{n}.json")]
fn day(n: u32) -> u32 {
    n
}

fn all_there(_: &Days, _: &Workspace) -> kart_core::Result<bool> {
    Ok(true)
}

#[task(wrapper, complete = all_there)]
fn days(n: u32) -> Vec<AnyTask> {
    tasks![Day { n }]
}

fn main() {}
