// A format stores some types: `Lines` stores `Vec<String>`, and this task returns a `u64`.
pub struct Lines;

impl kart_core::Format<Vec<String>> for Lines {
    const EXTENSION: &'static str = "txt";
    fn write(
        value: &Vec<String>,
        out: &mut (dyn std::io::Write + Send),
    ) -> Result<(), kart_core::BoxError> {
        Ok(out.write_all(value.join("\n").as_bytes())?)
    }
    fn read(bytes: Vec<u8>) -> Result<Vec<String>, kart_core::BoxError> {
        Ok(String::from_utf8(bytes)?.lines().map(str::to_string).collect())
    }
}

#[kart_core::task(format = Lines)]
fn total(n: u32) -> kart_core::Result<u64> {
    Ok(u64::from(n))
}

fn main() {}
