//! CSV: a `Vec` of serde rows, with a header row, through the `csv` crate.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::Format;
use crate::error::BoxError;

/// CSV with a header row: `Vec<T>` where `T` is a serde struct (or tuple) of plain fields,
/// loaded back as `Vec<T>`.
pub struct Csv;

impl<T: Serialize + DeserializeOwned> Format<Vec<T>> for Csv {
    const EXTENSION: &'static str = "csv";
    fn write(rows: &Vec<T>, out: &mut (dyn std::io::Write + Send)) -> Result<(), BoxError> {
        let mut writer = csv::Writer::from_writer(out);
        for row in rows {
            writer.serialize(row)?;
        }
        writer.flush()?;
        Ok(())
    }
    fn read(bytes: Vec<u8>) -> Result<Vec<T>, BoxError> {
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        Ok(reader.deserialize().collect::<Result<_, _>>()?)
    }
    /// Each row an object keyed by the header.
    fn to_json(bytes: Vec<u8>) -> Option<Result<serde_json::Value, BoxError>> {
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let rows = reader
            .deserialize::<serde_json::Map<String, serde_json::Value>>()
            .map(|row| row.map(serde_json::Value::Object))
            .collect::<Result<Vec<_>, _>>();
        Some(rows.map(serde_json::Value::Array).map_err(Into::into))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Row {
        region: String,
        total: u64,
    }

    #[test]
    fn rows_round_trip_with_a_header() {
        let rows = vec![
            Row {
                region: "north".into(),
                total: 3,
            },
            Row {
                region: "south, far".into(),
                total: 4,
            },
        ];
        let bytes = super::super::encode::<_, Csv>(&rows).unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "region,total\nnorth,3\n\"south, far\",4\n"
        );
        assert_eq!(
            <Csv as Format<Vec<Row>>>::read(bytes.clone()).unwrap(),
            rows
        );
        let shown = <Csv as Format<Vec<Row>>>::to_json(bytes).unwrap().unwrap();
        assert_eq!(shown[1]["region"], "south, far");
    }
}
