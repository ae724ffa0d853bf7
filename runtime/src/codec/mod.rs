//! JSON encoding and decoding of the generated types through shared code.
//!
//! A generated object reads its members through a [`ValueReader`] and writes them into a
//! [`MembersOut`]; its `Serialize`/`Deserialize` impls are one line each
//! ([`json_object!`](crate::json_object)). The per-type code is therefore not generic over serde's
//! serializers and deserializers, and nothing here is instantiated per field: this is what keeps
//! the generated crate's build time flat as the spec grows. Decoding is lenient in the same way
//! as [`crate::lenient`] (numbers sent as strings, `null` lists).
//!
//! One reader (the `read` module) reads an answer in one pass over its text, each member
//! parsed straight into its field as it comes, with no `Value` tree and no member split off and
//! parsed again; it tracks the member path, so a failure names where it happened
//! (`department[1].id`). Only members the spec does not model become `Value`s, in `extra`.

use std::fmt;

pub use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::lenient::separated::SeparatedList;
use crate::lenient::{IntEnum, StrEnum};

/// A reader's reads of primitives or `null`, each through its `lenient_or_null` method.
macro_rules! lenient_or_null_primitives {
    () => {
        lenient_or_null_primitives!(
            bool_or_null: bool,
            i32_or_null: i32,
            i64_or_null: i64,
            u32_or_null: u32,
            u64_or_null: u64,
            string_or_null: String
        );
    };
    ($($read:ident: $t:ty),*) => {$(
        fn $read(&mut self) -> Decoded<Option<$t>> {
            self.lenient_or_null()
        }
    )*};
}

/// A reader's primitive reads, each through its `lenient` method.
macro_rules! lenient_primitives {
    () => {
        lenient_primitives!(bool: bool, i32: i32, i64: i64, u32: u32, u64: u64, string: String);
    };
    ($($read:ident: $t:ty),*) => {$(
        fn $read(&mut self) -> Decoded<$t> {
            self.lenient()
        }
    )*};
}

mod read;
mod write;

pub(crate) use read::{read_flat, read_text, read_wrapped, scan_object};
pub use write::{to_text, JsonOut, MembersOut};

/// Why a JSON value did not decode, with the member path where it happened (`department[1].id`).
///
/// Boxed: every read answers a `Result` of it, and a small error keeps the success path's
/// values small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(Box<Failure>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    /// Path segments, innermost first (reversed on display).
    path: Vec<String>,
    message: String,
}

impl DecodeError {
    /// An error at the current value.
    #[cold]
    pub fn new(message: impl Into<String>) -> Self {
        DecodeError(Box::new(Failure {
            path: Vec::new(),
            message: message.into(),
        }))
    }

    /// A required member `wire` is missing.
    #[cold]
    pub fn missing(wire: &str) -> Self {
        DecodeError::new(format!("missing member `{wire}`"))
    }

    pub(crate) fn at_index(self, index: usize) -> Self {
        self.within(format!("[{index}]"))
    }

    fn within(mut self, segment: String) -> Self {
        self.0.path.push(segment);
        self
    }

    /// The error without the values it met (for errors that must not show a message's
    /// content, like a callback's): where it happened, and which member is missing.
    pub fn redacted(&self) -> String {
        if self.0.message.starts_with("missing member") {
            return self.to_string();
        }
        if self.0.message.starts_with("not XML") {
            // The markup's own error may quote the content.
            return "the message is not well-formed XML".into();
        }
        match self.path() {
            path if path.is_empty() => "the message is not what its event says".into(),
            path => format!("`{path}` is not what its event says"),
        }
    }

    /// The path of the member that failed (`""` for the value itself).
    pub fn path(&self) -> String {
        let mut out = String::new();
        for segment in self.0.path.iter().rev() {
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
            path if path.is_empty() => f.write_str(&self.0.message),
            path => write!(f, "`{path}`: {}", self.0.message),
        }
    }
}

impl std::error::Error for DecodeError {}

/// What decoding answers.
pub type Decoded<T> = Result<T, DecodeError>;

