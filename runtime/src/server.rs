//! The server side of a service, for emulators and tests (feature `server`).
//!
//! The generator emits, per service, a handler trait with one method per endpoint and a
//! `dispatch` function; they call this module, which parses requests with the generated types,
//! runs the generated validation, maps a violation to the error code the spec names for it, and
//! writes answers in the service's envelope. Nothing here knows an endpoint by name.

use std::fmt::Display;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::spec::{EndpointSpec, ServiceSpec, TokenPlacement};
use crate::validate::Validate;

/// What a service's server answers for requests it cannot take, from the spec.
#[derive(Debug)]
pub struct ServerSpec {
    /// The service.
    pub service: &'static ServiceSpec,
    /// Code for a missing, ill-typed or out-of-range parameter.
    pub invalid_request: i64,
    /// Code for a body that is not JSON.
    pub malformed_body: i64,
    /// Whether codes travel as JSON strings (Tuzhan: `"200"`) rather than numbers.
    pub code_is_string: bool,
}

/// One endpoint as its server sees it (generated from the spec).
#[derive(Debug)]
pub struct Route {
    /// The endpoint.
    pub endpoint: &'static EndpointSpec,
    /// Parameters travel in the query string (else in a JSON body).
    pub in_query: bool,
    /// A multipart/form-data request: its file parts are read from the body, its other
    /// parameters from the query string.
    pub multipart: bool,
    /// Error code per top-level request field (or constraint target) whose violation the spec
    /// maps to a code of its own; others answer [`ServerSpec::invalid_request`].
    pub violation_codes: &'static [(&'static str, i64)],
    /// Error code per required top-level request field whose absence the spec maps to a code of
    /// its own (user/create without `department`: 41019); others answer
    /// [`ServerSpec::invalid_request`].
    pub missing_codes: &'static [(&'static str, i64)],
    /// The envelope members of a successful answer (JSON text, from the spec's example).
    pub success_envelope: &'static str,
    /// The envelope members of a partial success, where the spec shows one.
    pub partial_envelope: Option<&'static str>,
    /// The rows field of a bulk endpoint: a row breaking its rules is the handler's to report
    /// row by row (as the service does), not a refusal of the whole request.
    pub rows_field: Option<&'static str>,
}

/// One HTTP request, as the dispatcher takes it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// Path below the service's base URL.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// Headers as (name, value).
    pub headers: &'a [(&'a str, &'a str)],
    /// The raw body.
    pub body: &'a [u8],
}

impl Incoming<'_> {
    /// A query parameter, percent-decoded (the last one when repeated).
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .filter(|(k, _)| k == name)
            .last()
            .map(|(_, v)| v.into_owned())
    }

    /// A header value (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// Why a handler refused a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An API error answered in the service's envelope.
    Api {
        /// The code.
        code: i64,
        /// The message.
        message: String,
        /// The HTTP status (200 for API errors, as the real services answer).
        status: u16,
    },
    /// The handler has no behaviour for this endpoint yet.
    NotEmulated(&'static str),
}

impl Refusal {
    /// An API error with HTTP status 200.
    pub fn api(code: i64, message: impl Display) -> Self {
        Refusal::Api {
            code,
            message: message.to_string(),
            status: 200,
        }
    }

    /// The same error under another HTTP status.
    pub fn with_status(self, status: u16) -> Self {
        match self {
            Refusal::Api { code, message, .. } => Refusal::Api { code, message, status },
            other => other,
        }
    }

    /// The code of an API error.
    pub fn code(&self) -> Option<i64> {
        match self {
            Refusal::Api { code, .. } => Some(*code),
            Refusal::NotEmulated(_) => None,
        }
    }
}

/// A call to one endpoint, handed to the handler method; the request is parsed on demand.
pub struct Call<'a, T> {
    server: &'static ServerSpec,
    route: &'static Route,
    incoming: Incoming<'a>,
    probe: bool,
    _request: PhantomData<fn() -> T>,
}

impl<'a, T> Call<'a, T> {
    /// The endpoint called.
    pub fn endpoint(&self) -> &'static EndpointSpec {
        self.route.endpoint
    }

    /// The raw request.
    pub fn incoming(&self) -> &Incoming<'a> {
        &self.incoming
    }

    /// An error answer for this call, when the request cannot be taken: the service's
    /// invalid-request code.
    pub fn invalid(&self, message: impl Display) -> Refusal {
        Refusal::api(self.server.invalid_request, message)
    }

    /// The answer a handler gives for an endpoint it does not implement.
    pub fn not_emulated(&self) -> Refusal {
        Refusal::NotEmulated(self.route.endpoint.id)
    }
}

