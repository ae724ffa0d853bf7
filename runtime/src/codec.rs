//! JSON encoding and decoding of the generated types through shared code.
//!
//! A generated object reads its members from a JSON object ([`Members`]) and writes them into
//! one ([`MembersOut`]); its `Serialize`/`Deserialize` impls are one line each
//! ([`json_object!`](crate::json_object)). The per-type code is therefore not generic over serde's
//! serializers and deserializers, and the generic helpers here are instantiated once per member
//! *type* (`i32`, `Option<String>`, …) for the whole crate rather than once per field: this is
//! what keeps the generated crate's build time flat as the spec grows. Decoding is lenient in
//! the same way as [`crate::lenient`] (numbers sent as strings, `null` lists).

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::lenient::separated::SeparatedList;
use crate::lenient::{AsWireString, IntEnum, Lenient, StrEnum};

/// Why a JSON value did not decode, with the member path where it happened (`department[1].id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Path segments, innermost first (reversed on display).
    path: Vec<String>,
    message: String,
}

impl DecodeError {
    /// An error at the current value.
    pub fn new(message: impl Into<String>) -> Self {
        DecodeError {
            path: Vec::new(),
            message: message.into(),
        }
    }

    fn at_index(self, index: usize) -> Self {
        self.within(format!("[{index}]"))
    }

    fn within(mut self, segment: String) -> Self {
        self.path.push(segment);
        self
    }

    /// The path of the member that failed (`""` for the value itself).
    pub fn path(&self) -> String {
        let mut out = String::new();
        for segment in self.path.iter().rev() {
            if !segment.starts_with('[') && !out.is_empty() {
                out.push('.');
            }
            out.push_str(segment);
        }
        out
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path() {
            path if path.is_empty() => f.write_str(&self.message),
            path => write!(f, "`{path}`: {}", self.message),
        }
    }
}

impl std::error::Error for DecodeError {}

/// What decoding answers.
pub type Decoded<T> = Result<T, DecodeError>;

/// A type read from a JSON value (owned, so strings move instead of being copied).
pub trait FromJson: Sized {
    /// Decodes `value`, accepting the lenient forms.
    fn from_json(value: Value) -> Result<Self, DecodeError>;
}

/// A type written as a JSON value.
pub trait ToJson {
    /// The value sent on the wire.
    fn to_json(&self) -> Value;
}

/// Primitives decode through their lenient visitors (`"1"` for 1, `"true"` for true).
macro_rules! primitive {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(value: Value) -> Result<Self, DecodeError> {
                <$t as Lenient>::deserialize_lenient(value).map_err(|e| DecodeError::new(e.to_string()))
            }
        }

        impl ToJson for $t {
            fn to_json(&self) -> Value {
                Value::from(self.clone())
            }
        }
    )*};
}
primitive!(bool, i32, i64, u32, u64, String);

impl FromJson for Value {
    fn from_json(value: Value) -> Result<Self, DecodeError> {
        Ok(value)
    }
}

impl ToJson for Value {
    fn to_json(&self) -> Value {
        self.clone()
    }
}

impl FromJson for crate::LocalDateTime {
    fn from_json(value: Value) -> Result<Self, DecodeError> {
        <Self as serde::Deserialize>::deserialize(value).map_err(|e| DecodeError::new(e.to_string()))
    }
}

impl ToJson for crate::LocalDateTime {
    fn to_json(&self) -> Value {
        Value::String(self.to_string())
    }
}

/// `null` decodes as `None`.
impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::Null => Ok(None),
            other => T::from_json(other).map(Some),
        }
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToJson::to_json)
    }
}

/// `null` decodes as an empty list (the seeds answer `"errorData": null`).
impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => {
                // A plain loop: iterator adapters would be instantiated again for every `T`.
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    match T::from_json(item) {
                        Ok(decoded) => out.push(decoded),
                        Err(e) => return Err(e.at_index(i)),
                    }
                }
                Ok(out)
            }
            other => Err(DecodeError::new(format!("expected an array, got {}", kind_of(&other)))),
        }
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> Value {
        let mut items = Vec::with_capacity(self.len());
        for item in self {
            items.push(item.to_json());
        }
        Value::Array(items)
    }
}

