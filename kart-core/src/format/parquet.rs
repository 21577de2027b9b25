//! Parquet: Arrow record batches through the `parquet` crate (feature `parquet`).

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;

use super::Format;
use crate::error::BoxError;

/// Parquet: `Vec<RecordBatch>` (one schema), loaded back as record batches with the same
/// schema and rows (the reader may split them into batches differently). Build batches
/// with the re-exported `kart_core::arrow_array` and `kart_core::arrow_schema`.
pub struct Parquet;

impl Format<Vec<RecordBatch>> for Parquet {
    const EXTENSION: &'static str = "parquet";
    fn write(
        batches: &Vec<RecordBatch>,
        out: &mut (dyn std::io::Write + Send),
    ) -> Result<(), BoxError> {
        let Some(first) = batches.first() else {
            return Err("a Parquet output needs at least one record batch, for its schema".into());
        };
        let mut writer = ArrowWriter::try_new(out, first.schema(), None)?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.close()?;
        Ok(())
    }
    fn read(bytes: Vec<u8>) -> Result<Vec<RecordBatch>, BoxError> {
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))?.build()?;
        Ok(reader.collect::<Result<_, _>>()?)
    }
    /// Rows as objects keyed by column name.
    fn to_json(bytes: Vec<u8>) -> Option<Result<serde_json::Value, BoxError>> {
        let rows = || -> Result<serde_json::Value, BoxError> {
            let batches = <Parquet as Format<Vec<RecordBatch>>>::read(bytes)?;
            let mut writer = arrow_json::ArrayWriter::new(Vec::new());
            for batch in &batches {
                writer.write(batch)?;
            }
            writer.finish()?;
            let text = writer.into_inner();
            if text.is_empty() {
                return Ok(serde_json::Value::Array(Vec::new()));
            }
            Ok(serde_json::from_slice(&text)?)
        };
        Some(rows())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn batches_round_trip_with_their_schema() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("region", DataType::Utf8, false),
            Field::new("total", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["north", "south"])),
                Arc::new(Int64Array::from(vec![Some(3), None])),
            ],
        )
        .unwrap();
        let bytes = super::super::encode::<_, Parquet>(&vec![batch.clone()]).unwrap();
        let back = <Parquet as Format<Vec<RecordBatch>>>::read(bytes.clone()).unwrap();
        assert_eq!(back, vec![batch]);
        assert_eq!(back[0].schema(), schema);
        let shown = <Parquet as Format<Vec<RecordBatch>>>::to_json(bytes)
            .unwrap()
            .unwrap();
        assert_eq!(
            shown,
            serde_json::json!([{"region": "north", "total": 3}, {"region": "south"}])
        );
    }
}
