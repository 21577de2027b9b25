//! How a value output is stored: the [`Format`] trait, kart's formats — [`Json`] (the
//! default), [`MessagePack`], [`Csv`] and, with the `parquet` feature, `Parquet` — and the
//! place for your own.

mod csv;
#[cfg(feature = "parquet")]
mod parquet;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use self::csv::Csv;
#[cfg(feature = "parquet")]
pub use self::parquet::Parquet;
use crate::error::BoxError;

/// How values of type `T` become an output's bytes and back. Choose one with
/// `#[task(format = "json" | "msgpack" | "csv" | "parquet")]`, or implement it and write
/// `#[task(format = path::to::MyFormat)]`:
///
/// ```
/// /// Lines of text, one value per line.
/// pub struct Lines;
///
/// impl kart_core::Format<Vec<String>> for Lines {
///     const EXTENSION: &'static str = "txt";
///     fn write(value: &Vec<String>, out: &mut (dyn std::io::Write + Send)) -> Result<(), kart_core::BoxError> {
///         for line in value {
///             writeln!(out, "{line}")?;
///         }
///         Ok(())
///     }
///     fn read(bytes: Vec<u8>) -> Result<Vec<String>, kart_core::BoxError> {
///         Ok(String::from_utf8(bytes)?.lines().map(str::to_string).collect())
///     }
/// }
///
/// #[kart_core::task(format = Lines)]
/// fn names(n: u32) -> kart_core::Result<Vec<String>> {
///     Ok((0..n).map(|i| format!("name {i}")).collect())
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a kart output format for `{T}`",
    label = "this format cannot store `{T}`",
    note = "a format implements `kart_core::Format<{T}>`; kart's own: \"json\" and \"msgpack\" (any serde type), \"csv\" (`Vec<T>` of serde rows), \"parquet\" (`Vec<RecordBatch>`, with kart-core's `parquet` feature)"
)]
pub trait Format<T>: 'static {
    /// The extension of the task's default output path (`json`).
    const EXTENSION: &'static str;
    /// Writes `value` out whole.
    fn write(value: &T, out: &mut (dyn std::io::Write + Send)) -> Result<(), BoxError>;
    /// Reads a value back from an output's bytes.
    fn read(bytes: Vec<u8>) -> Result<T, BoxError>;
    /// The output as JSON, for `<bin> show`; `None` (the default) shows its path and size.
    fn to_json(bytes: Vec<u8>) -> Option<Result<serde_json::Value, BoxError>> {
        let _ = bytes;
        None
    }
}

/// Pretty JSON (the default): readable, diffable.
pub struct Json;

impl<T: Serialize + DeserializeOwned> Format<T> for Json {
    const EXTENSION: &'static str = "json";
    fn write(value: &T, out: &mut (dyn std::io::Write + Send)) -> Result<(), BoxError> {
        serde_json::to_writer_pretty(&mut *out, value)?;
        out.write_all(b"\n")?;
        Ok(())
    }
    fn read(bytes: Vec<u8>) -> Result<T, BoxError> {
        Ok(serde_json::from_slice(&bytes)?)
    }
    fn to_json(bytes: Vec<u8>) -> Option<Result<serde_json::Value, BoxError>> {
        Some(serde_json::from_slice(&bytes).map_err(Into::into))
    }
}

/// MessagePack: compact binary, self-describing.
pub struct MessagePack;

impl<T: Serialize + DeserializeOwned> Format<T> for MessagePack {
    const EXTENSION: &'static str = "msgpack";
    fn write(value: &T, out: &mut (dyn std::io::Write + Send)) -> Result<(), BoxError> {
        rmp_serde::encode::write_named(&mut &mut *out, value)?;
        Ok(())
    }
    fn read(bytes: Vec<u8>) -> Result<T, BoxError> {
        Ok(rmp_serde::from_slice(&bytes)?)
    }
    fn to_json(bytes: Vec<u8>) -> Option<Result<serde_json::Value, BoxError>> {
        Some(rmp_serde::from_slice(&bytes).map_err(Into::into))
    }
}

/// A value's bytes in format `F`, for the formats' tests.
#[cfg(test)]
pub(crate) fn encode<T, F: Format<T>>(value: &T) -> Result<Vec<u8>, BoxError> {
    let mut bytes = Vec::new();
    F::write(value, &mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_msgpack_round_trip_and_show_as_json() {
        let value = vec![("a".to_string(), 1u32)];
        let json = encode::<_, Json>(&value).unwrap();
        assert_eq!(
            <Json as Format<Vec<(String, u32)>>>::read(json.clone()).unwrap(),
            value
        );
        let packed = encode::<_, MessagePack>(&value).unwrap();
        assert_eq!(
            <MessagePack as Format<Vec<(String, u32)>>>::read(packed.clone()).unwrap(),
            value
        );
        let shown = <MessagePack as Format<Vec<(String, u32)>>>::to_json(packed)
            .unwrap()
            .unwrap();
        assert_eq!(shown, serde_json::json!([["a", 1]]));
    }
}
