//! JSON encoding and decoding of the generated types through shared code.
//!
//! A generated object reads its members from a JSON object ([`Members`]) and writes them into
//! one ([`MembersOut`]); its `Serialize`/`Deserialize` impls are one line each
//! ([`json_object!`](crate::json_object)). The per-type code is therefore not generic over serde's
//! serializers and deserializers, and the generic helpers here are instantiated once per member
//! *type* (`i32`, `Option<String>`, …) for the whole crate rather than once per field: this is
//! what keeps the generated crate's build time flat as the spec grows. Decoding is lenient in
//! the same way as [`crate::lenient`] (numbers sent as strings, `null` lists).
//!
//! Decoding reads borrowed JSON text ([`RawValue`]): an object is split into its members without
//! copying them, and each member is parsed straight into its field, so an answer is parsed once
//! into the typed result with no `Value` tree in between (only members the spec does not model
//! become `Value`s, in `extra`).

use std::fmt;

use std::borrow::Cow;

use serde::de::{MapAccess, Visitor};
pub use serde_json::value::RawValue;
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

/// A type read from JSON text.
pub trait FromJson: Sized {
    /// Whether values are JSON objects read through [`from_members`](Self::from_members), so a
    /// list of them is split into members in one pass over its text.
    const OBJECT: bool = false;

    /// Decodes `raw`, accepting the lenient forms.
    fn from_json(raw: &RawValue) -> Decoded<Self>;

    /// Decodes the members of an object (a flat envelope's payload sits beside the envelope's
    /// own members, which `members` no longer holds). Objects read them directly; other types
    /// are read from the members put back together.
    fn from_members(members: Members<'_>) -> Decoded<Self> {
        let raw = members.into_raw()?;
        Self::from_json(&raw)
    }
}

fn parse_error(e: serde_json::Error) -> DecodeError {
    DecodeError::new(e.to_string())
}

/// Parses all of `raw` with `decode` (one instantiation per decoded type).
fn parse_with<T>(
    raw: &RawValue,
    decode: impl FnOnce(&mut serde_json::Deserializer<serde_json::de::StrRead<'_>>) -> Result<T, serde_json::Error>,
) -> Decoded<T> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let value = decode(&mut de).map_err(parse_error)?;
    de.end().map_err(parse_error)?;
    Ok(value)
}

fn is_null(raw: &RawValue) -> bool {
    raw.get().trim() == "null"
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
            fn from_json(raw: &RawValue) -> Decoded<Self> {
                parse_with(raw, |de| <$t as Lenient>::deserialize_lenient(de))
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
    fn from_json(raw: &RawValue) -> Decoded<Self> {
        serde_json::from_str(raw.get()).map_err(parse_error)
    }
}

impl ToJson for Value {
    fn to_json(&self) -> Value {
        self.clone()
    }
}

impl FromJson for crate::LocalDateTime {
    fn from_json(raw: &RawValue) -> Decoded<Self> {
        serde_json::from_str(raw.get()).map_err(parse_error)
    }
}

impl ToJson for crate::LocalDateTime {
    fn to_json(&self) -> Value {
        Value::String(self.to_string())
    }
}

/// `null` decodes as `None`.
impl<T: FromJson> FromJson for Option<T> {
    fn from_json(raw: &RawValue) -> Decoded<Self> {
        if is_null(raw) {
            Ok(None)
        } else {
            T::from_json(raw).map(Some)
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
    fn from_json(raw: &RawValue) -> Decoded<Self> {
        if is_null(raw) {
            return Ok(Vec::new());
        }
        // A plain loop: iterator adapters would be instantiated again for every `T`.
        // A list that is not all objects takes the item-by-item path, for the precise error.
        if let Some(objects) = T::OBJECT.then(|| split_objects(raw).ok()).flatten() {
            let mut out = Vec::with_capacity(objects.len());
            for (i, members) in objects.into_iter().enumerate() {
                let members = Members { members, error: None };
                match T::from_members(members) {
                    Ok(decoded) => out.push(decoded),
                    Err(e) => return Err(e.at_index(i)),
                }
            }
            return Ok(out);
        }
        let items = split_array(raw)?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match T::from_json(item) {
                Ok(decoded) => out.push(decoded),
                Err(e) => return Err(e.at_index(i)),
            }
        }
        Ok(out)
    }
}

/// The items of a JSON array, unparsed.
fn split_array(raw: &RawValue) -> Decoded<Vec<&RawValue>> {
    serde_json::from_str::<Vec<&RawValue>>(raw.get())
        .map_err(|_| DecodeError::new(format!("expected an array, got {}", kind_of_text(raw.get()))))
}

/// The members of each object of a JSON array, in one pass over its text.
fn split_objects(raw: &RawValue) -> Result<Vec<MemberSlots<'_>>, serde_json::Error> {
    struct Objects;
    impl<'de> Visitor<'de> for Objects {
        type Value = Vec<MemberSlots<'de>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of objects")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(8));
            while let Some(ObjectMembers(members)) = seq.next_element()? {
                out.push(members);
            }
            Ok(out)
        }
    }
    struct ObjectMembers<'a>(MemberSlots<'a>);
    impl<'de> serde::Deserialize<'de> for ObjectMembers<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(MemberList).map(ObjectMembers)
        }
    }
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let objects = serde::Deserializer::deserialize_seq(&mut de, Objects)?;
    de.end()?;
    Ok(objects)
}

