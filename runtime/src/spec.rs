//! Static descriptors of services and endpoints, emitted by the generator from `spec/`.

/// HTTP method of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpMethod {
    /// `GET`
    Get,
    /// `POST`
    Post,
}

impl HttpMethod {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// One endpoint: what the runtime needs to call it.
#[derive(Debug)]
pub struct EndpointSpec {
    /// Stable id from the spec (`department.create`), used in errors and logs.
    pub id: &'static str,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path below the service's base URL.
    pub path: &'static str,
    /// Whether the call carries the service's token.
    pub auth: bool,
    /// Whether repeating the call is safe, so a transport failure may be retried.
    pub idempotent: bool,
    /// Codes meaning "does not exist": answered to a retry after an attempt that may have been
    /// applied, they mean that attempt deleted it ([`crate::Deleted::AlreadyGone`]).
    pub gone_codes: &'static [i64],
    /// The endpoint's own budgets, kept besides the service's.
    pub rate_limits: Option<EndpointRateLimits>,
}

/// An endpoint's own call limits: a budget, possibly shared with other endpoints (WeCom's
/// add_rule and modify_rule: 1000 calls a day together).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndpointRateLimits {
    /// The budget's name: endpoints with the same one count together.
    pub budget: &'static str,
    /// Per app (WeCom: per company).
    pub per_app: &'static [RateWindow],
    /// Per source address.
    pub per_ip: &'static [RateWindow],
}

/// How a service wraps every response.
#[derive(Debug)]
pub struct EnvelopeSpec {
    /// `true`: payload is one member (`data`); `false`: payload fields sit beside the code.
    pub wrapped: bool,
    /// Member holding the result code.
    pub code_field: &'static str,
    /// The code meaning success, as text.
    pub success_code: &'static str,
    /// Member holding the message.
    pub message_field: &'static str,
    /// Optional second code kept in errors (`errorCode`).
    pub detail_code_field: Option<&'static str>,
    /// Member holding the payload when `wrapped`.
    pub data_field: Option<&'static str>,
}

/// Where an authenticated call carries its token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPlacement {
    /// As a query parameter of this name.
    Query(&'static str),
    /// As a request header of this name.
    Header(&'static str),
}

/// How a service issues and takes tokens.
#[derive(Debug)]
pub struct AuthSpec {
    /// The token endpoint.
    pub token_endpoint: &'static EndpointSpec,
    /// Query parameter carrying the app id.
    pub app_id_param: &'static str,
    /// Query parameter carrying the secret.
    pub secret_param: &'static str,
    /// Response member holding the token.
    pub token_field: &'static str,
    /// Response member holding the lifetime.
    pub expires_in_field: &'static str,
    /// Lifetime assumed when the response does not give one.
    pub default_ttl_seconds: u64,
    /// Where calls carry the token.
    pub placement: TokenPlacement,
}

/// What a client should do about an API error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorHandling {
    /// Transient (system busy): retry with backoff.
    Retry,
    /// The token is invalid or expired: fetch a new one and retry once.
    RefreshToken,
    /// Wrong app id or secret: fail at once, retrying cannot help.
    InvalidCredentials,
    /// Over a rate or concurrency limit: fail, do not hammer.
    RateLimited,
    /// Anything else: fail.
    Fail,
}

/// A documented error code.
#[derive(Debug)]
pub struct ErrorCodeSpec {
    /// The code.
    pub code: i64,
    /// Its constant name in the generated crate.
    pub name: &'static str,
    /// What it means.
    pub description: &'static str,
    /// What the runtime does about it.
    pub handling: ErrorHandling,
}

/// One service: base URL, envelope, auth and error codes.
#[derive(Debug)]
pub struct ServiceSpec {
    /// Service id (`wecom`).
    pub id: &'static str,
    /// Default base URL.
    pub base_url: &'static str,
    /// Environment variable that overrides the base URL.
    pub base_url_env: &'static str,
    /// Response envelope.
    pub envelope: EnvelopeSpec,
    /// Token issue and placement.
    pub auth: AuthSpec,
    /// Documented error codes.
    pub error_codes: &'static [ErrorCodeSpec],
    /// Documented HTTP statuses with a handling of their own (Tuzhan 401: refresh the token).
    pub http_statuses: &'static [(u16, ErrorHandling)],
    /// The documented call limits, when the service has any.
    pub rate_limits: Option<RateLimitSpec>,
}

/// A service's documented call limits, per API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitSpec {
    /// The code a call over a limit answers (WeCom 45009).
    pub code: i64,
    /// Per app (WeCom: per company) and API.
    pub per_app: &'static [RateWindow],
    /// Per source address and API.
    pub per_ip: &'static [RateWindow],
}

/// At most `calls` calls per `seconds`; one more blocks the API for `blocked_seconds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateWindow {
    /// Calls allowed in a window.
    pub calls: u64,
    /// The window's length.
    pub seconds: u64,
    /// How long the API is blocked after a call over the limit.
    pub blocked_seconds: u64,
}

impl RateWindow {
    /// `calls` per `seconds`, blocking for `blocked_seconds` when exceeded.
    pub const fn new(calls: u64, seconds: u64, blocked_seconds: u64) -> Self {
        RateWindow {
            calls,
            seconds,
            blocked_seconds,
        }
    }
}

impl ServiceSpec {
    /// The documented handling of HTTP `status`, if the spec gives one.
    pub fn handling_of_status(&self, status: u16) -> Option<ErrorHandling> {
        self.http_statuses.iter().find(|(s, _)| *s == status).map(|(_, h)| *h)
    }

    /// The documented handling of `code`, [`ErrorHandling::Fail`] when it is not documented.
    pub fn handling_of(&self, code: i64) -> ErrorHandling {
        self.error_codes
            .iter()
            .find(|e| e.code == code)
            .map_or(ErrorHandling::Fail, |e| e.handling)
    }
}