/// One JSON value being read. Each method reads it, once; a type's [`FromJson::read`] picks
/// the method that fits the type.
pub trait ValueReader {
    /// A boolean (or `"true"`/`"false"`).
    fn bool(&mut self) -> Decoded<bool>;
    /// An `i32` (or a string holding one).
    fn i32(&mut self) -> Decoded<i32>;
    /// An `i64` (or a string holding one).
    fn i64(&mut self) -> Decoded<i64>;
    /// A `u32` (or a string holding one).
    fn u32(&mut self) -> Decoded<u32>;
    /// A `u64` (or a string holding one).
    fn u64(&mut self) -> Decoded<u64>;
    /// A string (a number or boolean is kept as its text).
    fn string(&mut self) -> Decoded<String>;
    /// [`bool`](Self::bool) or `null`.
    fn bool_or_null(&mut self) -> Decoded<Option<bool>>;
    /// [`i32`](Self::i32) or `null`.
    fn i32_or_null(&mut self) -> Decoded<Option<i32>>;
    /// [`i64`](Self::i64) or `null`.
    fn i64_or_null(&mut self) -> Decoded<Option<i64>>;
    /// [`u32`](Self::u32) or `null`.
    fn u32_or_null(&mut self) -> Decoded<Option<u32>>;
    /// [`u64`](Self::u64) or `null`.
    fn u64_or_null(&mut self) -> Decoded<Option<u64>>;
    /// [`string`](Self::string) or `null`.
    fn string_or_null(&mut self) -> Decoded<Option<String>>;
    /// Any value, as a `Value`.
    fn value(&mut self) -> Decoded<Value>;
    /// The value's text, unparsed.
    fn raw(&mut self) -> Decoded<&RawValue>;
    /// An object of type `type_name` whose modelled members are `members`: member
    /// `members[i]` (its first occurrence) is read into `slots[i]`; the others are answered,
    /// in the order sent.
    fn object(&mut self, type_name: &str, members: &[&str], slots: &mut [&mut dyn Slot])
        -> Decoded<Map<String, Value>>;
    /// An array (`null` has no items): `each` reads each item.
    fn list(&mut self, each: &mut dyn FnMut(&mut dyn ValueReader) -> Decoded<()>) -> Decoded<()>;
    /// A value that may be `null`: `each` reads it unless it is.
    fn option(&mut self, each: &mut dyn FnMut(&mut dyn ValueReader) -> Decoded<()>) -> Decoded<()>;
    /// A list sent as one `separator`-separated string or as an array of strings; `None` for
    /// `null`.
    fn separated(&mut self, separator: char) -> Decoded<Option<Vec<String>>>;
}

/// A type read from JSON.
pub trait FromJson: Sized {
    /// Reads `value`, accepting the lenient forms.
    fn read(value: &mut dyn ValueReader) -> Decoded<Self>;

    /// Reads `value` or `null` (`None`): what `Option<Self>` reads.
    fn read_or_null(value: &mut dyn ValueReader) -> Decoded<Option<Self>> {
        let mut out = None;
        value.option(&mut |value| {
            out = Some(Self::read(value)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Decodes `raw`, with the precise member path of what does not fit.
    fn from_json(raw: &RawValue) -> Decoded<Self> {
        from_text(raw.get())
    }
}

/// Where a generated object's reader puts one member: its field's local, read as the field
/// reads (see [`Required`], [`Separated`]; an `Option` is an optional member, a `Vec` a list).
pub trait Slot {
    /// Reads `value` into the slot.
    fn read(&mut self, value: &mut dyn ValueReader) -> Decoded<()>;
}

/// An optional member: `null` is `None`.
impl<T: FromJson> Slot for Option<T> {
    fn read(&mut self, value: &mut dyn ValueReader) -> Decoded<()> {
        *self = T::read_or_null(value)?;
        Ok(())
    }
}

/// A list member: `null` is the empty list.
impl<T: FromJson> Slot for Vec<T> {
    fn read(&mut self, value: &mut dyn ValueReader) -> Decoded<()> {
        *self = <Vec<T> as FromJson>::read(value)?;
        Ok(())
    }
}

/// A required member (`null` does not do).
pub struct Required<'a, T>(pub &'a mut Option<T>);

impl<T> Required<'_, T> {
    /// The value read for required member `wire`; missing is an error.
    pub fn check(member: Option<T>, wire: &str) -> Decoded<T> {
        member.ok_or_else(|| DecodeError::missing(wire))
    }
}

impl<T: FromJson> Slot for Required<'_, T> {
    fn read(&mut self, value: &mut dyn ValueReader) -> Decoded<()> {
        *self.0 = Some(T::read(value)?);
        Ok(())
    }
}

/// A list member sent as one `separator`-separated string (or an array of strings).
pub struct Separated<'a, T>(pub &'a mut T, pub char);

impl<T: SeparatedList> Slot for Separated<'_, T> {
    fn read(&mut self, value: &mut dyn ValueReader) -> Decoded<()> {
        *self.0 = T::read_separated(value, self.1)?;
        Ok(())
    }
}

/// A type written as JSON.
pub trait ToJson {
    /// Writes the value's JSON text, as sent on the wire.
    fn write_json(&self, out: &mut JsonOut);

