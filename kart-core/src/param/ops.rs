//! What generated code reaches a parameter type through, and [`param_from_str!`](crate::param_from_str).

use std::fmt;

use serde_json::Value;

use super::{Param, ParamKind};

/// Makes a type implementing `FromStr` and `Display` (typically a fieldless enum) usable as a
/// task parameter. Its canonical form is its `Display` text.
///
/// ```
/// #[derive(Clone, Debug, PartialEq)]
/// enum Region { Eu, Us }
/// impl std::str::FromStr for Region {
///     type Err = String;
///     fn from_str(s: &str) -> Result<Self, String> {
///         match s { "eu" => Ok(Region::Eu), "us" => Ok(Region::Us), _ => Err(format!("unknown region {s}")) }
///     }
/// }
/// impl std::fmt::Display for Region {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str(match self { Region::Eu => "eu", Region::Us => "us" })
///     }
/// }
/// kart_core::param_from_str!(Region);
///
/// use kart_core::Param;
/// assert_eq!(Region::parse_param("us").unwrap(), Region::Us);
/// ```
#[macro_export]
macro_rules! param_from_str {
    ($ty:ty) => {
        impl $crate::Param for $ty {
            fn type_name() -> ::std::string::String {
                ::std::string::String::from(::core::stringify!($ty))
            }
            fn parse_param(s: &str) -> ::core::result::Result<Self, ::std::string::String> {
                <$ty as ::core::str::FromStr>::from_str(s)
                    .map_err(|e| ::std::string::ToString::to_string(&e))
            }
            fn to_json(&self) -> $crate::__private::serde_json::Value {
                $crate::__private::serde_json::Value::String(::std::string::ToString::to_string(
                    self,
                ))
            }
        }
    };
}

/// A parameter type's operations as plain function pointers. Generated code reaches every
/// parameter operation through [`ops`], so a type that is not a [`Param`] gives one error at
/// the argument's type instead of one per use.
#[doc(hidden)]
pub struct ParamOps<T> {
    pub clone: fn(&T) -> T,
    pub eq: fn(&T, &T) -> bool,
    pub debug: fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result,
    pub to_json: fn(&T) -> Value,
    pub from_json: fn(&Value) -> Result<T, String>,
    pub parse: fn(&str) -> Result<T, String>,
    pub to_param_string: fn(&T) -> String,
    pub write_path: fn(&T, Option<&str>, &mut String) -> Result<(), String>,
    pub type_name: fn() -> String,
    pub kind: fn() -> ParamKind,
}

impl<T> Clone for ParamOps<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ParamOps<T> {}

#[doc(hidden)]
pub const fn ops<T: Param>() -> ParamOps<T> {
    ParamOps {
        clone: <T as Clone>::clone,
        eq: <T as PartialEq>::eq,
        debug: <T as fmt::Debug>::fmt,
        to_json: T::to_json,
        from_json: T::from_json,
        parse: T::parse_param,
        to_param_string: T::to_param_string,
        write_path: T::write_path,
        type_name: T::type_name,
        kind: T::kind,
    }
}

/// Formats a value with a given `Debug` function.
#[doc(hidden)]
pub struct DebugWith<'a, T>(
    pub &'a T,
    pub fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result,
);

impl<T> fmt::Debug for DebugWith<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.1)(self.0, f)
    }
}