/// What kind of JSON value `text` is, from its first character, for messages.
pub(crate) fn kind_of_text(text: &str) -> &'static str {
    match text.trim_start().chars().next() {
        Some('{') => "an object",
        Some('[') => "an array",
        Some('"') => "a string",
        Some('t' | 'f') => "a boolean",
        Some('n') => "null",
        _ => "a number",
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

/// The members of a JSON object being read into a generated struct, unparsed and in the order
/// sent; what no field takes is left for the struct's `extra`.
///
/// Reads do not fail one by one: the first error is kept and [`finish`](Self::finish) answers
/// it. A generated `from_json` is then a straight line of reads and one check, instead of an
/// early return (and its drops) per field, which is most of what it costs to compile.
pub struct Members<'a> {
    /// `None` once a field took it.
    members: MemberSlots<'a>,
    error: Option<DecodeError>,
}

/// An object's members in the order sent, each `None` once taken.
type MemberSlots<'a> = Vec<Option<(Cow<'a, str>, &'a RawValue)>>;

/// Collects an object's members without parsing their values.
struct MemberList;

impl<'de> Visitor<'de> for MemberList {
    type Value = MemberSlots<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key::<Key<'de>>()? {
            out.push(Some((key.0, map.next_value::<&'de RawValue>()?)));
        }
        Ok(out)
    }
}

/// A member name, borrowed from the text unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'a> Members<'a> {
    /// The members of `raw`, which must be an object (`type_name` is for the message).
    pub fn of(raw: &'a RawValue, type_name: &str) -> Decoded<Self> {
        Self::of_text(raw.get()).ok_or_else(|| {
            DecodeError::new(format!(
                "expected an object ({type_name}), got {}",
                kind_of_text(raw.get())
            ))
        })
    }

    /// The members of the JSON object `text`; `None` when it is not one.
    pub(crate) fn of_text(text: &'a str) -> Option<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        let members = serde::Deserializer::deserialize_map(&mut de, MemberList).ok()?;
        de.end().ok()?;
        Some(Members { members, error: None })
    }

    /// Drops member `wire` (an envelope's own member beside a flat payload).
    pub(crate) fn skip(&mut self, wire: &str) {
        let _ = self.take(wire);
    }

