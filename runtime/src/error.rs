use std::fmt;

use crate::spec::ErrorHandling;

/// Result of every client call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a call can fail with. No variant ever holds a token or a secret: transport errors
/// are stripped of their URL (WeCom URLs carry the token) and body snippets are redacted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request never got an HTTP answer: connect failure, timeout, broken connection. The
    /// cause is the transport's error (for reqwest, its error stripped of its URL, with its whole
    /// source chain).
    #[error("{endpoint}: transport error{}", if *.timeout { " (timeout)" } else { "" })]
    Transport {
        /// Endpoint id.
        endpoint: &'static str,
        /// Whether it was a timeout.
        timeout: bool,
        /// What went wrong, and whether anything was sent ([`TransportError::is_connect`](crate::transport::TransportError::is_connect)).
        #[source]
        source: crate::transport::TransportError,
    },
    /// The server answered with a non-success HTTP status.
    #[error("{endpoint}: HTTP status {status}; body starts: {snippet:?}")]
    HttpStatus {
        /// Endpoint id.
        endpoint: &'static str,
        /// The status code.
        status: u16,
        /// The start of the body, redacted.
        snippet: String,
    },
    /// The server answered with an API error code in the envelope (boxed: it is the largest variant).
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The body is not what the spec says.
    #[error("{endpoint}: undecodable response: {message}; body starts: {snippet:?}")]
    Decode {
        /// Endpoint id.
        endpoint: &'static str,
        /// The JSON path of the member that did not fit (`department[1].id`); empty when the
        /// body itself is not an answer.
        path: String,
        /// Why it could not be decoded (with the path, when there is one).
        message: String,
        /// The start of the body, redacted.
        snippet: String,
    },
    /// The request breaks a rule of the spec; nothing was sent.
    #[error("{endpoint}: invalid input: {}", DisplayViolations(.violations))]
    InvalidInput {
        /// Endpoint id.
        endpoint: &'static str,
        /// Every rule broken, in field order.
        violations: Vec<Violation>,
    },
    /// The shared token store (Redis) failed; the store's own error is the source.
    #[error("token store: {source}")]
    TokenStore {
        /// The store's error (for Redis, its `RedisError`).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An asynchronous job had not finished when the wait gave up (the job may still finish:
    /// its id polls on).
    #[error("{endpoint}: job {job_id} not finished after {waited:?} ({percentage}% done)")]
    JobTimeout {
        /// The endpoint that started the job.
        endpoint: &'static str,
        /// The job id.
        job_id: String,
        /// How long the wait lasted.
        waited: std::time::Duration,
        /// The progress last reported.
        percentage: u32,
    },
    /// The call would go over a rate limit of the service (or the API is paused after the
    /// service answered its rate-limit code); nothing was sent. `retry_after` is how long until
    /// it fits, when the client's wait (`ClientOptions::rate_limit_wait`) was shorter.
    #[error("{endpoint}: over the rate limit; room again in {retry_after:?} (nothing sent)")]
    RateLimited {
        /// Endpoint id.
        endpoint: &'static str,
        /// How long until the call fits.
        retry_after: std::time::Duration,
    },
    /// An export job failed on the server (its result endpoint reported a failure).
    #[error("{endpoint}: export job {job_id} failed on the server")]
    ExportFailed {
        /// The endpoint that started the export.
        endpoint: &'static str,
        /// The job id.
        job_id: String,
    },
    /// An export's file (or its key, or one of its rows) could not be taken.
    #[error("export job {job_id}{}: {problem}", .file.map(|f| format!(", file {f}")).unwrap_or_default())]
    Export {
        /// The job id.
        job_id: String,
        /// The file's index in the result's list, when one file is at fault.
        file: Option<usize>,
        /// What went wrong.
        problem: crate::export::ExportProblem,
    },
    /// The client is misconfigured (for example an unparsable base URL).
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl Error {
    /// A failure of a token store, keeping its error as the source (for custom stores).
    pub fn token_store(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error::TokenStore { source: source.into() }
    }

    /// The API error, when the server answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(&**e),
            _ => None,
        }
    }

    /// The API error code, when the server answered with a numeric one.
    pub fn api_code(&self) -> Option<i64> {
        self.api().and_then(|e| e.code)
    }

    /// Whether the call was refused for exceeding a rate or concurrency limit, by the server or
    /// before it was sent.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::RateLimited { .. }) || self.api().is_some_and(|e| e.handling == ErrorHandling::RateLimited)
    }

    /// Whether the app id or secret is wrong (WeCom 40001, Tuzhan 100100).
    pub fn is_invalid_credentials(&self) -> bool {
        self.api()
            .is_some_and(|e| e.handling == ErrorHandling::InvalidCredentials)
    }

    /// Whether it was a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Transport { timeout: true, .. })
    }
}

/// An error code answered in the response envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// Service id (`wecom`, `tuzhan`).
    pub service: &'static str,
    /// Endpoint id (`department.create`).
    pub endpoint: &'static str,
    /// The code (`errcode`, or Tuzhan's `code` parsed as a number); `None` when it is not numeric.
    pub code: Option<i64>,
    /// The code as sent.
    pub code_text: String,
    /// The message (`errmsg`, `msg`).
    pub message: String,
    /// The second code, when the service sends one (Tuzhan `errorCode`).
    pub detail_code: Option<String>,
    /// What the spec says to do about this code.
    pub handling: ErrorHandling,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: API error {} from {}: {}",
            self.endpoint, self.code_text, self.service, self.message
        )?;
        if let Some(detail) = &self.detail_code {
            write!(f, " (errorCode {detail})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// One broken rule: where and which.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// Field path from the request root, e.g. `data[3].thirdDeptId`.
    pub path: String,
    /// The rule, in words.
    pub rule: String,
}

impl Violation {
    /// A violation of `rule` at `path`.
    pub fn new(path: impl Into<String>, rule: impl Into<String>) -> Self {
        Violation {
            path: path.into(),
            rule: rule.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.path, self.rule)
    }
}

struct DisplayViolations<'a>(&'a [Violation]);

impl fmt::Display for DisplayViolations<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => f.write_str("no violation recorded"),
            [first] => write!(f, "{first}"),
            [first, rest @ ..] => write!(f, "{first} (and {} more)", rest.len()),
        }
    }
}