/// What kind of JSON value this is, for messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The members of a JSON object being read into a generated struct; what no field takes is
/// left for the struct's `extra`.
///
/// Reads do not fail one by one: the first error is kept and [`finish`](Self::finish) answers
/// it. A generated `from_json` is then a straight line of reads and one check, instead of an
/// early return (and its drops) per field, which is most of what it costs to compile.
pub struct Members {
    map: Map<String, Value>,
    error: Option<DecodeError>,
}

impl Members {
    /// The members of `value`, which must be an object (`type_name` is for the message).
    pub fn of(value: Value, type_name: &str) -> Decoded<Self> {
        match value {
            Value::Object(map) => Ok(Members { map, error: None }),
            other => Err(DecodeError::new(format!(
                "expected an object ({type_name}), got {}",
                kind_of(&other)
            ))),
        }
    }

    fn take(&mut self, wire: &str) -> Option<Value> {
        self.map.shift_remove(wire)
    }

    fn keep<T>(&mut self, wire: &str, decoded: Decoded<T>) -> Option<T> {
        match decoded {
            Ok(value) => Some(value),
            Err(e) => {
                self.record(e.within(wire.to_owned()));
                None
            }
        }
    }

    /// Keeps the first error (not generic, so written once).
    fn record(&mut self, e: DecodeError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// A member that must be present; `None` when it is absent or does not decode (the error
    /// is kept for [`finish`](Self::finish)).
    pub fn required<T: FromJson>(&mut self, wire: &str) -> Option<T> {
        match self.take(wire) {
            Some(value) => {
                let decoded = T::from_json(value);
                self.keep(wire, decoded)
            }
            None => {
                self.record(DecodeError::new(format!("missing member `{wire}`")));
                None
            }
        }
    }

    /// A member that may be absent or `null` (`None`).
    pub fn optional<T: FromJson>(&mut self, wire: &str) -> Option<T> {
        let value = self.take(wire)?;
        let decoded = Option::<T>::from_json(value);
        self.keep(wire, decoded).flatten()
    }

    /// A list member: absent or `null` is the empty list.
    pub fn list<T: FromJson>(&mut self, wire: &str) -> Vec<T> {
        let Some(value) = self.take(wire) else {
            return Vec::new();
        };
        let decoded = Vec::<T>::from_json(value);
        self.keep(wire, decoded).unwrap_or_default()
    }

    /// A list sent as one `separator`-separated string (or an array); absent or `null` is
    /// unset (`None`, or the empty list for a required list).
    pub fn separated<T: SeparatedList>(&mut self, wire: &str, separator: char) -> T {
        let items = match self.take(wire) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(
                text.split(separator)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            Some(other @ Value::Array(_)) => {
                let decoded = Vec::<String>::from_json(other);
                self.keep(wire, decoded)
            }
            Some(other) => {
                let message = format!(
                    "expected a `{separator}`-separated string or an array of strings, got {}",
                    kind_of(&other)
                );
                self.keep(wire, Err::<Vec<String>, _>(DecodeError::new(message)))
            }
        };
        T::from_items(items)
    }

    /// The members no field took, in the order sent; or the first member that did not decode.
    pub fn finish(self) -> Decoded<Map<String, Value>> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.map),
        }
    }

    /// What to answer if a required member is missing after [`finish`](Self::finish) said all
    /// is well (it cannot happen: a missing member is an error).
    pub fn incomplete(type_name: &str) -> DecodeError {
        DecodeError::new(format!("{type_name}: a required member did not decode"))
    }
}

/// A JSON object being written from a generated struct, in field order.
#[derive(Default)]
pub struct MembersOut {
    map: Map<String, Value>,
}

impl MembersOut {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes a member.
    pub fn put<T: ToJson>(&mut self, wire: &str, value: &T) {
        self.map.insert(wire.to_owned(), value.to_json());
    }

    /// Writes a member when it is set.
    pub fn put_some<T: ToJson>(&mut self, wire: &str, value: &Option<T>) {
        if let Some(value) = value {
            self.put(wire, value);
        }
    }

    /// Writes a member as a JSON string (`"encoding": "string"`, or an answer the source shows
    /// with a string); skipped when unset.
    pub fn put_text<T: AsWireString>(&mut self, wire: &str, value: &T) {
        if let Some(text) = value.wire_string() {
            self.map.insert(wire.to_owned(), Value::String(text));
        }
    }

    /// Writes a list as one `separator`-separated string; skipped when unset.
    pub fn put_separated<T: SeparatedList>(&mut self, wire: &str, value: &T, separator: char) {
        if let Some(items) = value.items() {
            self.map
                .insert(wire.to_owned(), Value::String(items.join(&separator.to_string())));
        }
    }

