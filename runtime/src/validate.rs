//! Request validation. The generator emits a [`Validate`] impl per request and object type from
//! the spec's constraints; these helpers do the checking and build field paths only on failure.

use crate::Violation;

/// Collects violations while walking a request; keeps the current field path, and the values
/// of the request's own members that rules of nested rows refer to (`publicParams.optType`).
#[derive(Debug, Default)]
pub struct Validator {
    path: String,
    violations: Vec<Violation>,
    context: Vec<(&'static str, String)>,
}

impl Validator {
    /// A validator at the request root.
    pub fn new() -> Self {
        Self::default()
    }

    /// The violations found, in field order.
    pub fn into_violations(self) -> Vec<Violation> {
        self.violations
    }

    /// A validator for rows of a request whose members `context` holds (name, wire value).
    pub fn with_context(context: Vec<(&'static str, String)>) -> Self {
        Validator {
            context,
            ..Self::default()
        }
    }

    /// Records the wire value of a request member that nested rules refer to (`None`: unset).
    pub fn set_context(&mut self, name: &'static str, value: Option<String>) {
        self.context.retain(|(n, _)| *n != name);
        if let Some(value) = value {
            self.context.push((name, value));
        }
    }

    /// The wire value of request member `name`, when the request gave it.
    pub fn context(&self, name: &str) -> Option<&str> {
        self.context.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// Records a violation of `rule` at `field` below the current path.
    pub fn report(&mut self, field: &str, rule: impl Into<String>) {
        let path = self.path_to(field);
        self.violations.push(Violation {
            path,
            rule: rule.into(),
        });
    }

    fn path_to(&self, field: &str) -> String {
        match (self.path.is_empty(), field.is_empty()) {
            (true, _) => field.to_owned(),
            (false, true) => self.path.clone(),
            (false, false) => format!("{}.{field}", self.path),
        }
    }

    /// Validates `value` as the member `field` of the current object.
    pub fn nested<T: Validate + ?Sized>(&mut self, field: &str, value: &T) {
        let saved = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(field);
        value.validate(self);
        self.path.truncate(saved);
    }

    /// Validates each item of `items`, the member `field`, as `field[i]`.
    pub fn each<T: Validate>(&mut self, field: &str, items: &[T]) {
        use std::fmt::Write;
        for (i, item) in items.iter().enumerate() {
            let saved = self.path.len();
            if !self.path.is_empty() {
                self.path.push('.');
            }
            let _ = write!(self.path, "{field}[{i}]");
            item.validate(self);
            self.path.truncate(saved);
        }
    }

    /// Checks a string's length in characters against `min..=max`.
    pub fn length(&mut self, field: &str, value: &str, min: Option<usize>, max: Option<usize>) {
        let len = value.chars().count();
        if min.is_some_and(|m| len < m) || max.is_some_and(|m| len > m) {
            self.report(
                field,
                format!("length {len} is outside {} characters", range_text(min, max)),
            );
        }
    }

    /// Checks a file's size in bytes against `min..=max`.
    pub fn bytes(&mut self, field: &str, size: usize, min: Option<usize>, max: Option<usize>) {
        if min.is_some_and(|m| size < m) || max.is_some_and(|m| size > m) {
            self.report(field, format!("size {size} bytes is outside {} bytes", range_text(min, max)));
        }
    }

    /// Checks an array's item count against `min..=max`.
    pub fn items(&mut self, field: &str, count: usize, min: Option<usize>, max: Option<usize>) {
        if min.is_some_and(|m| count < m) || max.is_some_and(|m| count > m) {
            self.report(
                field,
                format!("{count} items is outside {} items", range_text(min, max)),
            );
        }
    }
}

fn range_text(min: Option<usize>, max: Option<usize>) -> String {
    match (min, max) {
        (Some(lo), Some(hi)) => format!("{lo}..={hi}"),
        (Some(lo), None) => format!("at least {lo}"),
        (None, Some(hi)) => format!("at most {hi}"),
        (None, None) => "any".to_owned(),
    }
}

/// A request or object type whose spec constraints can be checked before sending.
pub trait Validate {
    /// Reports every broken rule to `v`.
    fn validate(&self, v: &mut Validator);

    /// All violations of `self` as a root value.
    fn violations(&self) -> Vec<Violation> {
        let mut v = Validator::new();
        self.validate(&mut v);
        v.into_violations()
    }
}

/// Whether a field counts as given for one-of and required-when rules: set, and not an empty
/// string or empty list (implemented by generated code).
#[doc(hidden)]
pub trait Presence {
    /// `true` when set and non-empty.
    fn is_present(&self) -> bool;
}

impl Presence for String {
    fn is_present(&self) -> bool {
        !self.is_empty()
    }
}

impl<T> Presence for Vec<T> {
    fn is_present(&self) -> bool {
        !self.is_empty()
    }
}

impl<T: Presence> Presence for Option<T> {
    fn is_present(&self) -> bool {
        self.as_ref().is_some_and(Presence::is_present)
    }
}

macro_rules! always_present {
    ($($t:ty),*) => {$(
        impl Presence for $t {
            fn is_present(&self) -> bool {
                true
            }
        }
    )*};
}
always_present!(bool, i32, i64, u32, u64);

/// Objects whose own fields have nothing to check still take part in nested walks.
impl<T: Validate> Validate for Option<T> {
    fn validate(&self, v: &mut Validator) {
        if let Some(inner) = self {
            inner.validate(v);
        }
    }
}

/// A value as its wire text, for rules of rows that test members of their request.
pub trait WireText {
    /// The text the value goes on the wire as.
    fn wire_text(&self) -> String;
}

macro_rules! wire_text {
    ($($t:ty),*) => {$(
        impl WireText for $t {
            fn wire_text(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
wire_text!(String, bool, i32, i64, u32, u64, crate::LocalDateTime);
