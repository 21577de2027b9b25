// A borrowed `&str` cannot be a parameter: parameters are owned, hashed into the task id.
#[kart_core::task]
fn greet(name: &str) -> kart_core::Result<String> {
    Ok(format!("hello {name}"))
}

fn main() {}
