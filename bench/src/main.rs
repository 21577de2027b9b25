//! The benchmark pipeline: the shapes `bench/compare.sh` runs against the same shapes in Luigi.
//!
//! - `Fanin --n N`: a wrapper requiring `Leaf(i)` for i in 0..N.
//! - `Layered --layers L --width W`: node (k, i) requires nodes (k-1, i) and (k-1, (i+1) % W).
//! - `BigOutput --mib M`, `ParquetTable --rows R`: one large output (`bench/outputs.sh`).
//! - `AllDaily --date D`: a wrapper over 100 daily families `D00`..`D99`, each writing
//!   `daily/Dnn/<date>.json`; `RangeDaily --of AllDaily` decides completeness over them.

use std::io::Write;

use chrono::NaiveDate;
use kart_core::{task, AnyTask, OutputFile, Result};

/// `mib` MiB written to a file output, 1 MiB at a time (`bench/outputs.sh`).
#[task(output = "big/{mib}.bin")]
fn big_output(mib: u32, out: &mut OutputFile) -> Result<()> {
    let block = kart_bench::block();
    let mut file = out.create()?;
    for _ in 0..mib {
        file.write_all(&block)?;
    }
    Ok(())
}

/// `rows` rows as a Parquet value output (`bench/outputs.sh`).
#[task(output = "table/{rows}.parquet", format = "parquet")]
fn parquet_table(rows: u32) -> Result<Vec<kart_core::arrow_array::RecordBatch>> {
    Ok(kart_bench::table(rows))
}

/// One leaf: a tiny JSON output.
#[task(output = "leaf/{i}.json")]
fn leaf(i: u32) -> Result<u32> {
    Ok(i)
}

/// Requires `Leaf(0..n)`.
#[task(wrapper)]
fn fanin(n: u32) -> Vec<AnyTask> {
    (0..n).map(|i| Leaf { i }.into()).collect()
}

/// Node `i` of layer `layer`: requires two nodes of the layer below.
#[task(output = "layered/{width}/{layer}/{i}.json")]
fn node(
    layer: u32,
    i: u32,
    width: u32,
    #[requires(if layer == 0 { vec![] } else { vec![Node { layer: layer - 1, i, width }, Node { layer: layer - 1, i: (i + 1) % width, width }] })]
    below: Vec<u32>,
) -> Result<u32> {
    Ok(below.iter().sum::<u32>() % 1000 + 1)
}

/// The top layer of a `layers` x `width` lattice.
#[task(wrapper)]
fn layered(layers: u32, width: u32) -> Vec<AnyTask> {
    (0..width)
        .map(|i| {
            Node {
                layer: layers - 1,
                i,
                width,
            }
            .into()
        })
        .collect()
}

macro_rules! daily_families {
    ($($name:ident => $path:literal,)*) => {$(
        /// One of 100 daily families.
        #[task(output = $path)]
        fn $name(date: NaiveDate) -> Result<u8> {
            Ok(1)
        }
    )*};
}

