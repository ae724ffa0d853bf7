//! The reader: serde_json's deserializer driven straight into the generated types, each member
//! parsed into its field as the text is read, with no `Value` tree and no member split off and
//! parsed again.
//!
//! It tracks where it is: a failure deep inside carries its [`DecodeError`] out through serde
//! (whose error type cannot hold ours) in a `failure` cell, and every object and list it
//! leaves adds its member name or index, so the error names the path (`department[1].id`).
//! serde_json's reader is erased behind [`ValueReader`] so that it is compiled once for the
//! whole crate, not once per type.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::de::StrRead;
use serde_json::{Map, Value};

use super::{DecodeError, Decoded, RawValue, Seen, Slot, ValueReader};
use crate::lenient::Lenient;

/// A read that hands its value to a reader.
type Each<'r> = &'r mut dyn FnMut(&mut dyn ValueReader) -> Decoded<()>;

/// The text's deserializer. On `str`, checked as UTF-8 once: cheaper than serde_json's check
/// of each string and member name as it reads bytes.
type TextDe<'b> = serde_json::Deserializer<StrRead<'b>>;

/// Members of an envelope kept aside unparsed: (member name, its first occurrence).
pub(crate) type Capture<'n, 'b> = [(&'n str, Option<&'b RawValue>)];

fn serde_error(e: impl fmt::Display) -> DecodeError {
    DecodeError::new(e.to_string())
}

/// Reads all of `text` as one value with `each`.
pub(crate) fn read_text(text: &str, each: Each<'_>) -> Decoded<()> {
    let mut de = TextDe::from_str(text);
    let mut failure = None;
    let mut value = OneValue {
        de: Some(&mut de),
        failure: &mut failure,
        text: PhantomData,
    };
    each(&mut value)?;
    de.end().map_err(serde_error)
}

/// Reads the object `body` as a flat envelope: the members named in `capture` (their first
/// occurrence) are kept unparsed in `capture`, and `payload` reads the object of the others.
pub(crate) fn read_flat<'b>(body: &'b str, capture: &mut Capture<'_, 'b>, payload: Each<'_>) -> Decoded<()> {
    let mut de = TextDe::from_str(body);
    let mut body_reader = Body {
        de: Some(&mut de),
        capture,
    };
    payload(&mut body_reader)?;
    if body_reader.de.is_some() {
        return Err(DecodeError::new("the payload beside a flat envelope was not read"));
    }
    de.end().map_err(serde_error)
}

/// Reads the object `body` as a wrapped envelope: `payload` reads member `data` (its first
/// occurrence); the members named in `capture` are kept unparsed. `Ok(false)` when there is no
/// `data`.
pub(crate) fn read_wrapped<'b>(
    body: &'b str,
    data: &str,
    capture: &mut Capture<'_, 'b>,
    payload: Each<'_>,
) -> Decoded<bool> {
    struct Wrapped<'c, 'n, 'b, 'r> {
        data: &'c str,
        capture: &'c mut Capture<'n, 'b>,
        payload: Each<'r>,
        failure: &'c mut Option<DecodeError>,
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
                    // The payload's path starts inside `data`.
                    map.next_value_seed(ValueSeed {
                        each: &mut *self.payload,
                        failure: &mut *self.failure,
                    })?;
                    read = true;
                } else if !capture_member(self.capture, &key, &mut map)? {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(read)
        }
    }
    let mut de = TextDe::from_str(body);
    let mut failure = None;
    let visitor = Wrapped {
        data,
        capture,
        payload,
        failure: &mut failure,
    };
    let read = de
        .deserialize_map(visitor)
        .map_err(|e| failure.take().unwrap_or_else(|| serde_error(e)))?;
    de.end().map_err(serde_error)?;
    Ok(read)
}