impl<T: DeserializeOwned + Validate> Call<'_, T> {
    /// The request, parsed with the generated type and validated by the generated rules. A
    /// violation answers the code the spec names for the field (else the invalid-request code),
    /// a body that is not JSON the malformed-body code.
    pub fn request(&self) -> Result<T, Refusal> {
        if self.probe {
            return Err(self.invalid("probe: no request"));
        }
        let malformed = |e: serde_json::Error| match e.classify() {
            serde_json::error::Category::Data => self.invalid(format_args!("invalid request body: {e}")),
            _ => Refusal::api(
                self.server.malformed_body,
                format_args!("request body is not valid JSON: {e}"),
            ),
        };
        let parsed: T = if self.route.in_query {
            let mut params = Map::new();
            for (k, v) in form_urlencoded::parse(self.incoming.query.as_bytes()) {
                if params.insert(k.to_string(), Value::String(v.into_owned())).is_some() {
                    return Err(self.invalid(format_args!("query parameter `{k}` given more than once")));
                }
            }
            if self.route.multipart {
                self.read_parts(&mut params)?;
            }
            self.check_present(&params)?;
            serde_json::from_value(Value::Object(params))
                .map_err(|e| self.invalid(format_args!("invalid query string: {e}")))?
        } else if self.route.missing_codes.is_empty() {
            serde_json::from_slice(self.incoming.body).map_err(malformed)?
        } else {
            // Read as a value first, so an absent field answers its own code.
            let value: Value = serde_json::from_slice(self.incoming.body).map_err(malformed)?;
            if let Value::Object(members) = &value {
                self.check_present(members)?;
            }
            serde_json::from_value(value).map_err(|e| self.invalid(format_args!("invalid request body: {e}")))?
        };
        let rows_prefix = self.route.rows_field.map(|rows| format!("{rows}["));
        let request_level = parsed
            .violations()
            .into_iter()
            .find(|v| rows_prefix.as_ref().is_none_or(|p| !v.path.starts_with(p.as_str())));
        if let Some(v) = request_level {
            let top = v.path.split(['.', '[']).next().unwrap_or_default();
            let code = self
                .route
                .violation_codes
                .iter()
                .find(|(field, _)| *field == top)
                .map_or(self.server.invalid_request, |(_, code)| *code);
            return Err(Refusal::api(code, format_args!("{}: {}", v.path, v.rule)));
        }
        Ok(parsed)
    }
}

impl<T> Call<'_, T> {
    /// Adds the multipart body's parts to `params`: a file as its JSON form
    /// ([`FilePart`](crate::FilePart)), a plain field as its text.
    fn read_parts(&self, params: &mut Map<String, Value>) -> Result<(), Refusal> {
        let content_type = self.incoming.header("content-type").unwrap_or_default();
        let parts = crate::multipart::parse(content_type, self.incoming.body).map_err(|e| self.invalid(e))?;
        for part in parts {
            let value = match (part.file, part.text) {
                (Some(file), _) => crate::codec::ToJson::to_json(&file),
                (None, text) => Value::String(text.unwrap_or_default()),
            };
            if params.insert(part.name.clone(), value).is_some() {
                return Err(self.invalid(format_args!("parameter `{}` given more than once", part.name)));
            }
        }
        Ok(())
    }

    /// Refuses a request missing a field the spec answers a code of its own for.
    fn check_present(&self, members: &Map<String, Value>) -> Result<(), Refusal> {
        match self
            .route
            .missing_codes
            .iter()
            .find(|(field, _)| members.get(*field).is_none_or(Value::is_null))
        {
            Some((field, code)) => Err(Refusal::api(*code, format_args!("{field} missing"))),
            None => Ok(()),
        }
    }
}

/// The token checks a server does before any authenticated call.
pub trait Authenticate {
    /// Accepts or refuses `token` (as carried where the service's spec says) for a call of
    /// `endpoint` of `service`.
    fn authenticate(
        &mut self,
        service: &'static ServiceSpec,
        endpoint: &'static EndpointSpec,
        token: Option<&str>,
    ) -> Result<(), Refusal>;
}

/// An answer: HTTP status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerReply {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Value,
}

