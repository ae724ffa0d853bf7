//! The one-pass reader: serde_json's deserializer driven straight into the generated types,
//! each member parsed into its field as the text is read, with no member split off and parsed
//! again (what [`Exact`](super::Exact) does, one level at a time).
//!
//! The client reads every answer this way first. When that fails for any reason, the answer
//! is read again member by member, which finds the precise error and its path, so errors need
//! no care here beyond "this did not decode". serde_json's reader is erased behind
//! [`ValueReader`] so that it is compiled once for the whole crate, not once per type.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::exact::Key;
use super::{DecodeError, Decoded, RawValue, Seen, Slot, ValueReader};
use crate::lenient::Lenient;

/// A read that hands its value to a reader.
type Each<'r> = &'r mut dyn FnMut(&mut dyn ValueReader) -> Decoded<()>;

/// Reads the object `body` in one pass as a flat envelope: the members named in `capture`
/// (their first occurrence) are kept unparsed in `capture`, and `payload` reads the object
/// of the others. `false` when the body is not a well-formed object or did not decode.
pub(crate) fn read_flat<'b>(body: &'b str, capture: &mut [(&str, Option<&'b RawValue>)], payload: Each<'_>) -> bool {
    let mut de = serde_json::Deserializer::from_str(body);
    let mut body_reader = Body {
        de: Some(&mut de),
        capture,
    };
    payload(&mut body_reader).is_ok() && body_reader.de.is_none() && de.end().is_ok()
}

/// Reads the object `body` in one pass as a wrapped envelope: `payload` reads member `data`
/// (its first occurrence); the members named in `capture` are kept unparsed. `false` when
/// the body is not a well-formed object, has no `data`, or did not decode.
pub(crate) fn read_wrapped<'b>(
    body: &'b str,
    data: &str,
    capture: &mut [(&str, Option<&'b RawValue>)],
    payload: Each<'_>,
) -> bool {
    struct Wrapped<'c, 'n, 'b, 'r> {
        data: &'c str,
        capture: &'c mut [(&'n str, Option<&'b RawValue>)],
        payload: Each<'r>,
    }
    impl<'b> Visitor<'b> for Wrapped<'_, '_, 'b, '_> {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an envelope")
        }
        fn visit_map<A: MapAccess<'b>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut read = false;
            while let Some(Key(key)) = map.next_key::<Key<'b>>()? {
                if !read && key == self.data {
                    map.next_value_seed(ValueSeed {
                        each: &mut *self.payload,
                    })?;
                    read = true;
                } else if let Some(slot) = self
                    .capture
                    .iter_mut()
                    .find(|(name, raw)| raw.is_none() && *name == key)
                {
                    slot.1 = Some(map.next_value::<&'b RawValue>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(read)
        }
    }
    let mut de = serde_json::Deserializer::from_str(body);
    let visitor = Wrapped { data, capture, payload };
    matches!(de.deserialize_map(visitor), Ok(true)) && de.end().is_ok()
}

/// The body of a flat envelope: an object whose captured members are not the payload's.
struct Body<'d, 'c, 'n, 'b> {
    de: Option<&'d mut serde_json::Deserializer<serde_json::de::StrRead<'b>>>,
    capture: &'c mut [(&'n str, Option<&'b RawValue>)],
}

fn not_an_object() -> DecodeError {
    DecodeError::new("the payload beside a flat envelope is not an object")
}

/// A flat envelope's payload is an object: any other read of it fails (and the answer is
/// read member by member).
impl Body<'_, '_, '_, '_> {
    fn lenient<T>(&mut self) -> Decoded<T> {
        Err(not_an_object())
    }

    fn lenient_or_null<T>(&mut self) -> Decoded<Option<T>> {
        Err(not_an_object())
    }
}

impl ValueReader for Body<'_, '_, '_, '_> {
    lenient_primitives!();
    lenient_or_null_primitives!();

    fn value(&mut self) -> Decoded<Value> {
        Err(not_an_object())
    }
    fn raw(&mut self) -> Decoded<&RawValue> {
        Err(not_an_object())
    }
    fn list(&mut self, _: Each<'_>) -> Decoded<()> {
        Err(not_an_object())
    }
    fn option(&mut self, _: Each<'_>) -> Decoded<()> {
        Err(not_an_object())
    }
    fn separated(&mut self, _: char) -> Decoded<Option<Vec<String>>> {
        Err(not_an_object())
    }

    fn object(
        &mut self,
        _type_name: &str,
        members: &[&str],
        slots: &mut [&mut dyn Slot],
    ) -> Decoded<Map<String, Value>> {
        let de = self
            .de
            .take()
            .ok_or_else(|| DecodeError::new("the body was read twice"))?;
        let mut rest = Map::new();
        de.deserialize_map(ObjectVisitor {
            members,
            slots,
            rest: &mut rest,
            capture: &mut *self.capture,
        })
        .map_err(serde_error)?;
        Ok(rest)
    }
}

fn serde_error(e: impl fmt::Display) -> DecodeError {
    DecodeError::new(e.to_string())
}

/// A value handed to a reader, still in the deserializer.
struct OneValue<'de, D> {
    de: Option<D>,
    text: PhantomData<&'de str>,
}

impl<'de, D: Deserializer<'de>> OneValue<'de, D> {
    fn take(&mut self) -> Decoded<D> {
        self.de.take().ok_or_else(|| DecodeError::new("a value was read twice"))
    }

    fn lenient<T: Lenient>(&mut self) -> Decoded<T> {
        T::deserialize_lenient(self.take()?).map_err(serde_error)
    }

    fn lenient_or_null<T: Lenient>(&mut self) -> Decoded<Option<T>> {
        struct OrNull<T>(PhantomData<T>);
        impl<'de, T: Lenient> Visitor<'de> for OrNull<T> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value or null")
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Option<T>, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Option<T>, D::Error> {
                T::deserialize_lenient(de).map(Some)
            }
        }
        self.take()?
            .deserialize_option(OrNull(PhantomData))
            .map_err(serde_error)
    }
}

