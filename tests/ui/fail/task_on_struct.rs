// #[task] goes on a function, not on a struct.
#[kart_core::task]
struct SomeReport {
    date: String,
}

fn main() {}
