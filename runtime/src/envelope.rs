//! Opening a service's response envelope: success yields the payload, anything else a typed error.

use serde_json::value::RawValue;
use serde_json::Value;

use crate::codec::{kind_of_text, DecodeError, Decoded, FromJson, Members};

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

/// A member as text: a string's contents, a number or boolean as written; `None` for null or
/// absent.
fn text_of(raw: Option<&RawValue>) -> Option<String> {
    let raw = raw?;
    let text = raw.get().trim();
    if text.starts_with('"') {
        String::from_json(raw).ok()
    } else if text == "null" {
        None
    } else {
        Some(text.to_owned())
    }
}

/// The envelope's code as text, whether sent as a number or a string.
fn code_text(raw: Option<&RawValue>) -> Option<String> {
    let raw = raw?;
    match raw.get().trim().chars().next()? {
        '"' => String::from_json(raw).ok().map(|s| s.trim().to_owned()),
        '-' | '0'..='9' => Some(raw.get().trim().to_owned()),
        _ => None,
    }
}

/// A success payload, still unparsed: the data member of a wrapped envelope, or the members
/// beside a flat envelope's code and message.
pub(crate) enum Payload<'a> {
    Raw(&'a RawValue),
    /// A wrapped envelope without its data member.
    Absent,
    Members(Members<'a>),
}

impl Payload<'_> {
    /// The payload as `R`.
    pub(crate) fn typed<R: FromJson>(self) -> Decoded<R> {
        match self {
            Payload::Raw(raw) => R::from_json(raw),
            Payload::Absent => {
                let null = RawValue::from_string("null".to_owned()).map_err(|e| DecodeError::new(e.to_string()))?;
                R::from_json(&null)
            }
            Payload::Members(members) => R::from_members(members),
        }
    }
}

/// Opens the envelope of a successful HTTP answer: the payload on success, [`Error::Api`] for an
/// error code, [`Error::Decode`] when the body is not an envelope at all. Only the envelope's
/// own members are parsed here; the payload is typed later, straight from the body's text.
pub(crate) fn open<'a>(
    service: &'static ServiceSpec,
    endpoint: &'static EndpointSpec,
    body: &'a [u8],
    hidden: &[&str],
) -> Result<Payload<'a>, Error> {
    let decode_error = |message: String| Error::Decode {
        endpoint: endpoint.id,
        message,
        snippet: snippet(body, hidden),
    };
    let text = std::str::from_utf8(body).map_err(|e| decode_error(format!("invalid JSON: not UTF-8 ({e})")))?;
    let Some(mut members) = Members::of_text(text) else {
        return Err(decode_error(
            match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Ok(_) => format!("expected a JSON object, got {}", kind_of_text(text)),
                Err(e) => format!("invalid JSON: {e}"),
            },
        ));
    };
    let envelope = &service.envelope;
    let Some(code) = code_text(members.peek(envelope.code_field)) else {
        return Err(decode_error(format!("the envelope has no `{}`", envelope.code_field)));
    };
    if code != envelope.success_code {
        let numeric = code.parse::<i64>().ok();
        return Err(Error::Api(Box::new(ApiError {
            service: service.id,
            endpoint: endpoint.id,
            code: numeric,
            message: text_of(members.peek(envelope.message_field)).unwrap_or_default(),
            detail_code: envelope.detail_code_field.and_then(|f| text_of(members.peek(f))),
            // An undocumented, non-numeric code is never mistaken for a retryable one.
            handling: numeric.map_or(crate::spec::ErrorHandling::Fail, |n| service.handling_of(n)),
            code_text: code,
        })));
    }
    match envelope.data_field {
        Some(data) if envelope.wrapped => Ok(members.take(data).map_or(Payload::Absent, Payload::Raw)),
        _ => {
            members.skip(envelope.code_field);
            members.skip(envelope.message_field);
            Ok(Payload::Members(members))
        }
    }
}

/// Opens one HTTP answer of `endpoint`: the success payload, or the precise error (HTTP
/// status, API error code, or a body that is not an envelope). Not generic over the answer's
/// type, so the call path is compiled once for every endpoint.
pub(crate) fn open_answer<'a>(
    service: &'static ServiceSpec,
    endpoint: &'static EndpointSpec,
    status: u16,
    body: &'a [u8],
    hidden: &[&str],
) -> Result<Payload<'a>, Error> {
    if !(200..300).contains(&status) {
        return Err(Error::HttpStatus {
            endpoint: endpoint.id,
            status,
            snippet: snippet(body, hidden),
        });
    }
    match open(service, endpoint, body, hidden) {
        // The token endpoint's body may hold a token we do not know yet: keep it out of errors.
        Err(Error::Decode { endpoint, message, .. }) if endpoint == service.auth.token_endpoint.id => {
            Err(Error::Decode {
                endpoint,
                message,
                snippet: "<withheld: token response>".into(),
            })
        }
        other => other,
    }
}

/// Types a success payload; a payload that does not fit is [`Error::Decode`] with the member
/// path that failed.
pub(crate) fn typed<R: FromJson>(
    payload: Payload<'_>,
    endpoint: &'static EndpointSpec,
    body: &[u8],
    hidden: &[&str],
) -> Result<R, Error> {
    payload
        .typed()
        .map_err(|e| decode_error(endpoint, e.to_string(), body, hidden))
}

fn decode_error(endpoint: &'static EndpointSpec, message: String, body: &[u8], hidden: &[&str]) -> Error {
    Error::Decode {
        endpoint: endpoint.id,
        message,
        snippet: if endpoint.auth {
            snippet(body, hidden)
        } else {
            "<withheld: token response>".into()
        },
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
    let payload = open_answer(service, endpoint, status, body, &[])?;
    let value: Value = typed(payload, endpoint, body, &[])?;
    R::deserialize(value).map_err(|e| decode_error(endpoint, e.to_string(), body, &[]))
}