/// Keeps member `key`'s value unparsed when `capture` names it and has not got it yet.
fn capture_member<'de: 'b, 'b, A: MapAccess<'de>>(capture: &mut Capture<'_, 'b>, key: &str, map: &mut A) -> Result<bool, A::Error> {
    match capture.iter_mut().find(|(name, raw)| raw.is_none() && *name == key) {
        Some(slot) => {
            slot.1 = Some(map.next_value::<&'de RawValue>()?);
            Ok(true)
        }
        None => Ok(false),
    }
}

/// The body of a flat envelope: an object whose captured members are not the payload's.
struct Body<'d, 'c, 'n, 'b> {
    de: Option<&'d mut TextDe<'b>>,
    capture: &'c mut Capture<'n, 'b>,
}

fn not_an_object() -> DecodeError {
    DecodeError::new("expected an object: the payload of a flat envelope is the members beside its code")
}

/// A flat envelope's payload is an object: reads of any other kind fail.
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
        self.object("the payload", &[], &mut []).map(Value::Object)
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

    fn object(&mut self, type_name: &str, members: &[&str], slots: &mut [&mut dyn Slot]) -> Decoded<Map<String, Value>> {
        let capture = &mut *self.capture;
        let de = self
            .de
            .take()
            .ok_or_else(|| DecodeError::new("the body was read twice"))?;
        let mut failure = None;
        let mut rest = Map::new();
        de.deserialize_map(ObjectVisitor {
            type_name,
            members,
            slots,
            rest: &mut rest,
            capture,
            failure: &mut failure,
        })
        .map_err(|e| failure.take().unwrap_or_else(|| serde_error(e)))?;
        Ok(rest)
    }
}

/// One value, still in the deserializer.
struct OneValue<'f, 'de, D> {
    de: Option<D>,
    /// Where a failure inside serde leaves its [`DecodeError`].
    failure: &'f mut Option<DecodeError>,
    text: PhantomData<&'de str>,
}

impl<'de, D: Deserializer<'de>> OneValue<'_, 'de, D> {
    fn take(&mut self) -> Decoded<D> {
        self.de.take().ok_or_else(|| DecodeError::new("a value was read twice"))
    }

    /// The error of a serde call: the failure a reader inside left, or serde's own.
    fn failed(&mut self, e: impl fmt::Display) -> DecodeError {
        self.failure.take().unwrap_or_else(|| serde_error(e))
    }

    fn lenient<T: Lenient>(&mut self) -> Decoded<T> {
        T::deserialize_lenient(self.take()?).map_err(serde_error)
    }

    fn lenient_or_null<T: Lenient>(&mut self) -> Decoded<Option<T>> {
        T::deserialize_lenient_or_null(self.take()?).map_err(serde_error)
    }
}

impl<'de, D: Deserializer<'de>> ValueReader for OneValue<'_, 'de, D> {
    lenient_primitives!();
    lenient_or_null_primitives!();

    fn value(&mut self) -> Decoded<Value> {
        serde::Deserialize::deserialize(self.take()?).map_err(serde_error)
    }

    fn raw(&mut self) -> Decoded<&RawValue> {
        <&'de RawValue as serde::Deserialize>::deserialize(self.take()?).map_err(serde_error)
    }

    fn object(&mut self, type_name: &str, members: &[&str], slots: &mut [&mut dyn Slot]) -> Decoded<Map<String, Value>> {
        let de = self.take()?;
        let mut rest = Map::new();
        let visitor = ObjectVisitor {
            type_name,
            members,
            slots,
            rest: &mut rest,
            capture: &mut [],
            failure: &mut *self.failure,
        };
        let result = de.deserialize_map(visitor);
        result.map_err(|e| self.failed(e))?;
        Ok(rest)
    }

    fn list(&mut self, each: Each<'_>) -> Decoded<()> {
        let de = self.take()?;
        let visitor = NullOr {
            each,
            failure: &mut *self.failure,
            list: true,
        };
        let result = de.deserialize_option(visitor);
        result.map_err(|e| self.failed(e))
    }

    fn option(&mut self, each: Each<'_>) -> Decoded<()> {
        let de = self.take()?;
        let visitor = NullOr {
            each,
            failure: &mut *self.failure,
            list: false,
        };
        let result = de.deserialize_option(visitor);
        result.map_err(|e| self.failed(e))
    }

    fn separated(&mut self, separator: char) -> Decoded<Option<Vec<String>>> {
        self.take()?
            .deserialize_any(SeparatedVisitor { separator })
            .map_err(serde_error)
    }
}

