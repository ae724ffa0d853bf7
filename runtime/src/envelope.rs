//! Opening a service's response envelope: success yields the payload, anything else a typed error.

use serde_json::value::RawValue;
use serde_json::Value;

use crate::codec::{
    kind_of_text, read_flat, read_wrapped, DecodeError, Decoded, Exact, FromJson, Members, ValueReader,
};

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

/// A success payload, still unparsed: the data member of a wrapped envelope (`None` when
/// absent), or the members beside a flat envelope's code and message.
enum Payload<'a> {
    Member(Option<&'a RawValue>),
    Members(Members<'a>),
}

impl<'a> Payload<'a> {
    /// The payload to read member by member.
    fn reader(self) -> Result<Exact<'a>, DecodeError> {
        Ok(match self {
            Payload::Member(Some(raw)) => Exact::Raw(raw),
            Payload::Member(None) => {
                Exact::Joined(RawValue::from_string("null".to_owned()).map_err(|e| DecodeError::new(e.to_string()))?)
            }
            Payload::Members(members) => Exact::Members(members),
        })
    }
}

/// Opens the envelope of a successful HTTP answer: the payload on success, [`Error::Api`] for an
/// error code, [`Error::Decode`] when the body is not an envelope at all. Only the envelope's
/// own members are parsed here; the payload is typed later, straight from the body's text.
fn open<'a>(
    service: &'static ServiceSpec,
    endpoint: &'static EndpointSpec,
    body: &'a [u8],
    hidden: &[&str],
) -> Result<Payload<'a>, Error> {
    let decode_error = |message: String| Error::Decode {
        endpoint: endpoint.id,
        path: String::new(),
        message,
        snippet: snippet(body, hidden),
    };
    let text = std::str::from_utf8(body).map_err(|e| decode_error(format!("invalid JSON: not UTF-8 ({e})")))?;
    let Some(members) = Members::of_text(text) else {
        return Err(decode_error(
            match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Ok(_) => format!("expected a JSON object, got {}", kind_of_text(text)),
                Err(e) => format!("invalid JSON: {e}"),
            },
        ));
    };
    open_members(service, endpoint, members).map_err(|e| e.unwrap_or_else(|| decode_error(missing_code(service))))
}

fn missing_code(service: &ServiceSpec) -> String {
    format!("the envelope has no `{}`", service.envelope.code_field)
}

/// The envelope step on the body's members: the payload, or `Err(Some(Error::Api))` for an
/// error code, `Err(None)` when there is no code at all.
fn open_members<'a>(
    service: &'static ServiceSpec,
    endpoint: &'static EndpointSpec,
    mut members: Members<'a>,
) -> Result<Payload<'a>, Option<Error>> {
    let envelope = &service.envelope;
    let Some(code) = code_text(members.peek(envelope.code_field)) else {
        return Err(None);
    };
    if code != envelope.success_code {
        let numeric = code.parse::<i64>().ok();
        return Err(Some(Error::Api(Box::new(ApiError {
            service: service.id,
            endpoint: endpoint.id,
            code: numeric,
            message: text_of(members.peek(envelope.message_field)).unwrap_or_default(),
            detail_code: envelope.detail_code_field.and_then(|f| text_of(members.peek(f))),
            // An undocumented, non-numeric code is never mistaken for a retryable one.
            handling: numeric.map_or(crate::spec::ErrorHandling::Fail, |n| service.handling_of(n)),
            code_text: code,
        }))));
    }
    match envelope.data_field {
        Some(data) if envelope.wrapped => Ok(Payload::Member(members.take(data))),
        _ => {
            members.skip(envelope.code_field);
            members.skip(envelope.message_field);
            Ok(Payload::Members(members))
        }
    }
}

/// What types a success payload: it reads the payload from the reader it is handed.
pub(crate) type Keep<'k> = dyn FnMut(&mut dyn ValueReader) -> Decoded<()> + 'k;

/// Opens and types one HTTP answer of `endpoint`: `keep` types the success payload; otherwise
/// the precise error (HTTP status, API error code, a body that is not an envelope, or the
/// member that did not decode).
///
/// The answer is read in one pass over its text first. If that fails for any reason (an
/// error code included) it is read again member by member, which finds the precise error: a
/// failed first pass never shows, and both reads run the same typing code.
pub(crate) fn read_answer(
    service: &'static ServiceSpec,
    endpoint: &'static EndpointSpec,
    status: u16,
    body: &[u8],
    hidden: &[&str],
    keep: &mut Keep<'_>,
) -> Result<(), Error> {
    // Checking UTF-8 once up front is cheaper than string by string while reading.
    if let (true, Ok(text)) = ((200..300).contains(&status), std::str::from_utf8(body)) {
        if read_in_one_pass(service, text, keep) {
            return Ok(());
        }
    }
    let payload = open_answer(service, endpoint, status, body, hidden)?;
    let mut reader = payload
        .reader()
        .map_err(|e| decoded_error(endpoint, &e, body, hidden))?;
    keep(&mut reader).map_err(|e| decoded_error(endpoint, &e, body, hidden))
}

/// Whether `body` is a success whose payload `keep` read, in one pass over the text.
fn read_in_one_pass(service: &ServiceSpec, body: &str, keep: &mut Keep<'_>) -> bool {
    let envelope = &service.envelope;
    let mut capture = [(envelope.code_field, None), (envelope.message_field, None)];
    let read = match envelope.data_field {
        Some(data) if envelope.wrapped => read_wrapped(body, data, &mut capture[..1], keep),
        _ => read_flat(body, &mut capture, keep),
    };
    read && code_text(capture[0].1).is_some_and(|code| code == envelope.success_code)
}

/// Opens one HTTP answer of `endpoint`: the success payload, or the precise error (HTTP
/// status, API error code, or a body that is not an envelope). Not generic over the answer's
/// type, so the call path is compiled once for every endpoint.
fn open_answer<'a>(
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
        Err(Error::Decode {
            endpoint, path, message, ..
        }) if endpoint == service.auth.token_endpoint.id => {
            Err(Error::Decode {
                endpoint,
                path,
                message,
                snippet: "<withheld: token response>".into(),
            })
        }
        other => other,
    }
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
/// (one pass over the text, the member-by-member read on failure), without sending anything.
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

/// [`decode_answer`] member by member only (no first pass): what a failed first pass falls
/// back to, for checking that both reads agree.
#[doc(hidden)]
pub fn decode_answer_by_member<R: FromJson>(
    service: &'static ServiceSpec,
    endpoint: &'static EndpointSpec,
    status: u16,
    body: &[u8],
) -> Result<R, Error> {
    let payload = open_answer(service, endpoint, status, body, &[])?;
    let mut reader = payload
        .reader()
        .map_err(|e| decoded_error(endpoint, &e, body, &[]))?;
    R::read(&mut reader).map_err(|e| decoded_error(endpoint, &e, body, &[]))
}
