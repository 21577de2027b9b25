//! [`Param`] for numbers, `bool`, strings, JSON values and maps, lists and options.

use serde_json::Value;

use super::{Param, ParamKind};

macro_rules! int_params {
    ($($ty:ty),*) => {$(
        impl Param for $ty {
            fn type_name() -> String {
                stringify!($ty).to_string()
            }
            fn parse_param(s: &str) -> Result<Self, String> {
                s.trim().parse::<$ty>().map_err(|e| e.to_string())
            }
            fn from_json(v: &Value) -> Result<Self, String> {
                match v {
                    Value::Number(n) => n
                        .to_string()
                        .parse::<$ty>()
                        .map_err(|e| e.to_string()),
                    Value::String(s) => Self::parse_param(s),
                    other => Err(format!("expected an integer, found {other}")),
                }
            }
            fn to_json(&self) -> Value {
                Value::from(*self)
            }
        }
    )*};
}
int_params!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

macro_rules! float_params {
    ($($ty:ty),*) => {$(
        impl Param for $ty {
            fn type_name() -> String {
                stringify!($ty).to_string()
            }
            fn parse_param(s: &str) -> Result<Self, String> {
                s.trim().parse::<$ty>().map_err(|e| e.to_string())
            }
            fn from_json(v: &Value) -> Result<Self, String> {
                match v {
                    Value::Number(n) => n.as_f64().map(|f| f as $ty).ok_or_else(|| format!("{n} is not a float")),
                    Value::String(s) => Self::parse_param(s),
                    other => Err(format!("expected a number, found {other}")),
                }
            }
            fn to_json(&self) -> Value {
                // JSON has no NaN or infinity; their text form keeps the id well defined.
                serde_json::Number::from_f64(f64::from(*self))
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(self.to_string()))
            }
        }
    )*};
}
float_params!(f32, f64);

impl Param for bool {
    fn type_name() -> String {
        "bool".into()
    }
    fn kind() -> ParamKind {
        ParamKind::Bool
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err("expected true or false".into()),
        }
    }
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Bool(b) => Ok(*b),
            Value::String(s) => Self::parse_param(s),
            other => Err(format!("expected true or false, found {other}")),
        }
    }
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
}

impl Param for String {
    fn type_name() -> String {
        "string".into()
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        Ok(s.to_string())
    }
    fn to_json(&self) -> Value {
        Value::String(self.clone())
    }
}

impl Param for serde_json::Map<String, Value> {
    fn type_name() -> String {
        "JSON object".into()
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        serde_json::from_str(s).map_err(|e| format!("expected a JSON object: {e}"))
    }
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Object(m) => Ok(m.clone()),
            Value::String(s) => Self::parse_param(s),
            other => Err(format!("expected a JSON object, found {other}")),
        }
    }
    fn to_json(&self) -> Value {
        // serde_json's Map keeps keys sorted, so equal maps hash equally.
        Value::Object(self.clone())
    }
}

impl Param for Value {
    fn type_name() -> String {
        "JSON value".into()
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        serde_json::from_str(s).or_else(|_| Ok(Value::String(s.to_string())))
    }
    fn from_json(v: &Value) -> Result<Self, String> {
        Ok(v.clone())
    }
    fn to_json(&self) -> Value {
        self.clone()
    }
}

impl<T: Param> Param for Vec<T> {
    fn type_name() -> String {
        format!("list of {} (JSON array or comma-separated)", T::type_name())
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.starts_with('[') {
            let v: Value =
                serde_json::from_str(s).map_err(|e| format!("expected a JSON array: {e}"))?;
            return Self::from_json(&v);
        }
        if s.is_empty() {
            return Ok(Vec::new());
        }
        s.split(',')
            .map(|item| T::parse_param(item.trim()))
            .collect()
    }
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Array(items) => items.iter().map(T::from_json).collect(),
            Value::String(s) => Self::parse_param(s),
            other => Err(format!("expected a list, found {other}")),
        }
    }
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(T::to_json).collect())
    }
    fn to_param_string(&self) -> String {
        self.to_json().to_string()
    }
}

impl<T: Param> Param for Option<T> {
    fn type_name() -> String {
        format!("optional {}", T::type_name())
    }
    fn kind() -> ParamKind {
        T::kind()
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            Ok(None)
        } else {
            T::parse_param(s).map(Some)
        }
    }
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            other => T::from_json(other).map(Some),
        }
    }
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_json)
    }
    fn to_param_string(&self) -> String {
        self.as_ref().map_or_else(String::new, T::to_param_string)
    }
    fn format_path(&self, spec: Option<&str>) -> Result<String, String> {
        match self {
            Some(v) => v.format_path(spec),
            None => Ok("none".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_accept_json_and_commas() {
        assert_eq!(Vec::<i32>::parse_param("[1, 2]").unwrap(), vec![1, 2]);
        assert_eq!(Vec::<i32>::parse_param("1,2").unwrap(), vec![1, 2]);
        assert!(Vec::<i32>::parse_param("1,x").is_err());
    }
}