/// Reads an object's modelled members into their fields and keeps the others.
struct ObjectVisitor<'r, 's, 'n, 'b> {
    type_name: &'r str,
    members: &'r [&'r str],
    slots: &'r mut [&'s mut dyn Slot],
    rest: &'r mut Map<String, Value>,
    /// Envelope members kept aside unparsed (a flat envelope's code and message).
    capture: &'r mut Capture<'n, 'b>,
    failure: &'r mut Option<DecodeError>,
}

impl<'de: 'b, 'b> Visitor<'de> for ObjectVisitor<'_, '_, '_, 'b> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object ({})", self.type_name)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = Seen::new(self.members.len());
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if !self.capture.is_empty() && capture_member(self.capture, &key, &mut map)? {
                continue;
            }
            let read = match seen.first(self.members, &key) {
                Some(index) => map.next_value_seed(MemberSeed {
                    slot: &mut *self.slots[index],
                    failure: &mut *self.failure,
                }),
                None => match map.next_value::<Value>() {
                    Ok(value) => {
                        self.rest.insert(key.into_owned(), value);
                        continue;
                    }
                    Err(e) => Err(e),
                },
            };
            if let Err(e) = read {
                let failure = self.failure.take().unwrap_or_else(|| serde_error(&e));
                *self.failure = Some(failure.within(key.into_owned()));
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Reads a member's value into its field's slot; the failure is left in `failure`.
struct MemberSeed<'r, 's> {
    slot: &'r mut (dyn Slot + 's),
    failure: &'r mut Option<DecodeError>,
}

impl<'de> DeserializeSeed<'de> for MemberSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        let mut value = OneValue {
            de: Some(de),
            failure: &mut *self.failure,
            text: PhantomData,
        };
        let read = self.slot.read(&mut value);
        read.map_err(|e| carry(self.failure, e))
    }
}

/// Leaves `e` in `failure` and answers a serde error in its place.
#[cold]
fn carry<E: serde::de::Error>(failure: &mut Option<DecodeError>, e: DecodeError) -> E {
    let message = e.to_string();
    *failure = Some(e);
    E::custom(message)
}

/// Hands one value to a reader; the reader's failure is left in `failure`.
struct ValueSeed<'r> {
    each: Each<'r>,
    failure: &'r mut Option<DecodeError>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        let mut value = OneValue {
            de: Some(de),
            failure: &mut *self.failure,
            text: PhantomData,
        };
        let read = (self.each)(&mut value);
        read.map_err(|e| carry(self.failure, e))
    }
}

/// `null`, or else a value for the reader: an array whose items it reads (`list`), or any
/// value it reads whole.
struct NullOr<'r> {
    each: Each<'r>,
    failure: &'r mut Option<DecodeError>,
    list: bool,
}

impl<'de> Visitor<'de> for NullOr<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.list { "an array or null" } else { "a value or null" })
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        if self.list {
            de.deserialize_seq(self)
        } else {
            ValueSeed {
                each: self.each,
                failure: self.failure,
            }
            .deserialize(de)
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        loop {
            let item = seq.next_element_seed(ValueSeed {
                each: &mut *self.each,
                failure: &mut *self.failure,
            });
            match item {
                Ok(Some(())) => index += 1,
                Ok(None) => return Ok(()),
                Err(e) => {
                    let failure = self.failure.take().unwrap_or_else(|| serde_error(&e));
                    *self.failure = Some(failure.at_index(index));
                    return Err(e);
                }
            }
        }
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

/// A member name, borrowed from the text unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
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

/// The members of an envelope named in `capture` (their first occurrence), without reading
/// the rest: what an answer that did not decode is opened with, to tell an error code from a
/// payload that did not fit. Fails when `text` is not one JSON object.
pub(crate) fn scan_object<'b>(text: &'b str, capture: &mut Capture<'_, 'b>) -> Result<(), serde_json::Error> {
    struct Scan<'c, 'n, 'b> {
        capture: &'c mut Capture<'n, 'b>,
    }
    impl<'b> Visitor<'b> for Scan<'_, '_, 'b> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'b>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(Key(key)) = map.next_key::<Key<'b>>()? {
                if !capture_member(self.capture, &key, &mut map)? {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(())
        }
    }
    let mut de = TextDe::from_str(text);
    de.deserialize_map(Scan { capture })?;
    de.end()
}
