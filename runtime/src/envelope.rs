//! Opening a service's response envelope: success yields the payload, anything else a typed error.

use serde_json::{Map, Value};

use crate::spec::{EndpointSpec, ServiceSpec};
use crate::{ApiError, Error};

/// Longest body excerpt kept in an error.
const SNIPPET_CHARS: usize = 200;

/// The start of `body`, with every `hidden` value replaced, for error messages.
pub(crate) fn snippet(body: &[u8], hidden: &[&str]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut cut: String = text.chars().take(SNIPPET_CHARS).collect();
    for secret in hidden.iter().filter(|s| s.len() >= 4) {
        cut = cut.replace(secret, "<redacted>");
        // A secret cut off at the end of the excerpt still leaks its prefix: drop the tail.
        if let Some(pos) = (1..secret.len())
            .rev()
            .find(|&n| secret.is_char_boundary(n) && cut.ends_with(&secret[..n]))
        {
            cut.truncate(cut.len() - pos);
            cut.push_str("<redacted>");
        }
    }
    if text.chars().count() > SNIPPET_CHARS {
        cut.push('…');
    }
    cut
}

/// The envelope's code as text, whether sent as a number or a string.
fn code_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Opens the envelope of a successful HTTP answer: the payload on success, [`Error::Api`] for an
/// error code, [`Error::Decode`] when the body is not an envelope at all.
pub(crate) fn open(
    service: &'static ServiceSpec,
    endpoint: &'static EndpointSpec,
    body: &[u8],
    hidden: &[&str],
) -> Result<Value, Error> {
    let decode_error = |message: String| Error::Decode {
        endpoint: endpoint.id,
        message,
        snippet: snippet(body, hidden),
    };
    let mut map: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => map,
        Ok(other) => return Err(decode_error(format!("expected a JSON object, got {}", kind_of(&other)))),
        Err(e) => return Err(decode_error(format!("invalid JSON: {e}"))),
    };
    let envelope = &service.envelope;
    let Some(code) = map.get(envelope.code_field).and_then(code_text) else {
        return Err(decode_error(format!("the envelope has no `{}`", envelope.code_field)));
    };
    if code != envelope.success_code {
        let numeric = code.parse::<i64>().ok();
        return Err(Error::Api(Box::new(ApiError {
            service: service.id,
            endpoint: endpoint.id,
            code: numeric,
            message: text_of(map.get(envelope.message_field)).unwrap_or_default(),
            detail_code: envelope.detail_code_field.and_then(|f| text_of(map.get(f))),
            // An undocumented, non-numeric code is never mistaken for a retryable one.
            handling: numeric.map_or(crate::spec::ErrorHandling::Fail, |n| service.handling_of(n)),
            code_text: code,
        })));
    }
    match envelope.data_field {
        Some(data) if envelope.wrapped => Ok(map.remove(data).unwrap_or(Value::Null)),
        _ => {
            map.remove(envelope.code_field);
            map.remove(envelope.message_field);
            Ok(Value::Object(map))
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What an HTTP answer held: the typed payload (fast path) or its JSON, still to be typed.
pub(crate) enum Answer<R> {
    Typed(R),
    Payload(Value),
}

/// Decodes one HTTP answer of `endpoint`: the success payload, or the precise error.
pub(crate) fn decode_answer<R: serde::de::DeserializeOwned>(
    service: &'static ServiceSpec,
    endpoint: &'static EndpointSpec,
    status: u16,
    body: &[u8],
    hidden: &[&str],
) -> Result<Answer<R>, Error> {
    let success = (200..300).contains(&status);
    if success {
        if let Some(value) = decode_success::<R>(service, body) {
            return Ok(Answer::Typed(value));
        }
    } else {
        return Err(Error::HttpStatus {
            endpoint: endpoint.id,
            status,
            snippet: snippet(body, hidden),
        });
    }
    match open(service, endpoint, body, hidden) {
        Ok(value) => Ok(Answer::Payload(value)),
        // The token endpoint's body may hold a token we do not know yet: keep it out of errors.
        Err(Error::Decode { endpoint, message, .. }) if endpoint == service.auth.token_endpoint.id => {
            Err(Error::Decode {
                endpoint,
                message,
                snippet: "<withheld: token response>".into(),
            })
        }
        Err(error) => Err(error),
    }
}

/// Types a decoded payload.
pub(crate) fn into_typed<R: serde::de::DeserializeOwned>(
    answer: Answer<R>,
    endpoint: &'static EndpointSpec,
    body: &[u8],
    hidden: &[&str],
) -> Result<R, Error> {
    match answer {
        Answer::Typed(value) => Ok(value),
        Answer::Payload(value) => R::deserialize(value).map_err(|e| Error::Decode {
            endpoint: endpoint.id,
            message: e.to_string(),
            snippet: if endpoint.auth {
                snippet(body, hidden)
            } else {
                "<withheld: token response>".into()
            },
        }),
    }
}

/// Decodes one answer of `endpoint` exactly as a client call would (status, envelope, lenient
/// fields, typed errors) without sending anything: for replaying recorded answers and for tests.
pub fn decode_response<R: serde::de::DeserializeOwned>(
    service: &'static ServiceSpec,
    endpoint: &'static EndpointSpec,
    status: u16,
    body: &[u8],
) -> Result<R, Error> {
    let answer = decode_answer::<R>(service, endpoint, status, body, &[])?;
    into_typed(answer, endpoint, body, &[])
}

/// The fast path for the common case: decode a successful answer straight from the bytes into
/// `T`, capturing the envelope's code on the way (no intermediate `Value`). Returns `None`
/// whenever the answer is not a plain success or does not decode; the caller then takes
/// [`open`], which is the reference behaviour and produces the precise error.
pub(crate) fn decode_success<T: serde::de::DeserializeOwned>(service: &'static ServiceSpec, body: &[u8]) -> Option<T> {
    let envelope = &service.envelope;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let mut code = None;
    let value = if envelope.wrapped {
        let data = envelope.data_field?;
        serde::Deserializer::deserialize_map(
            &mut deserializer,
            fast::Wrapped {
                code_field: envelope.code_field,
                data_field: data,
                code: &mut code,
                _t: std::marker::PhantomData,
            },
        )
        .ok()?
    } else {
        serde::Deserializer::deserialize_map(
            &mut deserializer,
            fast::Flat {
                code_field: envelope.code_field,
                message_field: envelope.message_field,
                code: &mut code,
                _t: std::marker::PhantomData,
            },
        )
        .ok()?
    };
    deserializer.end().ok()?;
    (code.as_deref() == Some(envelope.success_code)).then_some(value)
}

mod fast {
    use std::fmt;
    use std::marker::PhantomData;

    use std::borrow::Cow;

    use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
    use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

    /// Reads an envelope code (number or string) as text.
    pub(super) struct CodeText;

    impl<'de> Visitor<'de> for CodeText {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a result code")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.trim().to_owned()))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }

    impl<'de> DeserializeSeed<'de> for CodeText {
        type Value = Option<String>;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    /// A member name, borrowed from the body when it has no escapes (no allocation per key).
    struct KeyText;

    impl<'de> Visitor<'de> for KeyText {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a member name")
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v))
        }
    }

    impl<'de> DeserializeSeed<'de> for KeyText {
        type Value = Cow<'de, str>;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
    }

    /// A flat envelope: the payload's fields sit beside the code and message.
    pub(super) struct Flat<'c, T> {
        pub code_field: &'static str,
        pub message_field: &'static str,
        pub code: &'c mut Option<String>,
        pub _t: PhantomData<T>,
    }

    impl<'de, T: DeserializeOwned> Visitor<'de> for Flat<'_, T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a response envelope")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            let filtered = WithoutEnvelope {
                inner: map,
                code_field: self.code_field,
                message_field: self.message_field,
                code: self.code,
            };
            T::deserialize(de::value::MapAccessDeserializer::new(filtered))
        }
    }

    /// Hands the payload's entries to `T`, keeping the envelope's for itself.
    struct WithoutEnvelope<'c, A> {
        inner: A,
        code_field: &'static str,
        message_field: &'static str,
        code: &'c mut Option<String>,
    }

    impl<'de, A: MapAccess<'de>> MapAccess<'de> for WithoutEnvelope<'_, A> {
        type Error = A::Error;

        fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
            while let Some(key) = self.inner.next_key_seed(KeyText)? {
                if key == self.code_field {
                    *self.code = self.inner.next_value_seed(CodeText)?;
                } else if key == self.message_field {
                    self.inner.next_value::<IgnoredAny>()?;
                } else {
                    return match key {
                        Cow::Borrowed(k) => seed.deserialize(BorrowedStrDeserializer::<A::Error>::new(k)).map(Some),
                        Cow::Owned(k) => seed.deserialize(StringDeserializer::<A::Error>::new(k)).map(Some),
                    };
                }
            }
            Ok(None)
        }

        fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
            self.inner.next_value_seed(seed)
        }
    }

    /// A wrapped envelope: the payload is one member.
    pub(super) struct Wrapped<'c, T> {
        pub code_field: &'static str,
        pub data_field: &'static str,
        pub code: &'c mut Option<String>,
        pub _t: PhantomData<T>,
    }

    impl<'de, T: DeserializeOwned> Visitor<'de> for Wrapped<'_, T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a response envelope")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
            let mut data = None;
            while let Some(key) = map.next_key::<String>()? {
                if key == self.code_field {
                    *self.code = map.next_value_seed(CodeText)?;
                } else if key == self.data_field {
                    data = Some(map.next_value::<T>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            data.ok_or_else(|| de::Error::missing_field(self.data_field))
        }
    }
}
