//! [`LocalDateTime`]: a date and time of day without a zone, as Tuzhan sends times
//! (`yyyy-MM-dd HH:mm:ss`, the spec's `"format": "date_time"`).

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use time::macros::format_description;

use crate::validate::Presence;

/// The wire form: `2020-10-23 12:00:00`.
const WIRE: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// A date and time of day without a time zone, on the wire `yyyy-MM-dd HH:mm:ss`. A value of
/// this type is always well formed: a malformed time is refused where it is parsed, with what
/// was wrong, instead of by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDateTime(pub time::PrimitiveDateTime);

/// A text that is not `yyyy-MM-dd HH:mm:ss`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a `yyyy-MM-dd HH:mm:ss` time: {reason}")]
pub struct DateTimeError {
    text: String,
    reason: String,
}

impl LocalDateTime {
    /// Parses `yyyy-MM-dd HH:mm:ss`.
    pub fn parse(text: &str) -> Result<Self, DateTimeError> {
        time::PrimitiveDateTime::parse(text, WIRE)
            .map(LocalDateTime)
            .map_err(|e| DateTimeError {
                text: text.to_owned(),
                reason: e.to_string(),
            })
    }

    /// From its parts; `None` when they are not a real date and time.
    pub fn from_parts(year: i32, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Option<Self> {
        let month = time::Month::try_from(month).ok()?;
        let date = time::Date::from_calendar_date(year, month, day).ok()?;
        let clock = time::Time::from_hms(hour, minute, second).ok()?;
        Some(LocalDateTime(time::PrimitiveDateTime::new(date, clock)))
    }
}

impl fmt::Display for LocalDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(WIRE) {
            Ok(text) => f.write_str(&text),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl FromStr for LocalDateTime {
    type Err = DateTimeError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        LocalDateTime::parse(text)
    }
}

impl TryFrom<&str> for LocalDateTime {
    type Error = DateTimeError;
    fn try_from(text: &str) -> Result<Self, Self::Error> {
        LocalDateTime::parse(text)
    }
}

impl From<time::PrimitiveDateTime> for LocalDateTime {
    fn from(value: time::PrimitiveDateTime) -> Self {
        LocalDateTime(value)
    }
}

impl Serialize for LocalDateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

struct TextVisitor;

impl Visitor<'_> for TextVisitor {
    type Value = LocalDateTime;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a `yyyy-MM-dd HH:mm:ss` time")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        LocalDateTime::parse(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for LocalDateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor)
    }
}

impl Presence for LocalDateTime {
    fn is_present(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_round_trips_and_bad_text_says_why() {
        let t = LocalDateTime::parse("2020-10-23 12:00:00").unwrap();
        assert_eq!(t.to_string(), "2020-10-23 12:00:00");
        assert_eq!(Some(t), LocalDateTime::from_parts(2020, 10, 23, 12, 0, 0));
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"2020-10-23 12:00:00\"");
        for bad in [
            "2020/10/23 12:00:00",
            "2020-10-23T12:00:00",
            "2020-13-01 00:00:00",
            "2020-10-23",
        ] {
            let err = LocalDateTime::parse(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
        }
        assert!(serde_json::from_str::<LocalDateTime>("\"2020-10-23 12:00\"").is_err());
    }
}
