//! Opening a service's response envelope: success yields the payload, anything else a typed error.

use serde_json::value::RawValue;
use serde_json::Value;

use crate::codec::{read_flat, read_wrapped, scan_object, DecodeError, Decoded, FromJson, ValueReader};

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

/// Whether the envelope's code is `code` (sent as a number or a string), without allocating:
/// every answer is checked.
fn is_code(raw: Option<&RawValue>, code: &str) -> bool {
    let Some(raw) = raw else {
        return false;
    };
    let text = raw.get().trim();
    text == code || (text.starts_with('"') && code_text(Some(raw)).is_some_and(|c| c == code))
}

/// What kind of JSON value `text` is, from its first character, for messages.
fn kind_of_text(text: &str) -> &'static str {
    match text.trim_start().chars().next() {
        Some('{') => "an object",
        Some('[') => "an array",
        Some('"') => "a string",
        Some('t' | 'f') => "a boolean",
        Some('n') => "null",
        _ => "a number",
    }
}

/// What types a success payload: it reads the payload from the reader it is handed.
pub(crate) type Keep<'k> = dyn FnMut(&mut dyn ValueReader) -> Decoded<()> + 'k;

/// Opens and types one HTTP answer of `endpoint`: `keep` types the success payload; otherwise
/// the precise error (HTTP status, API error code, a body that is not an envelope, or the
/// member that did not decode, with its path).
///
/// The answer is read in one pass over its text: the envelope's code and message are kept
/// aside as they pass and the payload is typed as it comes. Only when that does not end in a
/// success are the envelope's own members looked at again, to tell an error code (or a body
/// that is no envelope) from a payload that did not fit.
pub(crate) fn read_answer(
    service: &'static ServiceSpec,
    endpoint: &'static EndpointSpec,
    status: u16,
    body: &[u8],
    hidden: &[&str],
    keep: &mut Keep<'_>,
) -> Result<(), Error> {
    if !(200..300).contains(&status) {
        return Err(Error::HttpStatus {
            endpoint: endpoint.id,
            status,
            snippet: snippet(body, hidden),
        });
    }
    let envelope = &service.envelope;
    // Checking UTF-8 once up front, vectorised, is cheaper than string by string while reading
    // (serde_json's check on bytes). Invalid text reads as nothing and `open` says why.
    let text = simdutf8::basic::from_utf8(body).unwrap_or_default();
    let mut capture = [(envelope.code_field, None), (envelope.message_field, None)];
    let read = match envelope.data_field {
        Some(data) if envelope.wrapped => read_wrapped(text, data, &mut capture[..1], keep),
        _ => read_flat(text, &mut capture, keep).map(|()| true),
    };
    if matches!(read, Ok(true)) && is_code(capture[0].1, envelope.success_code) {
        return Ok(());
    }
    open(service, endpoint, body, hidden)?;
    match read {
        // A success without its `data`: the payload is `null`.
        Ok(_) => from_null(keep),
        Err(e) => Err(e),
    }
    .map_err(|e| decoded_error(endpoint, &e, body, hidden))
}

/// The payload of a wrapped success that has no data member.
fn from_null(keep: &mut Keep<'_>) -> Decoded<()> {
    crate::codec::read_text("null", keep)
}

/// The envelope of an answer that did not read as a success: [`Error::Api`] for an error code,
/// [`Error::Decode`] when the body is not an envelope at all, `Ok` for a success code.
fn open(service: &'static ServiceSpec, endpoint: &'static EndpointSpec, body: &[u8], hidden: &[&str]) -> Result<(), Error> {
    let envelope = &service.envelope;
    let decode_error = |message: String| {
        // The token endpoint's body may hold a token we do not know yet: keep it out of errors.
        let snippet = if endpoint.id == service.auth.token_endpoint.id {
            "<withheld: token response>".into()
        } else {
            snippet(body, hidden)
        };
        Error::Decode {
            endpoint: endpoint.id,
            path: String::new(),
            message,
            snippet,
        }
    };
    let text = std::str::from_utf8(body).map_err(|e| decode_error(format!("invalid JSON: not UTF-8 ({e})")))?;
    let mut capture = [
        (envelope.code_field, None),
        (envelope.message_field, None),
        (envelope.detail_code_field.unwrap_or(envelope.code_field), None),
    ];
    let scanned = if envelope.detail_code_field.is_some() { 3 } else { 2 };
    if scan_object(text, &mut capture[..scanned]).is_err() {
        return Err(decode_error(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => format!("expected a JSON object, got {}", kind_of_text(text)),
            Err(e) => format!("invalid JSON: {e}"),
        }));
    }
    let Some(code) = code_text(capture[0].1) else {
        return Err(decode_error(format!("the envelope has no `{}`", envelope.code_field)));
    };
    if code == envelope.success_code {
        return Ok(());
    }
    let numeric = code.parse::<i64>().ok();
    Err(Error::Api(Box::new(ApiError {
        service: service.id,
        endpoint: endpoint.id,
        code: numeric,
        message: text_of(capture[1].1).unwrap_or_default(),
        detail_code: envelope.detail_code_field.and_then(|_| text_of(capture[2].1)),
        // An undocumented, non-numeric code is never mistaken for a retryable one.
        handling: numeric.map_or(crate::spec::ErrorHandling::Fail, |n| service.handling_of(n)),
        code_text: code,
    })))
}

/// [`Error::Decode`] for a member that did not fit, with its path.
fn decoded_error(endpoint: &'static EndpointSpec, e: &DecodeError, body: &[u8], hidden: &[&str]) -> Error {
    decode_error(endpoint, e.path(), e.to_string(), body, hidden)
}

fn decode_error(endpoint: &'static EndpointSpec, path: String, message: String, body: &[u8], hidden: &[&str]) -> Error {
    Error::Decode {
        endpoint: endpoint.id,
        path,
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
    let mut value: Option<Value> = None;
    read_answer(service, endpoint, status, body, &[], &mut |payload| {
        value = Some(Value::read(payload)?);
        Ok(())
    })?;
    let value = value.unwrap_or_default();
    R::deserialize(value).map_err(|e| decode_error(endpoint, String::new(), e.to_string(), body, &[]))
}

/// Decodes one answer of `endpoint` into its typed answer `R` exactly as a client call does
/// (one pass over the text; an error names the member path), without sending anything.
#[doc(hidden)]
pub fn decode_answer<R: FromJson>(
    service: &'static ServiceSpec,
    endpoint: &'static EndpointSpec,
    status: u16,
    body: &[u8],
) -> Result<R, Error> {
    let mut answer = None;
    read_answer(service, endpoint, status, body, &[], &mut |payload| {
        answer = Some(R::read(payload)?);
        Ok(())
    })?;
    answer.ok_or_else(|| Error::Config(format!("{}: no answer was kept", endpoint.id)))
}