    /// The value as a `Value` tree (for reports and tables that hold values; a request's body
    /// is written with [`ToJson::write_json`]).
    fn to_json(&self) -> Value {
        // The writer writes valid JSON; `null` stands in should a bug ever make it not.
        let text = to_text(self);
        let parsed = serde_json::from_slice(&text);
        debug_assert!(parsed.is_ok(), "written JSON did not parse");
        parsed.unwrap_or(Value::Null)
    }
}

/// Primitives decode through their lenient visitors (`"1"` for 1, `"true"` for true).
macro_rules! primitive {
    ($($t:ident: $read:ident, $read_or_null:ident),*) => {$(
        impl FromJson for $t {
            fn read(value: &mut dyn ValueReader) -> Decoded<Self> {
                value.$read()
            }

            fn read_or_null(value: &mut dyn ValueReader) -> Decoded<Option<Self>> {
                value.$read_or_null()
            }
        }

    )*};
}
primitive!(
    bool: bool, bool_or_null,
    i32: i32, i32_or_null,
    i64: i64, i64_or_null,
    u32: u32, u32_or_null,
    u64: u64, u64_or_null,
    String: string, string_or_null
);

/// Primitives write through the writer's methods.
macro_rules! write_primitive {
    ($($t:ty: $write:ident as $as:ty),*) => {$(
        impl ToJson for $t {
            fn write_json(&self, out: &mut JsonOut) {
                out.$write(<$as>::from(*self));
            }
        }
    )*};
}
write_primitive!(bool: bool as bool, i32: i64 as i64, i64: i64 as i64, u32: u64 as u64, u64: u64 as u64);

impl ToJson for String {
    fn write_json(&self, out: &mut JsonOut) {
        out.str(self);
    }
}

impl ToJson for str {
    fn write_json(&self, out: &mut JsonOut) {
        out.str(self);
    }
}

impl FromJson for Value {
    fn read(value: &mut dyn ValueReader) -> Decoded<Self> {
        value.value()
    }
}

impl ToJson for Value {
    fn write_json(&self, out: &mut JsonOut) {
        out.value(self);
    }

    fn to_json(&self) -> Value {
        self.clone()
    }
}

impl FromJson for crate::LocalDateTime {
    fn read(value: &mut dyn ValueReader) -> Decoded<Self> {
        serde_json::from_str(value.raw()?.get()).map_err(|e| DecodeError::new(e.to_string()))
    }
}

impl ToJson for crate::LocalDateTime {
    fn write_json(&self, out: &mut JsonOut) {
        out.str(&self.to_string());
    }
}

/// `null` decodes as `None`.
impl<T: FromJson> FromJson for Option<T> {
    fn read(value: &mut dyn ValueReader) -> Decoded<Self> {
        T::read_or_null(value)
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut JsonOut) {
        match self {
            Some(value) => value.write_json(out),
            None => out.null(),
        }
    }
}

/// `null` decodes as an empty list (the seeds answer `"errorData": null`).
impl<T: FromJson> FromJson for Vec<T> {
    fn read(value: &mut dyn ValueReader) -> Decoded<Self> {
        let mut out = Vec::new();
        value.list(&mut |item| {
            out.push(T::read(item)?);
            Ok(())
        })?;
        Ok(out)
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut JsonOut) {
        out.list(self);
    }
}

/// Which of an object's modelled members were read already (only the first occurrence of a
/// member name counts; a repeat is kept with the unmodelled members).
struct Seen {
    small: u128,
    large: Vec<bool>,
    /// Where the next member is looked for first: servers mostly send members in the order
    /// the spec lists them.
    next: usize,
}

impl Seen {
    fn new(members: usize) -> Self {
        Seen {
            small: 0,
            large: if members > 128 {
                vec![false; members]
            } else {
                Vec::new()
            },
            next: 0,
        }
    }

    /// The index of `key` in `members` when it is not read yet (and marks it read).
    #[inline]
    fn first(&mut self, members: &[&str], key: &str) -> Option<usize> {
        let index = match members.get(self.next) {
            Some(expected) if *expected == key => self.next,
            _ => members.iter().position(|m| *m == key)?,
        };
        self.next = index + 1;
        let read = if self.large.is_empty() {
            let bit = 1u128 << index;
            let read = self.small & bit != 0;
            self.small |= bit;
            read
        } else {
            std::mem::replace(&mut self.large[index], true)
        };
        (!read).then_some(index)
    }
}

/// `Deserialize` through [`FromJson`], for any deserializer: the value is read, written back as
/// JSON text and typed (the client's own path reads the answer's text directly).
pub fn deserialize<'de, D: serde::Deserializer<'de>, T: FromJson>(deserializer: D) -> Result<T, D::Error> {
    let value = <Value as serde::Deserialize>::deserialize(deserializer)?;
    from_value(&value).map_err(serde::de::Error::custom)
}

