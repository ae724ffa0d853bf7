//! Lenient decoding for what real servers send, and wire encodings the spec asks for.
//!
//! WeCom and Tuzhan send numbers as strings in places (`"tagid": "1"`, `"serialNum": "0"`), and
//! booleans as `"true"`/`"false"`. Every generated field decodes through [`deserialize`], which
//! accepts either form; requests are still sent in the documented types.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serializer};

/// A type that decodes leniently. Generated object, enum and union types implement it by
/// plain `Deserialize`; the runtime implements it for the primitives, `Option` and `Vec`.
pub trait Lenient: Sized {
    /// Decodes `Self`, accepting the sloppy forms.
    fn deserialize_lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;
}

/// `#[serde(deserialize_with = "…::lenient::deserialize")]` for any [`Lenient`] field.
pub fn deserialize<'de, D: Deserializer<'de>, T: Lenient>(deserializer: D) -> Result<T, D::Error> {
    T::deserialize_lenient(deserializer)
}

/// Wrapper that gives any [`Lenient`] type a `Deserialize` impl, for nesting.
struct Wrap<T>(T);

impl<'de, T: Lenient> Deserialize<'de> for Wrap<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize_lenient(deserializer).map(Wrap)
    }
}

struct IntVisitor<T>(PhantomData<T>);

impl<T> Visitor<'_> for IntVisitor<T>
where
    T: TryFrom<i64> + TryFrom<u64> + std::str::FromStr,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an integer ({}) or a string holding one", std::any::type_name::<T>())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::try_from(v).map_err(|_| {
            E::custom(format_args!(
                "integer {v} out of range for {}",
                std::any::type_name::<T>()
            ))
        })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::try_from(v).map_err(|_| {
            E::custom(format_args!(
                "integer {v} out of range for {}",
                std::any::type_name::<T>()
            ))
        })
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            self.visit_i64(v as i64)
        } else {
            Err(E::invalid_type(de::Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.trim()
            .parse::<T>()
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

macro_rules! lenient_int {
    ($($t:ty),*) => {$(
        impl Lenient for $t {
            fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(IntVisitor::<$t>(PhantomData))
            }
        }
    )*};
}
lenient_int!(i32, i64, u32, u64);

struct BoolVisitor;

impl Visitor<'_> for BoolVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean, \"true\"/\"false\" or 1/0")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.visit_i64(v.min(2) as i64)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match v.trim() {
            t if t.eq_ignore_ascii_case("true") || t == "1" => Ok(true),
            t if t.eq_ignore_ascii_case("false") || t == "0" => Ok(false),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
}

impl Lenient for bool {
    fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BoolVisitor)
    }
}

struct StringVisitor;

impl Visitor<'_> for StringVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string (or a number or boolean, kept as text)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
}

impl Lenient for String {
    fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringVisitor)
    }
}

impl Lenient for serde_json::Value {
    fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(d)
    }
}

impl<T: Lenient> Lenient for Option<T> {
    fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<Wrap<T>>::deserialize(d)?.map(|w| w.0))
    }
}

struct VecVisitor<T>(PhantomData<T>);

impl<'de, T: Lenient> Visitor<'de> for VecVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(Wrap(item)) = seq.next_element::<Wrap<T>>()? {
            out.push(item);
        }
        Ok(out)
    }
}

/// Arrays decode from `null` as empty: the seed answers `"errorData": null`.
impl<T: Lenient> Lenient for Vec<T> {
    fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_option(VecVisitor(PhantomData))
    }
}

/// A value the spec says goes on the wire as a JSON string (`"encoding": "string"`).
pub trait AsWireString {
    /// The text sent, `None` to send `null`.
    fn wire_string(&self) -> Option<String>;
}

