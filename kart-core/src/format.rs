//! How an output is serialized: JSON or MessagePack.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// How an output is serialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Pretty JSON (the default): readable, diffable.
    Json,
    /// MessagePack: compact binary, self-describing.
    MessagePack,
}

impl Format {
    /// File extension used in default output paths.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::MessagePack => "msgpack",
        }
    }

    /// Serializes a value.
    pub fn encode<T: Serialize>(self, value: &T) -> std::result::Result<Vec<u8>, String> {
        match self {
            Format::Json => {
                let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
                bytes.push(b'\n');
                Ok(bytes)
            }
            Format::MessagePack => rmp_serde::to_vec_named(value).map_err(|e| e.to_string()),
        }
    }

    /// Deserializes a value; the error says what is wrong with the bytes.
    pub fn decode<T: DeserializeOwned>(self, bytes: &[u8]) -> std::result::Result<T, String> {
        match self {
            Format::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
            Format::MessagePack => rmp_serde::from_slice(bytes).map_err(|e| e.to_string()),
        }
    }
}
