// Every kind of output: values in kart's formats and in your own, a file, a directory.
use kart_core::{OutputDir, OutputFile};

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Row {
    region: String,
    total: u64,
}

#[kart_core::task(format = "csv")]
fn rows(n: u32) -> kart_core::Result<Vec<Row>> {
    Ok(vec![Row { region: "north".into(), total: u64::from(n) }])
}

#[kart_core::task(format = "msgpack")]
fn packed(n: u32) -> u32 {
    n
}

#[kart_core::task(output = "exports/{n}.csv")]
fn export(n: u32, #[requires(Rows { n })] rows: Vec<Row>, out: &mut OutputFile) -> std::io::Result<()> {
    std::fs::write(out.path(), format!("{}\n", rows.len()))
}

#[kart_core::task(output = "models/{n}/")]
fn train(n: u32, #[requires(Export { n })] export: std::path::PathBuf, out: &mut OutputDir) -> kart_core::Result<()> {
    std::fs::copy(export, out.join("input.csv"))?;
    Ok(())
}

fn main() {}
