// A type kart does not know how to parse from the command line.
struct Point {
    x: i32,
}

#[kart_core::task]
fn plot(at: Point) -> kart_core::Result<i32> {
    Ok(at.x)
}

fn main() {}
