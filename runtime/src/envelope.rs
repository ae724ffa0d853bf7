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
        let numeric = code.parse::<i64>().unwrap_or(-1);
        return Err(Error::Api(ApiError {
            service: service.id,
            endpoint: endpoint.id,
            code: numeric,
            message: text_of(map.get(envelope.message_field)).unwrap_or_default(),
            detail_code: envelope.detail_code_field.and_then(|f| text_of(map.get(f))),
            handling: service.handling_of(numeric),
            code_text: code,
        }));
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
