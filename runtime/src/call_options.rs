//! Per-call control: options for some calls on top of the client's (a view of the same client,
//! sharing its token, budgets and connections), and the raw answer next to the typed one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;

/// Options of the calls made through one view of a client (`client.with_call_options(…)`);
/// what is not set here is the client's.
///
/// ```no_run
/// # async fn demo(wecom: qywx_runtime::ServiceClient) {
/// use std::time::Duration;
/// use qywx_runtime::CallOptions;
///
/// // One impatient call: 2 s, no retry, no waiting for room in a rate limit.
/// let quick = wecom.with_call_options(
///     CallOptions::new()
///         .timeout(Duration::from_secs(2))
///         .max_retries(0)
///         .rate_limit_wait(None),
/// );
/// # let _ = quick;
/// # }
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CallOptions {
    /// Timeout of each HTTP exchange (else the client's `request_timeout`).
    pub timeout: Option<Duration>,
    /// Retries after the first attempt (else the client's `max_retries`).
    pub max_retries: Option<u32>,
    /// How long to wait for room in a rate limit (`Some(None)`: fail at once).
    pub rate_limit_wait: Option<Option<Duration>>,
    /// Where to keep the raw answer of each call.
    pub raw: Option<RawAnswerSlot>,
}

impl CallOptions {
    /// No option set: the client's.
    pub fn new() -> Self {
        CallOptions::default()
    }

    /// Timeout of each HTTP exchange.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries after the first attempt (0: none).
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// How long to wait for room in a rate limit; `None`: fail at once with
    /// [`Error::RateLimited`](crate::Error::RateLimited).
    #[must_use]
    pub fn rate_limit_wait(mut self, wait: Option<Duration>) -> Self {
        self.rate_limit_wait = Some(wait);
        self
    }

    /// Keeps the raw answer of each call in `slot` (the last attempt's, successful or not).
    #[must_use]
    pub fn keep_raw(mut self, slot: RawAnswerSlot) -> Self {
        self.raw = Some(slot);
        self
    }
}

/// An answer as it came, with the secrets taken out: the access token, the app's secret and
/// (in a token answer) the new token read `<redacted>`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RawAnswer {
    /// The endpoint id.
    pub endpoint: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl RawAnswer {
    /// The body as text (lossy for bytes that are not UTF-8).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

/// Where the raw answers of a view's calls are kept; clones share it. Hand one to
/// [`CallOptions::keep_raw`], make the call, then [`RawAnswerSlot::take`] the answer.
#[derive(Clone, Debug, Default)]
pub struct RawAnswerSlot(Arc<Mutex<Option<RawAnswer>>>);

impl RawAnswerSlot {
    /// An empty slot.
    pub fn new() -> Self {
        RawAnswerSlot::default()
    }

    /// The last answer kept, leaving the slot empty.
    pub fn take(&self) -> Option<RawAnswer> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    pub(crate) fn keep(&self, answer: RawAnswer) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(answer);
    }
}

/// `body` with every one of `hidden` (at least 4 bytes long) replaced by `<redacted>`, and
/// the member `token_field` too when given (a token answer carries the new token).
pub(crate) fn redacted(body: &[u8], hidden: &[&str], token_field: Option<&str>) -> Vec<u8> {
    let mut body = body.to_vec();
    if let Some(field) = token_field {
        if let Ok(serde_json::Value::Object(mut object)) = serde_json::from_slice(&body) {
            if let Some(token) = object.get_mut(field).filter(|v| v.is_string()) {
                *token = serde_json::Value::String("<redacted>".into());
                body = serde_json::to_vec(&object).unwrap_or_default();
            }
        }
    }
    for secret in hidden.iter().filter(|s| s.len() >= 4) {
        body = replace_all(&body, secret.as_bytes(), b"<redacted>");
    }
    body
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_a_new_token_are_taken_out() {
        let body = br#"{"errcode":0,"access_token":"NEW-TOKEN-123","echo":"sekret-value and OLD-TOKEN"}"#;
        let out = redacted(body, &["sekret-value", "OLD-TOKEN", ""], Some("access_token"));
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("NEW-TOKEN") && !text.contains("sekret") && !text.contains("OLD-TOKEN"), "{text}");
        assert!(text.contains(r#""errcode":0"#), "{text}");
        // Not JSON: only the known values go.
        let out = redacted(b"<html>OLD-TOKEN</html>", &["OLD-TOKEN"], Some("access_token"));
        assert_eq!(out, b"<html><redacted></html>");
    }
}
