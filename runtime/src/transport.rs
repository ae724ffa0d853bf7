//! The HTTP seam: the client hands each exchange to a [`Transport`]. [`ReqwestTransport`] is the
//! default; [`FnTransport`] answers in process (tests, replays), and an application can wrap
//! either to count, trace or shape calls (each request names its endpoint).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use crate::spec::HttpMethod;
use crate::upload::FilePart;
use crate::Secret;

/// One request, as the client built it.
#[non_exhaustive]
pub struct HttpRequest {
    /// The endpoint id (`department.list`): what a wrapping transport counts or traces by.
    pub endpoint: &'static str,
    /// `GET` or `POST`.
    pub method: HttpMethod,
    /// The whole URL (its query may carry the token: `Debug` shows the path only).
    pub url: Url,
    /// The token, when the service takes it in a header: the header's name and the token.
    pub token_header: Option<(&'static str, Secret)>,
    /// A JSON body.
    pub json_body: Option<Vec<u8>>,
    /// A multipart/form-data body of one file: the part's name and the file.
    pub file_part: Option<(&'static str, FilePart)>,
    /// This call's own timeout (`CallOptions::timeout`), over the transport's.
    pub timeout: Option<Duration>,
}

impl HttpRequest {
    /// A request of endpoint `endpoint` (its id), `method` to `url`, with no token header and
    /// no body.
    pub fn new(endpoint: &'static str, method: HttpMethod, url: Url) -> Self {
        HttpRequest {
            endpoint,
            method,
            url,
            token_header: None,
            json_body: None,
            file_part: None,
            timeout: None,
        }
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("endpoint", &self.endpoint)
            .field("method", &self.method)
            .field("path", &self.url.path())
            .field("json_body_bytes", &self.json_body.as_ref().map(Vec::len))
            .field("file_part", &self.file_part)
            .finish_non_exhaustive()
    }
}

/// One answer: the HTTP status, the headers and the whole body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers (moved out of the HTTP answer, not copied).
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// An answer of `status` with `body`.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status,
            headers: reqwest::header::HeaderMap::new(),
            body: body.into(),
        }
    }

    /// The same answer with `headers`.
    #[must_use]
    pub fn with_headers(mut self, headers: reqwest::header::HeaderMap) -> Self {
        self.headers = headers;
        self
    }
}

/// What kind of failure left a request without an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be made: nothing was sent.
    Connect,
    /// No answer came in time; the request may have been applied.
    Timeout,
    /// The exchange broke after the request was (or may have been) written.
    Other,
}

/// A request that got no HTTP answer. The source is the transport's own error, stripped of any
/// URL (WeCom URLs carry the token).
#[derive(Debug, thiserror::Error)]
#[error("{}", match .kind {
    TransportErrorKind::Connect => "connection failed",
    TransportErrorKind::Timeout => "timed out",
    TransportErrorKind::Other => "connection broken",
})]
pub struct TransportError {
    kind: TransportErrorKind,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TransportError {
    /// A failure of `kind`, caused by `source` (which must not hold a URL or a secret).
    pub fn new(kind: TransportErrorKind, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        TransportError {
            kind,
            source: Some(source.into()),
        }
    }

    /// A failure of `kind` with no further cause.
    pub fn of_kind(kind: TransportErrorKind) -> Self {
        TransportError { kind, source: None }
    }

    /// What kind of failure it was.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// Whether nothing was sent (the connection could not be made).
    pub fn is_connect(&self) -> bool {
        self.kind == TransportErrorKind::Connect
    }

    /// Whether it was a timeout.
    pub fn is_timeout(&self) -> bool {
        self.kind == TransportErrorKind::Timeout
    }
}

/// What a transport's `send` returns.
pub type TransportFuture<'a> = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'a>>;

/// Carries one request to the server and brings back its answer.
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request`; an HTTP answer of any status is `Ok`.
    fn send(&self, request: HttpRequest) -> TransportFuture<'_>;
}

/// Wraps the transport a client builds (the built-in reqwest one, or the caller's), for
/// metrics, tracing or shaping calls without giving up the client's own HTTP setup
/// (`ClientOptions::layer`). Layers given in turn wrap each other: the last is outermost.
/// Any `Fn(Arc<dyn Transport>) -> Arc<dyn Transport>` is one.
pub trait TransportLayer: Send + Sync {
    /// The transport that carries requests to `inner`.
    fn layer(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport>;
}

impl<F> TransportLayer for F
where
    F: Fn(Arc<dyn Transport>) -> Arc<dyn Transport> + Send + Sync,
{
    fn layer(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport> {
        self(inner)
    }
}

/// The default transport: a `reqwest` client.
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    /// Set for a caller's client, which may have no timeout of its own.
    per_request_timeout: Option<Duration>,
}

impl ReqwestTransport {
    /// A transport over `client`; `per_request_timeout` is applied to each request (for a client
    /// built without one).
    pub fn new(client: reqwest::Client, per_request_timeout: Option<Duration>) -> Self {
        ReqwestTransport {
            client,
            per_request_timeout,
        }
    }
}

impl Transport for ReqwestTransport {
    fn send(&self, request: HttpRequest) -> TransportFuture<'_> {
        Box::pin(async move {
            let method = match request.method {
                HttpMethod::Get => reqwest::Method::GET,
                HttpMethod::Post => reqwest::Method::POST,
            };
            let mut builder = self.client.request(method, request.url);
            if let Some(timeout) = request.timeout.or(self.per_request_timeout) {
                builder = builder.timeout(timeout);
            }
            if let Some((name, token)) = &request.token_header {
                builder = builder.header(*name, token.expose());
            }
            if let Some(body) = request.json_body {
                builder = builder
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body);
            }
            if let Some((name, file)) = request.file_part {
                let (filename, content_type, bytes) = file.into_parts();
                let part = reqwest::multipart::Part::bytes(bytes)
                    .file_name(filename)
                    .mime_str(&content_type)
                    .map_err(|e| TransportError::new(TransportErrorKind::Other, e))?;
                builder = builder.multipart(reqwest::multipart::Form::new().part(name, part));
            }
            let mut response = builder.send().await.map_err(reqwest_error)?;
            let status = response.status().as_u16();
            let headers = std::mem::take(response.headers_mut());
            let body = response.bytes().await.map_err(reqwest_error)?;
            Ok(HttpResponse {
                status,
                headers,
                // Takes the buffer over when reqwest holds the only reference (no copy).
                body: Vec::from(body),
            })
        })
    }
}

fn reqwest_error(e: reqwest::Error) -> TransportError {
    let kind = if e.is_connect() {
        TransportErrorKind::Connect
    } else if e.is_timeout() {
        TransportErrorKind::Timeout
    } else {
        TransportErrorKind::Other
    };
    TransportError::new(kind, e.without_url())
}

/// A transport that answers in process with a function: no network, for tests and replays.
pub struct FnTransport<F>(pub F);

impl<F> fmt::Debug for FnTransport<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnTransport")
    }
}

impl<F> Transport for FnTransport<F>
where
    F: Fn(HttpRequest) -> Result<HttpResponse, TransportError> + Send + Sync,
{
    fn send(&self, request: HttpRequest) -> TransportFuture<'_> {
        let answer = (self.0)(request);
        Box::pin(async move { answer })
    }
}