macro_rules! as_wire_string {
    ($($t:ty),*) => {$(
        impl AsWireString for $t {
            fn wire_string(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}
as_wire_string!(bool, i32, i64, u32, u64);

impl<T: AsWireString> AsWireString for Option<T> {
    fn wire_string(&self) -> Option<String> {
        self.as_ref().and_then(AsWireString::wire_string)
    }
}

/// `#[serde(serialize_with = "…::lenient::serialize_as_string")]` for `"encoding": "string"`.
pub fn serialize_as_string<S: Serializer, T: AsWireString>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    match value.wire_string() {
        Some(text) => serializer.serialize_str(&text),
        None => serializer.serialize_none(),
    }
}

/// Lists the spec says go on the wire as one separated string: shared by [`pipe_separated`]
/// and [`comma_separated`].
pub mod separated {
    use super::*;

    /// A `Vec<String>` or `Option<Vec<String>>` field.
    pub trait SeparatedList: Sized {
        /// From the decoded items (`None` when the member was absent or null).
        fn from_items(items: Option<Vec<String>>) -> Self;
        /// The items to send.
        fn items(&self) -> Option<&[String]>;
    }

    impl SeparatedList for Vec<String> {
        fn from_items(items: Option<Vec<String>>) -> Self {
            items.unwrap_or_default()
        }
        fn items(&self) -> Option<&[String]> {
            Some(self)
        }
    }

    impl SeparatedList for Option<Vec<String>> {
        fn from_items(items: Option<Vec<String>>) -> Self {
            items
        }
        fn items(&self) -> Option<&[String]> {
            self.as_deref()
        }
    }

    struct SeparatedVisitor(char);

    impl<'de> Visitor<'de> for SeparatedVisitor {
        type Value = Option<Vec<String>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a `{}`-separated string or an array of strings", self.0)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(
                v.split(self.0)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(Wrap(item)) = seq.next_element::<Wrap<String>>()? {
                out.push(item);
            }
            Ok(Some(out))
        }
    }

    /// Decodes `"a<sep>b<sep>c"` (or an array) into a list.
    pub fn deserialize<'de, D: Deserializer<'de>, T: SeparatedList>(d: D, separator: char) -> Result<T, D::Error> {
        d.deserialize_option(SeparatedVisitor(separator)).map(T::from_items)
    }

    /// Encodes a list as `"a<sep>b<sep>c"`.
    pub fn serialize<S: Serializer, T: SeparatedList>(value: &T, s: S, separator: char) -> Result<S::Ok, S::Error> {
        match value.items() {
            Some(items) => s.serialize_str(&items.join(&separator.to_string())),
            None => s.serialize_none(),
        }
    }
}

/// A list sent as one `|`-separated string (`"encoding": "pipe_separated"`, WeCom's
/// `invalidlist`: `"usr1|usr2|usr"`).
pub mod pipe_separated {
    use super::separated::{self, SeparatedList};
    use serde::{Deserializer, Serializer};

    /// Decodes `"a|b|c"` (or an array) into a list.
    pub fn deserialize<'de, D: Deserializer<'de>, T: SeparatedList>(d: D) -> Result<T, D::Error> {
        separated::deserialize(d, '|')
    }

    /// Encodes a list as `"a|b|c"`.
    pub fn serialize<S: Serializer, T: SeparatedList>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        separated::serialize(value, s, '|')
    }
}

/// A list sent as one `,`-separated string (`"encoding": "comma_separated"`, Tuzhan's
/// `deputyDeptIds`: `"D1,D2"`).
pub mod comma_separated {
    use super::separated::{self, SeparatedList};
    use serde::{Deserializer, Serializer};

    /// Decodes `"a,b,c"` (or an array) into a list.
    pub fn deserialize<'de, D: Deserializer<'de>, T: SeparatedList>(d: D) -> Result<T, D::Error> {
        separated::deserialize(d, ',')
    }

    /// Encodes a list as `"a,b,c"`.
    pub fn serialize<S: Serializer, T: SeparatedList>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        separated::serialize(value, s, ',')
    }
}

/// A member of a response view (an echoed row): `None` when absent, null, or not decodable as
/// `T`, so one odd member never fails the row, let alone the whole answer.
pub fn view_field<T: crate::codec::FromJson>(
    row: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Option<T> {
    row.get(name)
        .filter(|v| !v.is_null())
        .and_then(|v| crate::codec::from_value(v).ok())
}

/// Enums the spec gives integer wire values (`gender`, `status`).
pub trait IntEnum: Sized {
    /// The variant for a wire value; unknown values are kept in the `Other` variant.
    fn from_wire(value: i64) -> Self;
    /// The wire value.
    fn to_wire(&self) -> i64;
}

/// Enums the spec gives string wire values (`deptType`, `roleKeys`).
pub trait StrEnum: Sized {
    /// The variant for a wire value; unknown values are kept in the `Other` variant.
    fn from_wire(value: String) -> Self;
    /// The wire value.
    fn to_wire(&self) -> &str;
}

/// Decodes an [`IntEnum`] from a number or a numeric string.
pub fn deserialize_int_enum<'de, D: Deserializer<'de>, T: IntEnum>(d: D) -> Result<T, D::Error> {
    i64::deserialize_lenient(d).map(T::from_wire)
}

/// Encodes an [`IntEnum`] as a number.
pub fn serialize_int_enum<S: Serializer, T: IntEnum>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(value.to_wire())
}

/// Decodes a [`StrEnum`] from a string (or a number, kept as text).
pub fn deserialize_str_enum<'de, D: Deserializer<'de>, T: StrEnum>(d: D) -> Result<T, D::Error> {
    String::deserialize_lenient(d).map(T::from_wire)
}

/// Encodes a [`StrEnum`] as a string.
pub fn serialize_str_enum<S: Serializer, T: StrEnum>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.to_wire())
}
