//! The outcome of a delete that is safe to repeat.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// What a delete did. A delete is retried after a failure that may have come after the server
/// applied it (the answer lost on the way); the retry then finds nothing to delete. That is not
/// an error of the call: the thing is gone, as asked.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Deleted<R> {
    /// The server deleted it and answered.
    Now(R),
    /// A retry found it already gone: an earlier attempt of this call deleted it and its answer
    /// was lost. `code` and `message` are the retry's "does not exist" answer, as sent.
    AlreadyGone {
        /// The code the retry was answered (one the spec names for this endpoint).
        code: i64,
        /// Its message.
        message: String,
    },
}

impl<R> Deleted<R> {
    /// The server's answer, when this call's own attempt was answered.
    pub fn answer(&self) -> Option<&R> {
        match self {
            Deleted::Now(answer) => Some(answer),
            Deleted::AlreadyGone { .. } => None,
        }
    }

    /// True when an earlier attempt deleted it (see [`Deleted::AlreadyGone`]).
    pub fn already_gone(&self) -> bool {
        matches!(self, Deleted::AlreadyGone { .. })
    }
}

/// The answer as it is, or `{"already_gone": true, "code": …, "message": …}`.
impl<R: Serialize> Serialize for Deleted<R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Deleted::Now(answer) => answer.serialize(serializer),
            Deleted::AlreadyGone { code, message } => {
                let mut map = serializer.serialize_map(Some(3))?;
                map.serialize_entry("already_gone", &true)?;
                map.serialize_entry("code", code)?;
                map.serialize_entry("message", message)?;
                map.end()
            }
        }
    }
}
