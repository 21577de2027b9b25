// A task fails with an error type: `Status` is a plain enum, not a `std::error::Error`.
#[derive(Debug)]
enum Status {
    Missing,
}

#[kart_core::task]
fn fetch(n: u32) -> Result<u32, Status> {
    if n == 0 {
        return Err(Status::Missing);
    }
    Ok(n)
}

fn main() {}
