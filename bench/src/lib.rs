//! What the output benchmarks write, shared by kart's tasks (`src/main.rs`) and the floor
//! they are measured against (`src/bin/output_floor.rs`), so both write the same bytes.

use std::sync::Arc;

use kart_core::arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
use kart_core::arrow_schema::{DataType, Field, Schema};

/// One MiB of a repeating byte pattern.
pub fn block() -> Vec<u8> {
    (0..=255u8).cycle().take(1 << 20).collect()
}

/// `rows` rows of (id, name, score) in batches of 65 536.
pub fn table(rows: u32) -> Vec<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("score", DataType::Float64, false),
    ]));
    (0..rows)
        .step_by(1 << 16)
        .map(|start| {
            let ids: Vec<i64> = (start..rows.min(start + (1 << 16)))
                .map(i64::from)
                .collect();
            let names: Vec<String> = ids.iter().map(|i| format!("name {}", i % 1000)).collect();
            let scores: Vec<f64> = ids.iter().map(|i| *i as f64 / 7.0).collect();
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(StringArray::from(names)),
                    Arc::new(Float64Array::from(scores)),
                ],
            )
            .expect("columns match the schema")
        })
        .collect()
}
