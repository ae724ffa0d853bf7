//! The writer: generated types write their JSON text straight into one buffer, member by
//! member, with no `Value` tree in between (a request's body is its text). Strings and numbers
//! go through serde_json's serializer, so escaping is serde_json's.

use serde::Serialize;
use serde_json::{Map, Value};

use super::ToJson;
use crate::lenient::separated::SeparatedList;
use crate::lenient::AsWireString;

/// A JSON text being written.
#[derive(Default)]
pub struct JsonOut {
    text: Vec<u8>,
}

impl JsonOut {
    /// An empty text.
    pub fn new() -> Self {
        Self::default()
    }

    /// The text written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.text
    }

    /// Writes `value` with serde_json's serializer.
    fn serialized<T: Serialize + ?Sized>(&mut self, value: &T) {
        // Into a `Vec` nothing fails: the writer cannot, and the values written here (strings,
        // integers, booleans, `Value`s) always serialize.
        let _ = serde_json::to_writer(&mut self.text, value);
    }

    /// Writes a string, escaped.
    pub fn str(&mut self, value: &str) {
        self.serialized(value);
    }

    /// Writes a boolean.
    pub fn bool(&mut self, value: bool) {
        self.text.extend_from_slice(if value { b"true" } else { b"false" });
    }

    /// Writes an integer.
    pub fn i64(&mut self, value: i64) {
        self.serialized(&value);
    }

    /// Writes an unsigned integer.
    pub fn u64(&mut self, value: u64) {
        self.serialized(&value);
    }

    /// Writes `null`.
    pub fn null(&mut self) {
        self.text.extend_from_slice(b"null");
    }

    /// Writes a `Value` as it is.
    pub fn value(&mut self, value: &Value) {
        self.serialized(value);
    }

    /// Writes an array of `items`.
    pub fn list<T: ToJson>(&mut self, items: &[T]) {
        self.text.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.text.push(b',');
            }
            item.write_json(self);
        }
        self.text.push(b']');
    }
}

/// The JSON text of `value`.
pub fn to_text<T: ToJson + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = JsonOut::new();
    value.write_json(&mut out);
    out.into_bytes()
}

/// A JSON object being written from a generated struct, in field order.
pub struct MembersOut<'o> {
    out: &'o mut JsonOut,
    empty: bool,
}

impl<'o> MembersOut<'o> {
    /// Opens an object in `out`.
    pub fn new(out: &'o mut JsonOut) -> Self {
        out.text.push(b'{');
        MembersOut { out, empty: true }
    }

    /// Starts member `wire`: the value is written next.
    fn key(&mut self, wire: &str) -> &mut JsonOut {
        if !std::mem::take(&mut self.empty) {
            self.out.text.push(b',');
        }
        self.out.str(wire);
        self.out.text.push(b':');
        self.out
    }

    /// Writes a member.
    pub fn put<T: ToJson + ?Sized>(&mut self, wire: &str, value: &T) {
        value.write_json(self.key(wire));
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
            self.key(wire).str(&text);
        }
    }

    /// Writes a list as one `separator`-separated string; skipped when unset.
    pub fn put_separated<T: SeparatedList>(&mut self, wire: &str, value: &T, separator: char) {
        if let Some(items) = value.pieces() {
            self.key(wire).str(&items.join(&separator.to_string()));
        }
    }

    /// Writes the members a struct kept without modelling them. A repeat of a modelled member
    /// (one of `modelled`, kept in `extra` when the server sent it twice) is not written again:
    /// the field is what the caller means.
    pub fn put_extra(&mut self, extra: &Map<String, Value>, modelled: &[&str]) {
        for (key, value) in extra {
            if !modelled.contains(&key.as_str()) {
                self.key(key).value(value);
            }
        }
    }

    /// Closes the object.
    pub fn finish(self) {
        self.out.text.push(b'}');
    }
}
