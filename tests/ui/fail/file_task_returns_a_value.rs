// A task that writes its output file returns nothing: the file is its output.
use kart_core::OutputFile;

#[kart_core::task(output = "exports/{n}.csv")]
fn export(n: u32, out: &mut OutputFile) -> kart_core::Result<u64> {
    std::fs::write(out.path(), format!("{n}\n"))?;
    Ok(u64::from(n))
}

fn main() {}
