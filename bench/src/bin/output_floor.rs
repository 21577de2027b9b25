//! The floor kart's output benchmarks are measured against: the same bytes written straight
//! to the final path and fsynced, with no task, no temporary and no rename.
//!
//! ```text
//! output_floor file <PATH> <MIB>       # MIB MiB of kart_bench::block()
//! output_floor parquet <PATH> <ROWS>   # kart_bench::table(ROWS) with the parquet crate alone
//! ```

use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, kind, path, n] = args.as_slice() else {
        return Err("usage: output_floor file|parquet <PATH> <N>".into());
    };
    let n: u32 = n.parse()?;
    let file = std::fs::File::create(path)?;
    match kind.as_str() {
        "file" => {
            let block = kart_bench::block();
            let mut out = &file;
            for _ in 0..n {
                out.write_all(&block)?;
            }
        }
        "parquet" => {
            let batches = kart_bench::table(n);
            let mut writer =
                parquet::arrow::ArrowWriter::try_new(&file, batches[0].schema(), None)?;
            for batch in &batches {
                writer.write(batch)?;
            }
            writer.close()?;
        }
        other => return Err(format!("unknown kind {other}").into()),
    }
    file.sync_all()?;
    Ok(())
}