daily_families! {
    d00 => "daily/D00/{date}.json",
    d01 => "daily/D01/{date}.json",
    d02 => "daily/D02/{date}.json",
    d03 => "daily/D03/{date}.json",
    d04 => "daily/D04/{date}.json",
    d05 => "daily/D05/{date}.json",
    d06 => "daily/D06/{date}.json",
    d07 => "daily/D07/{date}.json",
    d08 => "daily/D08/{date}.json",
    d09 => "daily/D09/{date}.json",
    d10 => "daily/D10/{date}.json",
    d11 => "daily/D11/{date}.json",
    d12 => "daily/D12/{date}.json",
    d13 => "daily/D13/{date}.json",
    d14 => "daily/D14/{date}.json",
    d15 => "daily/D15/{date}.json",
    d16 => "daily/D16/{date}.json",
    d17 => "daily/D17/{date}.json",
    d18 => "daily/D18/{date}.json",
    d19 => "daily/D19/{date}.json",
    d20 => "daily/D20/{date}.json",
    d21 => "daily/D21/{date}.json",
    d22 => "daily/D22/{date}.json",
    d23 => "daily/D23/{date}.json",
    d24 => "daily/D24/{date}.json",
    d25 => "daily/D25/{date}.json",
    d26 => "daily/D26/{date}.json",
    d27 => "daily/D27/{date}.json",
    d28 => "daily/D28/{date}.json",
    d29 => "daily/D29/{date}.json",
    d30 => "daily/D30/{date}.json",
    d31 => "daily/D31/{date}.json",
    d32 => "daily/D32/{date}.json",
    d33 => "daily/D33/{date}.json",
    d34 => "daily/D34/{date}.json",
    d35 => "daily/D35/{date}.json",
    d36 => "daily/D36/{date}.json",
    d37 => "daily/D37/{date}.json",
    d38 => "daily/D38/{date}.json",
    d39 => "daily/D39/{date}.json",
    d40 => "daily/D40/{date}.json",
    d41 => "daily/D41/{date}.json",
    d42 => "daily/D42/{date}.json",
    d43 => "daily/D43/{date}.json",
    d44 => "daily/D44/{date}.json",
    d45 => "daily/D45/{date}.json",
    d46 => "daily/D46/{date}.json",
    d47 => "daily/D47/{date}.json",
    d48 => "daily/D48/{date}.json",
    d49 => "daily/D49/{date}.json",
    d50 => "daily/D50/{date}.json",
    d51 => "daily/D51/{date}.json",
    d52 => "daily/D52/{date}.json",
    d53 => "daily/D53/{date}.json",
    d54 => "daily/D54/{date}.json",
    d55 => "daily/D55/{date}.json",
    d56 => "daily/D56/{date}.json",
    d57 => "daily/D57/{date}.json",
    d58 => "daily/D58/{date}.json",
    d59 => "daily/D59/{date}.json",
    d60 => "daily/D60/{date}.json",
    d61 => "daily/D61/{date}.json",
    d62 => "daily/D62/{date}.json",
    d63 => "daily/D63/{date}.json",
    d64 => "daily/D64/{date}.json",
    d65 => "daily/D65/{date}.json",
    d66 => "daily/D66/{date}.json",
    d67 => "daily/D67/{date}.json",
    d68 => "daily/D68/{date}.json",
    d69 => "daily/D69/{date}.json",
    d70 => "daily/D70/{date}.json",
    d71 => "daily/D71/{date}.json",
    d72 => "daily/D72/{date}.json",
    d73 => "daily/D73/{date}.json",
    d74 => "daily/D74/{date}.json",
    d75 => "daily/D75/{date}.json",
    d76 => "daily/D76/{date}.json",
    d77 => "daily/D77/{date}.json",
    d78 => "daily/D78/{date}.json",
    d79 => "daily/D79/{date}.json",
    d80 => "daily/D80/{date}.json",
    d81 => "daily/D81/{date}.json",
    d82 => "daily/D82/{date}.json",
    d83 => "daily/D83/{date}.json",
    d84 => "daily/D84/{date}.json",
    d85 => "daily/D85/{date}.json",
    d86 => "daily/D86/{date}.json",
    d87 => "daily/D87/{date}.json",
    d88 => "daily/D88/{date}.json",
    d89 => "daily/D89/{date}.json",
    d90 => "daily/D90/{date}.json",
    d91 => "daily/D91/{date}.json",
    d92 => "daily/D92/{date}.json",
    d93 => "daily/D93/{date}.json",
    d94 => "daily/D94/{date}.json",
    d95 => "daily/D95/{date}.json",
    d96 => "daily/D96/{date}.json",
    d97 => "daily/D97/{date}.json",
    d98 => "daily/D98/{date}.json",
    d99 => "daily/D99/{date}.json",
}

/// All 100 daily families of one day.
#[task(wrapper)]
fn all_daily(date: NaiveDate) -> Vec<AnyTask> {
    kart_core::tasks![
        D00 { date },
        D01 { date },
        D02 { date },
        D03 { date },
        D04 { date },
        D05 { date },
        D06 { date },
        D07 { date },
        D08 { date },
        D09 { date },
        D10 { date },
        D11 { date },
        D12 { date },
        D13 { date },
        D14 { date },
        D15 { date },
        D16 { date },
        D17 { date },
        D18 { date },
        D19 { date },
        D20 { date },
        D21 { date },
        D22 { date },
        D23 { date },
        D24 { date },
        D25 { date },
        D26 { date },
        D27 { date },
        D28 { date },
        D29 { date },
        D30 { date },
        D31 { date },
        D32 { date },
        D33 { date },
        D34 { date },
        D35 { date },
        D36 { date },
        D37 { date },
        D38 { date },
        D39 { date },
        D40 { date },
        D41 { date },
        D42 { date },
        D43 { date },
        D44 { date },
        D45 { date },
        D46 { date },
        D47 { date },
        D48 { date },
        D49 { date },
        D50 { date },
        D51 { date },
        D52 { date },
        D53 { date },
        D54 { date },
        D55 { date },
        D56 { date },
        D57 { date },
        D58 { date },
        D59 { date },
        D60 { date },
        D61 { date },
        D62 { date },
        D63 { date },
        D64 { date },
        D65 { date },
        D66 { date },
        D67 { date },
        D68 { date },
        D69 { date },
        D70 { date },
        D71 { date },
        D72 { date },
        D73 { date },
        D74 { date },
        D75 { date },
        D76 { date },
        D77 { date },
        D78 { date },
        D79 { date },
        D80 { date },
        D81 { date },
        D82 { date },
        D83 { date },
        D84 { date },
        D85 { date },
        D86 { date },
        D87 { date },
        D88 { date },
        D89 { date },
        D90 { date },
        D91 { date },
        D92 { date },
        D93 { date },
        D94 { date },
        D95 { date },
        D96 { date },
        D97 { date },
        D98 { date },
        D99 { date }
    ]
}

fn main() -> std::process::ExitCode {
    kart_cli::main()
}
