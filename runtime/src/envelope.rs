//! Opening a service's response envelope: success yields the payload, anything else a typed error.

use serde_json::{Map, Value};

use crate::codec::FromJson;

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

/// Opens one HTTP answer of `endpoint`: the success payload as JSON, or the precise error (HTTP
/// status, API error code, or a body that is not an envelope). Not generic over the answer's
/// type, so the call path is compiled once for every endpoint.
pub(crate) fn open_answer(
    service: &'static ServiceSpec,
    endpoint: &'static EndpointSpec,
    status: u16,
    body: &[u8],
    hidden: &[&str],
) -> Result<Value, Error> {
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
    value: Value,
    endpoint: &'static EndpointSpec,
    body: &[u8],
    hidden: &[&str],
) -> Result<R, Error> {
    R::from_json(value).map_err(|e| decode_error(endpoint, e.to_string(), body, hidden))
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
    let value = open_answer(service, endpoint, status, body, &[])?;
    R::deserialize(value).map_err(|e| decode_error(endpoint, e.to_string(), body, &[]))
}
