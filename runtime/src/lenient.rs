//! Lenient decoding for what real servers send, and wire encodings the spec asks for.
//!
//! WeCom and Tuzhan send numbers as strings in places (`"tagid": "1"`, `"serialNum": "0"`), and
//! booleans as `"true"`/`"false"`. Every primitive member decodes through [`Lenient`] (from
//! [`crate::codec`]), which accepts either form; requests are still sent in the documented types.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A primitive that decodes leniently (the runtime implements it for the primitives and
/// `Value`; generated types decode through [`crate::codec::FromJson`]).
pub trait Lenient: Sized {
    /// Decodes `Self`, accepting the sloppy forms.
    fn deserialize_lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;

    /// Decodes `Self` or `null` (`None`).
    fn deserialize_lenient_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        struct Visit<T>(PhantomData<T>);
        impl<'de, T: Lenient> Visitor<'de> for Visit<T> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value or null")
            }
            fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Option<T>, D::Error> {
                T::deserialize_lenient(de).map(Some)
            }
        }
        deserializer.deserialize_option(Visit(PhantomData))
    }
}

/// A scalar's lenient visitor that also takes `null` (as `None`): one look at the value
/// instead of a look for `null` and another for the value.
struct OrNull<V>(V);

macro_rules! forward_scalars {
    ($($visit:ident: $t:ty),*) => {$(
        fn $visit<E: de::Error>(self, v: $t) -> Result<Self::Value, E> {
            self.0.$visit(v).map(Some)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for OrNull<V> {
    type Value = Option<V::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)?;
        f.write_str(" or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    forward_scalars!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str, visit_string: String);

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        self.0.visit_borrowed_str(v).map(Some)
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

            fn deserialize_lenient_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
                d.deserialize_any(OrNull(IntVisitor::<$t>(PhantomData)))
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

    fn deserialize_lenient_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        d.deserialize_any(OrNull(BoolVisitor))
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

    fn deserialize_lenient_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        d.deserialize_any(OrNull(StringVisitor))
    }
}

impl Lenient for serde_json::Value {
    fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(d)
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

/// Lists the spec says go on the wire as one separated string (`pipe_separated`: WeCom's
/// `invalidlist`, `"usr1|usr2"`; `comma_separated`: Tuzhan's `deputyDeptIds`, `"D1,D2"`, and
/// the callback events' `Department`, `"1,2,3"`); the codec reads and writes them.
pub mod separated {
    use crate::codec::{DecodeError, Decoded};

    /// An item of a separated list: text, or an integer written in decimal.
    pub trait SeparatedItem: Sized {
        /// The item of one piece of the string; `None` when it is not one.
        fn parse_item(text: &str) -> Option<Self>;
        /// The item's text on the wire.
        fn item_text(&self) -> String;
        /// What an item is, for errors.
        const KIND: &'static str;
    }

    impl SeparatedItem for String {
        fn parse_item(text: &str) -> Option<Self> {
            Some(text.to_owned())
        }
        fn item_text(&self) -> String {
            self.clone()
        }
        const KIND: &'static str = "text";
    }

    impl SeparatedItem for i64 {
        fn parse_item(text: &str) -> Option<Self> {
            text.parse().ok()
        }
        fn item_text(&self) -> String {
            self.to_string()
        }
        const KIND: &'static str = "an integer";
    }

    /// A `Vec<T>` or `Option<Vec<T>>` field of separated items.
    pub trait SeparatedList: Sized {
        /// The value of an absent member.
        fn absent() -> Self;
        /// From the pieces read (`None` when the member was absent or null); `Err` names the
        /// first piece that is not an item.
        fn from_pieces(pieces: Option<Vec<String>>) -> Decoded<Self>;
        /// The items' texts to send; `None` when unset.
        fn pieces(&self) -> Option<Vec<String>>;

        /// Reads the list from one `separator`-separated string or an array of strings.
        fn read_separated(value: &mut dyn crate::codec::ValueReader, separator: char) -> Decoded<Self> {
            value.separated(separator).and_then(Self::from_pieces)
        }
    }

    fn items<T: SeparatedItem>(pieces: Vec<String>) -> Decoded<Vec<T>> {
        pieces
            .into_iter()
            .enumerate()
            .map(|(index, piece)| {
                T::parse_item(&piece).ok_or_else(|| {
                    DecodeError::new(format!("`{piece}` is not {}", T::KIND)).at_index(index)
                })
            })
            .collect()
    }

    impl<T: SeparatedItem> SeparatedList for Vec<T> {
        fn absent() -> Self {
            Vec::new()
        }
        fn from_pieces(pieces: Option<Vec<String>>) -> Decoded<Self> {
            items(pieces.unwrap_or_default())
        }
        fn pieces(&self) -> Option<Vec<String>> {
            Some(self.iter().map(T::item_text).collect())
        }
    }

    impl<T: SeparatedItem> SeparatedList for Option<Vec<T>> {
        fn absent() -> Self {
            None
        }
        fn from_pieces(pieces: Option<Vec<String>>) -> Decoded<Self> {
            pieces.map(items).transpose()
        }
        fn pieces(&self) -> Option<Vec<String>> {
            self.as_ref().map(|items| items.iter().map(T::item_text).collect())
        }
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