    /// The value of member `wire` without taking it.
    pub(crate) fn peek(&self, wire: &str) -> Option<&'a RawValue> {
        self.members.iter().flatten().find(|(k, _)| k == wire).map(|(_, v)| *v)
    }

    pub(crate) fn take(&mut self, wire: &str) -> Option<&'a RawValue> {
        let slot = self
            .members
            .iter_mut()
            .find(|m| m.as_ref().is_some_and(|(k, _)| k == wire))?;
        slot.take().map(|(_, v)| v)
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
            Some(raw) => {
                let decoded = T::from_json(raw);
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
        let raw = self.take(wire)?;
        let decoded = Option::<T>::from_json(raw);
        self.keep(wire, decoded).flatten()
    }

    /// A list member: absent or `null` is the empty list.
    pub fn list<T: FromJson>(&mut self, wire: &str) -> Vec<T> {
        let Some(raw) = self.take(wire) else { return Vec::new() };
        let decoded = Vec::<T>::from_json(raw);
        self.keep(wire, decoded).unwrap_or_default()
    }

    /// A list sent as one `separator`-separated string (or an array); absent or `null` is
    /// unset (`None`, or the empty list for a required list).
    pub fn separated<T: SeparatedList>(&mut self, wire: &str, separator: char) -> T {
        let items = match self.take(wire) {
            None => None,
            Some(raw) if is_null(raw) => None,
            Some(raw) => match raw.get().trim_start().chars().next() {
                Some('"') => {
                    let text = String::from_json(raw);
                    self.keep(wire, text).map(|text| {
                        text.split(separator)
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                }
                Some('[') => {
                    let decoded = Vec::<String>::from_json(raw);
                    self.keep(wire, decoded)
                }
                _ => {
                    let message = format!(
                        "expected a `{separator}`-separated string or an array of strings, got {}",
                        kind_of_text(raw.get())
                    );
                    self.keep(wire, Err::<Vec<String>, _>(DecodeError::new(message)))
                }
            },
        };
        T::from_items(items)
    }

    /// The members no field took, in the order sent; or the first member that did not decode.
    pub fn finish(self) -> Decoded<Map<String, Value>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut rest = Map::new();
        for (key, raw) in self.members.into_iter().flatten() {
            let value = Value::from_json(raw).map_err(|e| e.within(key.to_string()))?;
            rest.insert(key.into_owned(), value);
        }
        Ok(rest)
    }

    /// What to answer if a required member is missing after [`finish`](Self::finish) said all
    /// is well (it cannot happen: a missing member is an error).
    pub fn incomplete(type_name: &str) -> DecodeError {
        DecodeError::new(format!("{type_name}: a required member did not decode"))
    }

    /// The members left, as one JSON object again.
    fn into_raw(self) -> Decoded<Box<RawValue>> {
        let mut text = String::from("{");
        for (i, (key, raw)) in self.members.into_iter().flatten().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&Value::String(key.into_owned()).to_string());
            text.push(':');
            text.push_str(raw.get());
        }
        text.push('}');
        RawValue::from_string(text).map_err(parse_error)
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

/// `Deserialize` through [`FromJson`], for any deserializer: the value is read, written back as
/// JSON text and typed (the client's own path reads the answer's text directly).
pub fn deserialize<'de, D: serde::Deserializer<'de>, T: FromJson>(deserializer: D) -> Result<T, D::Error> {
    let value = <Value as serde::Deserialize>::deserialize(deserializer)?;
    from_value(&value).map_err(serde::de::Error::custom)
}

/// Types a JSON value.
pub fn from_value<T: FromJson>(value: &Value) -> Decoded<T> {
    let raw = serde_json::value::to_raw_value(value).map_err(parse_error)?;
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
pub fn int_enum<T: IntEnum>(raw: &RawValue) -> Decoded<T> {
    i64::from_json(raw).map(T::from_wire)
}

/// A string enum read from a string (or a number, kept as text).
pub fn str_enum<T: StrEnum>(raw: &RawValue) -> Decoded<T> {
    String::from_json(raw).map(T::from_wire)
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
            fn from_json(raw: &$crate::codec::RawValue) -> ::std::result::Result<Self, $crate::codec::DecodeError> {
                $decode(raw)
            }
        }
        $crate::json_object!($name);
    };
}
