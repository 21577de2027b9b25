// A resource name template may only name parameters.
#[kart_core::task(output = "files/{file}.json")]
#[kart_core::resources("file:{path}" = 1)]
fn write(file: String) -> kart_core::Result<u32> {
    Ok(1)
}

fn main() {}