/// A handler method of the generated trait, as a function pointer.
pub type Method<H, T, R> = fn(&mut H, Call<'_, T>) -> Result<R, Refusal>;

/// Serves one call: method check, token check, the handler, the envelope.
#[allow(clippy::too_many_arguments)] // generated calls only
pub fn serve<H: Authenticate + ?Sized, T, R: Serialize>(
    server: &'static ServerSpec,
    route: &'static Route,
    incoming: &Incoming<'_>,
    handler: &mut H,
    method: Method<H, T, R>,
    is_complete: fn(&R) -> bool,
) -> ServerReply {
    let endpoint = route.endpoint;
    if !incoming.method.eq_ignore_ascii_case(endpoint.method.as_str()) {
        let message = format!(
            "{} takes {}, not {}",
            endpoint.path,
            endpoint.method.as_str(),
            incoming.method
        );
        return reply_refusal(server, Refusal::api(server.invalid_request, message).with_status(405));
    }
    if endpoint.auth {
        let token = match server.service.auth.placement {
            TokenPlacement::Query(name) => incoming.query_param(name),
            TokenPlacement::Header(name) => incoming.header(name).map(str::to_owned),
        };
        if let Err(refusal) = handler.authenticate(server.service, endpoint, token.as_deref()) {
            return reply_refusal(server, refusal);
        }
    }
    let call = Call {
        server,
        route,
        incoming: *incoming,
        probe: false,
        _request: PhantomData,
    };
    match method(handler, call) {
        Ok(response) => {
            let envelope = match route.partial_envelope {
                Some(partial) if !is_complete(&response) => partial,
                _ => route.success_envelope,
            };
            match serde_json::to_value(&response) {
                Ok(payload) => ServerReply {
                    status: 200,
                    body: success_body(server, envelope, payload),
                },
                Err(e) => reply_refusal(
                    server,
                    Refusal::api(server.invalid_request, format_args!("cannot encode the answer: {e}"))
                        .with_status(500),
                ),
            }
        }
        Err(refusal) => reply_refusal(server, refusal),
    }
}

/// Whether `method` of `handler` is implemented: calls it with a probe whose request cannot be
/// read, and tells whether it answered "not emulated". Handlers read their request before
/// changing anything, so a probe changes nothing.
pub fn is_emulated<H: ?Sized, T, R>(
    server: &'static ServerSpec,
    route: &'static Route,
    handler: &mut H,
    method: Method<H, T, R>,
) -> bool {
    let call = Call {
        server,
        route,
        incoming: Incoming {
            method: route.endpoint.method.as_str(),
            path: route.endpoint.path,
            query: "",
            headers: &[],
            body: b"",
        },
        probe: true,
        _request: PhantomData,
    };
    !matches!(method(handler, call), Err(Refusal::NotEmulated(_)))
}

/// The answer to a path no endpoint of the service has.
pub fn no_such_path(server: &'static ServerSpec, incoming: &Incoming<'_>) -> ServerReply {
    reply_refusal(
        server,
        Refusal::api(
            server.invalid_request,
            format_args!("no endpoint of {} has the path {}", server.service.id, incoming.path),
        )
        .with_status(404),
    )
}

/// A refusal in the service's envelope. "Not emulated" is HTTP 501 with the invalid-request
/// code and the message `not emulated: <endpoint id>`.
pub fn reply_refusal(server: &'static ServerSpec, refusal: Refusal) -> ServerReply {
    let (code, message, status) = match refusal {
        Refusal::Api { code, message, status } => (code, message, status),
        Refusal::NotEmulated(id) => (server.invalid_request, format!("not emulated: {id}"), 501),
    };
    ServerReply {
        status,
        body: error_body(server, code, &message),
    }
}

fn code_value(server: &ServerSpec, code: i64) -> Value {
    if server.code_is_string {
        Value::String(code.to_string())
    } else {
        Value::from(code)
    }
}

/// An error answer in the service's envelope (the detail code, where there is one, repeats the code).
pub fn error_body(server: &ServerSpec, code: i64, message: &str) -> Value {
    let env = &server.service.envelope;
    let mut body = Map::new();
    body.insert(env.code_field.into(), code_value(server, code));
    if let Some(detail) = env.detail_code_field {
        body.insert(detail.into(), code_value(server, code));
    }
    body.insert(env.message_field.into(), Value::String(message.to_owned()));
    if let Some(data) = env.data_field {
        body.insert(data.into(), Value::Null);
    }
    Value::Object(body)
}

/// A success answer: the envelope members, then the payload beside them (flat) or in the data
/// member (wrapped).
pub fn success_body(server: &ServerSpec, envelope: &str, payload: Value) -> Value {
    let env = &server.service.envelope;
    let mut body = match serde_json::from_str::<Value>(envelope) {
        Ok(Value::Object(members)) => members,
        _ => {
            let mut members = Map::new();
            let success = env.success_code.parse::<i64>().unwrap_or_default();
            members.insert(env.code_field.into(), code_value(server, success));
            members.insert(env.message_field.into(), Value::String("ok".into()));
            members
        }
    };
    match (env.data_field, payload) {
        (Some(data), payload) => {
            body.insert(data.into(), payload);
        }
        (None, Value::Object(fields)) => body.extend(fields),
        // A flat envelope's payload is an object (its fields sit beside the code).
        (None, _) => {}
    }
    Value::Object(body)
}