/// Types the JSON text `text` (all of it).
pub(crate) fn from_text<T: FromJson>(text: &str) -> Decoded<T> {
    let mut out = None;
    read::read_text(text, &mut |value| {
        out = Some(T::read(value)?);
        Ok(())
    })?;
    out.ok_or_else(|| DecodeError::new("the value was not read"))
}

/// Types a JSON value.
pub fn from_value<T: FromJson>(value: &Value) -> Decoded<T> {
    let raw = serde_json::value::to_raw_value(value).map_err(|e| DecodeError::new(e.to_string()))?;
    T::from_json(&raw)
}

/// `Serialize` through [`ToJson`].
pub fn serialize<S: serde::Serializer, T: ToJson>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&value.to_json(), serializer)
}

/// One way to decode a union: a variant's type, wrapped in the variant.
pub type VariantDecoder<T> = fn(&RawValue) -> Decoded<T>;

/// Decodes a union: the first variant that fits, in the spec's order.
pub fn first_fit<T>(raw: &RawValue, type_name: &str, variants: &[VariantDecoder<T>]) -> Decoded<T> {
    for variant in variants {
        if let Ok(decoded) = variant(raw) {
            return Ok(decoded);
        }
    }
    Err(DecodeError::new(format!("matches no variant of {type_name}")))
}

/// An integer enum read from a number or a numeric string.
pub fn int_enum<T: IntEnum>(value: &mut dyn ValueReader) -> Decoded<T> {
    value.i64().map(T::from_wire)
}

/// A string enum read from a string (or a number, kept as text).
pub fn str_enum<T: StrEnum>(value: &mut dyn ValueReader) -> Decoded<T> {
    value.string().map(T::from_wire)
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

/// Part `index` of a compound id of `count` parts joined by `separator` (the last part takes
/// the rest); empty when the text lacks it.
pub fn id_part(text: &str, separator: char, count: usize, index: usize) -> &str {
    text.splitn(count, separator).nth(index).unwrap_or("")
}

/// Whether `text` has all `count` parts of a compound id, none empty.
pub fn id_is_whole(text: &str, separator: char, count: usize) -> bool {
    let parts: Vec<&str> = text.splitn(count, separator).collect();
    parts.len() == count && parts.iter().all(|p| !p.is_empty())
}

/// Everything a generated compound id (a newtype over its text) needs: JSON as a string,
/// validation text, display, presence.
#[macro_export]
#[doc(hidden)]
macro_rules! wire_id {
    ($name:ident) => {
        impl $crate::codec::FromJson for $name {
            fn read(
                value: &mut dyn $crate::codec::ValueReader,
            ) -> ::std::result::Result<Self, $crate::codec::DecodeError> {
                // As the server sends it: a reader asks for the parts it needs.
                value.string().map($name)
            }
        }
        impl $crate::codec::ToJson for $name {
            fn write_json(&self, out: &mut $crate::codec::JsonOut) {
                out.str(&self.0);
            }
        }
        impl $crate::validate::WireText for $name {
            fn wire_text(&self) -> String {
                self.0.clone()
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        $crate::json_object!($name);
    };
}

/// Everything a generated enum needs beyond its variants and wire values: JSON, validation
/// text, presence. `int` enums have [`IntEnum`] wire values, `str` enums [`StrEnum`] ones.
#[macro_export]
#[doc(hidden)]
macro_rules! wire_enum {
    (int $name:ident) => {
        $crate::wire_enum!(@common $name, $crate::codec::int_enum);
        impl $crate::codec::ToJson for $name {
            fn write_json(&self, out: &mut $crate::codec::JsonOut) {
                out.i64($crate::lenient::IntEnum::to_wire(self));
            }
        }
        impl $crate::validate::WireText for $name {
            fn wire_text(&self) -> String {
                $crate::lenient::IntEnum::to_wire(self).to_string()
            }
        }
    };
    (str $name:ident) => {
        $crate::wire_enum!(@common $name, $crate::codec::str_enum);
        impl $crate::codec::ToJson for $name {
            fn write_json(&self, out: &mut $crate::codec::JsonOut) {
                out.str($crate::lenient::StrEnum::to_wire(self));
            }
        }
        impl $crate::validate::WireText for $name {
            fn wire_text(&self) -> String {
                $crate::lenient::StrEnum::to_wire(self).to_owned()
            }
        }
    };
    (@common $name:ident, $decode:path) => {
        impl $crate::codec::FromJson for $name {
            fn read(
                value: &mut dyn $crate::codec::ValueReader,
            ) -> ::std::result::Result<Self, $crate::codec::DecodeError> {
                $decode(value)
            }
        }
        $crate::json_object!($name);
    };
}
