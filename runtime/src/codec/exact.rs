//! The member-by-member reader: each object is split into its members (borrowed, unparsed)
//! and each member parsed on its own, so a failure names the member path where it happened
//! (`department[1].id`) and serde's message is about that member's text alone. The client
//! falls back to it when the one-pass read of an answer fails; [`FromJson::from_json`] and
//! [`from_value`](super::from_value) use it directly.

use std::borrow::Cow;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde_json::{Map, Value};

use super::{DecodeError, Decoded, FromJson, RawValue, Seen, Slot, ValueReader};
use crate::lenient::Lenient;

/// A value read member by member: JSON text, or an object already split into members (the
/// members beside a flat envelope's code and message).
pub(crate) enum Exact<'a> {
    Raw(&'a RawValue),
    Members(Members<'a>),
    /// The members put back together as text (for a type that is not an object).
    Joined(Box<RawValue>),
}

fn parse_error(e: serde_json::Error) -> DecodeError {
    DecodeError::new(e.to_string())
}

/// Parses all of `raw` with `decode`.
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

impl Exact<'_> {
    /// The value's text.
    fn text(&mut self) -> Decoded<&RawValue> {
        if let Exact::Members(members) = self {
            let joined = std::mem::take(members).into_raw()?;
            *self = Exact::Joined(joined);
        }
        match self {
            Exact::Raw(raw) => Ok(raw),
            Exact::Joined(joined) => Ok(joined),
            Exact::Members(_) => unreachable!("joined above"),
        }
    }

    fn lenient<T: Lenient>(&mut self) -> Decoded<T> {
        parse_with(self.text()?, |de| T::deserialize_lenient(de))
    }

    fn lenient_or_null<T: Lenient>(&mut self) -> Decoded<Option<T>> {
        if is_null(self.text()?) {
            Ok(None)
        } else {
            self.lenient().map(Some)
        }
    }
}

impl ValueReader for Exact<'_> {
    lenient_primitives!();
    lenient_or_null_primitives!();

    fn value(&mut self) -> Decoded<Value> {
        serde_json::from_str(self.text()?.get()).map_err(parse_error)
    }

    fn raw(&mut self) -> Decoded<&RawValue> {
        self.text()
    }

    fn object(
        &mut self,
        type_name: &str,
        members: &[&str],
        slots: &mut [&mut dyn Slot],
    ) -> Decoded<Map<String, Value>> {
        let split = match self {
            Exact::Members(split) => std::mem::take(split),
            _ => Members::of(self.text()?, type_name)?,
        };
        let mut seen = Seen::new(members.len());
        let mut rest = Map::new();
        for (key, raw) in split.members.into_iter().flatten() {
            match seen.first(members, &key) {
                Some(index) => slots[index]
                    .read(&mut Exact::Raw(raw))
                    .map_err(|e| e.within(key.into_owned()))?,
                None => {
                    let value = serde_json::from_str(raw.get()).map_err(|e| parse_error(e).within(key.to_string()))?;
                    rest.insert(key.into_owned(), value);
                }
            }
        }
        Ok(rest)
    }

    fn list(&mut self, each: &mut dyn FnMut(&mut dyn ValueReader) -> Decoded<()>) -> Decoded<()> {
        let raw = self.text()?;
        if is_null(raw) {
            return Ok(());
        }
        let items = serde_json::from_str::<Vec<&RawValue>>(raw.get())
            .map_err(|_| DecodeError::new(format!("expected an array, got {}", kind_of_text(raw.get()))))?;
        for (i, item) in items.into_iter().enumerate() {
            each(&mut Exact::Raw(item)).map_err(|e| e.at_index(i))?;
        }
        Ok(())
    }

    fn option(&mut self, each: &mut dyn FnMut(&mut dyn ValueReader) -> Decoded<()>) -> Decoded<()> {
        if is_null(self.text()?) {
            Ok(())
        } else {
            each(self)
        }
    }

    fn separated(&mut self, separator: char) -> Decoded<Option<Vec<String>>> {
        let raw = self.text()?;
        if is_null(raw) {
            return Ok(None);
        }
        match raw.get().trim_start().chars().next() {
            Some('"') => {
                let text = String::from_json(raw)?;
                Ok(Some(
                    text.split(separator)
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                ))
            }
            Some('[') => Vec::<String>::from_json(raw).map(Some),
            _ => Err(DecodeError::new(format!(
                "expected a `{separator}`-separated string or an array of strings, got {}",
                kind_of_text(raw.get())
            ))),
        }
    }
}

/// The members of a JSON object, unparsed and in the order sent, each `None` once taken.
#[derive(Default)]
pub(crate) struct Members<'a> {
    members: Vec<Option<(Cow<'a, str>, &'a RawValue)>>,
}

/// Collects an object's members without parsing their values.
struct MemberList;

impl<'de> Visitor<'de> for MemberList {
    type Value = Vec<Option<(Cow<'de, str>, &'de RawValue)>>;

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
pub(crate) struct Key<'a>(pub(crate) Cow<'a, str>);

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
    fn of(raw: &'a RawValue, type_name: &str) -> Decoded<Self> {
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
        Some(Members { members })
    }

    /// Drops member `wire` (an envelope's own member beside a flat payload).
    pub(crate) fn skip(&mut self, wire: &str) {
        let _ = self.take(wire);
    }

    /// The value of member `wire` without taking it.
    pub(crate) fn peek(&self, wire: &str) -> Option<&'a RawValue> {
        self.members.iter().flatten().find(|(k, _)| k == wire).map(|(_, v)| *v)
    }

    /// Takes member `wire` (its first occurrence).
    pub(crate) fn take(&mut self, wire: &str) -> Option<&'a RawValue> {
        let slot = self
            .members
            .iter_mut()
            .find(|m| m.as_ref().is_some_and(|(k, _)| k == wire))?;
        slot.take().map(|(_, v)| v)
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