impl<'de, D: Deserializer<'de>> ValueReader for OneValue<'de, D> {
    lenient_primitives!();
    lenient_or_null_primitives!();

    fn value(&mut self) -> Decoded<Value> {
        serde::Deserialize::deserialize(self.take()?).map_err(serde_error)
    }

    fn raw(&mut self) -> Decoded<&RawValue> {
        <&'de RawValue as serde::Deserialize>::deserialize(self.take()?).map_err(serde_error)
    }

    fn object(
        &mut self,
        _type_name: &str,
        members: &[&str],
        slots: &mut [&mut dyn Slot],
    ) -> Decoded<Map<String, Value>> {
        let mut rest = Map::new();
        self.take()?
            .deserialize_map(ObjectVisitor {
                members,
                slots,
                rest: &mut rest,
                capture: &mut [],
            })
            .map_err(serde_error)?;
        Ok(rest)
    }

    fn list(&mut self, each: Each<'_>) -> Decoded<()> {
        self.take()?
            .deserialize_option(ListVisitor { each })
            .map_err(serde_error)
    }

    fn option(&mut self, each: Each<'_>) -> Decoded<()> {
        self.take()?
            .deserialize_option(OptionVisitor { each })
            .map_err(serde_error)
    }

    fn separated(&mut self, separator: char) -> Decoded<Option<Vec<String>>> {
        self.take()?
            .deserialize_any(SeparatedVisitor { separator })
            .map_err(serde_error)
    }
}

/// Reads an object's modelled members into their fields and keeps the others.
struct ObjectVisitor<'r, 's, 'n, 'b> {
    members: &'r [&'r str],
    slots: &'r mut [&'s mut dyn Slot],
    rest: &'r mut Map<String, Value>,
    /// Envelope members kept aside unparsed (a flat envelope's code and message).
    capture: &'r mut [(&'n str, Option<&'b RawValue>)],
}

impl<'de: 'b, 'b> Visitor<'de> for ObjectVisitor<'_, '_, '_, 'b> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = Seen::new(self.members.len());
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if let Some(slot) = self
                .capture
                .iter_mut()
                .find(|(name, raw)| raw.is_none() && *name == key)
            {
                slot.1 = Some(map.next_value::<&'de RawValue>()?);
                continue;
            }
            match seen.first(self.members, &key) {
                Some(index) => map.next_value_seed(MemberSeed {
                    slot: &mut *self.slots[index],
                })?,
                None => {
                    let value = map.next_value::<Value>()?;
                    self.rest.insert(key.into_owned(), value);
                }
            }
        }
        Ok(())
    }
}

/// Reads a member's value into its field's slot.
struct MemberSeed<'r> {
    slot: &'r mut dyn Slot,
}

impl<'de> DeserializeSeed<'de> for MemberSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        let mut value = OneValue {
            de: Some(de),
            text: PhantomData,
        };
        self.slot.read(&mut value).map_err(D::Error::custom)
    }
}

/// Hands one value to a reader.
struct ValueSeed<'r> {
    each: Each<'r>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        let mut value = OneValue {
            de: Some(de),
            text: PhantomData,
        };
        (self.each)(&mut value).map_err(D::Error::custom)
    }
}

/// `null` is no items; anything else must be an array.
struct ListVisitor<'r> {
    each: Each<'r>,
}

impl<'de> Visitor<'de> for ListVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(ValueSeed { each: &mut *self.each })?.is_some() {}
        Ok(())
    }
}

/// `null` is `None`; anything else goes to the reader.
struct OptionVisitor<'r> {
    each: Each<'r>,
}

impl<'de> Visitor<'de> for OptionVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        ValueSeed { each: self.each }.deserialize(de)
    }
}

/// A separated string or an array of strings; `null` is `None`.
struct SeparatedVisitor {
    separator: char,
}

impl<'de> Visitor<'de> for SeparatedVisitor {
    type Value = Option<Vec<String>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a `{}`-separated string or an array of strings", self.separator)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(
            v.split(self.separator)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        struct Item;
        impl<'de> DeserializeSeed<'de> for Item {
            type Value = String;
            fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<String, D::Error> {
                String::deserialize_lenient(de)
            }
        }
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Item)? {
            items.push(item);
        }
        Ok(Some(items))
    }
}