    /// Writes the members a struct kept without modelling them.
    pub fn put_extra(&mut self, extra: &Map<String, Value>) {
        for (key, value) in extra {
            self.map.insert(key.clone(), value.clone());
        }
    }

    /// The object.
    pub fn finish(self) -> Value {
        Value::Object(self.map)
    }
}

/// `Deserialize` through [`FromJson`]: the value is read once, then typed by shared code.
pub fn deserialize<'de, D: serde::Deserializer<'de>, T: FromJson>(deserializer: D) -> Result<T, D::Error> {
    let value = <Value as serde::Deserialize>::deserialize(deserializer)?;
    T::from_json(value).map_err(serde::de::Error::custom)
}

/// `Serialize` through [`ToJson`].
pub fn serialize<S: serde::Serializer, T: ToJson>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&value.to_json(), serializer)
}

/// One way to decode a union: a variant's type, wrapped in the variant.
pub type VariantDecoder<T> = fn(Value) -> Decoded<T>;

/// Decodes a union: the first variant that fits, in the spec's order.
pub fn first_fit<T>(value: Value, type_name: &str, variants: &[VariantDecoder<T>]) -> Decoded<T> {
    for variant in variants {
        if let Ok(decoded) = variant(value.clone()) {
            return Ok(decoded);
        }
    }
    Err(DecodeError::new(format!("matches no variant of {type_name}")))
}

/// Any `serde` type as a member, for what the runtime defines with plain serde.
pub fn from_serde<T: DeserializeOwned>(value: Value) -> Result<T, DecodeError> {
    T::deserialize(value).map_err(|e| DecodeError::new(e.to_string()))
}

/// An integer enum read from a number or a numeric string.
pub fn int_enum<T: IntEnum>(value: Value) -> Result<T, DecodeError> {
    i64::from_json(value).map(T::from_wire)
}

/// A string enum read from a string (or a number, kept as text).
pub fn str_enum<T: StrEnum>(value: Value) -> Result<T, DecodeError> {
    String::from_json(value).map(T::from_wire)
}

/// `Serialize`, `Deserialize` (through [`FromJson`]/[`ToJson`]) and `Presence` for generated
/// object, union and view types.
#[macro_export]
#[doc(hidden)]
macro_rules! json_object {
    ($($name:ident),* $(,)?) => {$(
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                $crate::codec::serialize(self, serializer)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                $crate::codec::deserialize(deserializer)
            }
        }

        impl $crate::validate::Presence for $name {
            fn is_present(&self) -> bool {
                true
            }
        }
    )*};
}

/// Everything a generated enum needs beyond its variants and wire values: JSON, validation
/// text, presence. `int` enums have [`IntEnum`] wire values, `str` enums [`StrEnum`] ones.
#[macro_export]
#[doc(hidden)]
macro_rules! wire_enum {
    (int $name:ident) => {
        $crate::wire_enum!(@common $name, $crate::codec::int_enum, i64);
        impl $crate::codec::ToJson for $name {
            fn to_json(&self) -> ::serde_json::Value {
                ::serde_json::Value::from($crate::lenient::IntEnum::to_wire(self))
            }
        }
        impl $crate::validate::WireText for $name {
            fn wire_text(&self) -> String {
                $crate::lenient::IntEnum::to_wire(self).to_string()
            }
        }
    };
    (str $name:ident) => {
        $crate::wire_enum!(@common $name, $crate::codec::str_enum, String);
        impl $crate::codec::ToJson for $name {
            fn to_json(&self) -> ::serde_json::Value {
                ::serde_json::Value::from($crate::lenient::StrEnum::to_wire(self))
            }
        }
        impl $crate::validate::WireText for $name {
            fn wire_text(&self) -> String {
                $crate::lenient::StrEnum::to_wire(self).to_owned()
            }
        }
    };
    (@common $name:ident, $decode:path, $raw:ty) => {
        impl $crate::codec::FromJson for $name {
            fn from_json(value: ::serde_json::Value) -> ::std::result::Result<Self, $crate::codec::DecodeError> {
                $decode(value)
            }
        }
        impl $crate::lenient::Lenient for $name {
            fn deserialize_lenient<'de, D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                $crate::codec::deserialize(deserializer)
            }
        }
        $crate::json_object!($name);
    };
}
