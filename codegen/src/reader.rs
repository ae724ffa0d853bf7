//! Reads spec JSON with a JSON path at every step, so a fault names exactly where it is.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{Result, SpecError};

/// A JSON object of a spec file, with its path; keys read are remembered so leftovers are reported.
pub(crate) struct Obj<'a> {
    pub file: &'a Path,
    pub path: String,
    map: &'a Map<String, Value>,
    allowed: &'static [&'static str],
}

impl<'a> Obj<'a> {
    pub fn new(file: &'a Path, path: String, value: &'a Value, allowed: &'static [&'static str]) -> Result<Self> {
        let Value::Object(map) = value else {
            return Err(SpecError::new(
                file,
                path,
                format!("expected an object, found {}", kind(value)),
            ));
        };
        let obj = Obj {
            file,
            path,
            map,
            allowed,
        };
        if let Some(key) = map
            .keys()
            .find(|k| !allowed.contains(&k.as_str()) && k.as_str() != "$schema")
        {
            return Err(obj.err_at(
                key,
                format!("unknown key `{key}` (expected one of: {})", allowed.join(", ")),
            ));
        }
        Ok(obj)
    }

    pub fn child_path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    pub fn err(&self, message: impl Into<String>) -> SpecError {
        SpecError::new(self.file, self.path.clone(), message)
    }

    pub fn err_at(&self, key: &str, message: impl Into<String>) -> SpecError {
        SpecError::new(self.file, self.child_path(key), message)
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        debug_assert!(self.allowed.contains(&key), "reader asked for undeclared key {key}");
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn req(&self, key: &str) -> Result<&'a Value> {
        self.get(key)
            .ok_or_else(|| self.err(format!("missing required key `{key}`")))
    }

    pub fn str(&self, key: &str) -> Result<String> {
        match self.req(key)? {
            Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
            Value::String(_) => Err(self.err_at(key, "must not be empty")),
            other => Err(self.err_at(key, format!("expected a string, found {}", kind(other)))),
        }
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<String>> {
        if self.get(key).is_none() {
            return Ok(None);
        }
        self.str(key).map(Some)
    }

    pub fn bool(&self, key: &str) -> Result<bool> {
        match self.req(key)? {
            Value::Bool(b) => Ok(*b),
            other => Err(self.err_at(key, format!("expected true or false, found {}", kind(other)))),
        }
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        if self.get(key).is_none() {
            return Ok(None);
        }
        self.bool(key).map(Some)
    }

    pub fn opt_usize(&self, key: &str) -> Result<Option<usize>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(Some(n.as_u64().unwrap_or_default() as usize)),
            Some(other) => Err(self.err_at(key, format!("expected a non-negative integer, found {}", kind(other)))),
        }
    }

    pub fn u64(&self, key: &str) -> Result<u64> {
        match self.req(key)? {
            Value::Number(n) if n.as_u64().is_some() => Ok(n.as_u64().unwrap_or_default()),
            other => Err(self.err_at(key, format!("expected a non-negative integer, found {}", kind(other)))),
        }
    }

    /// A required string that must be one of `choices`.
    pub fn choice(&self, key: &str, choices: &[&str]) -> Result<String> {
        let value = self.str(key)?;
        if choices.contains(&value.as_str()) {
            Ok(value)
        } else {
            Err(self.err_at(key, format!("`{value}` is not one of: {}", choices.join(", "))))
        }
    }

    pub fn obj(&self, key: &str, allowed: &'static [&'static str]) -> Result<Obj<'a>> {
        Obj::new(self.file, self.child_path(key), self.req(key)?, allowed)
    }

    /// The items of an array member (empty when absent), each with its path.
    pub fn array(&self, key: &str) -> Result<Vec<(String, &'a Value)>> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{}.{key}[{i}]", self.path), v))
                .collect()),
            Some(other) => Err(self.err_at(key, format!("expected an array, found {}", kind(other)))),
        }
    }

    /// The entries of an object member (empty when absent), in file order, each with its path.
    pub fn entries(&self, key: &str) -> Result<Vec<(String, String, &'a Value)>> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Object(map)) => Ok(map
                .iter()
                .map(|(k, v)| (k.clone(), format!("{}.{key}.{k}", self.path), v))
                .collect()),
            Some(other) => Err(self.err_at(key, format!("expected an object, found {}", kind(other)))),
        }
    }

    pub fn string_list(&self, key: &str) -> Result<Vec<String>> {
        self.array(key)?
            .into_iter()
            .map(|(path, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(SpecError::new(
                    self.file,
                    path,
                    format!("expected a string, found {}", kind(other)),
                )),
            })
            .collect()
    }
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
