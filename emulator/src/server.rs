//! The HTTP side: routing by the generated endpoint descriptors, the fault and auth pipeline,
//! request parsing with the generated types, envelopes, and the control endpoints.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use qywx::runtime::spec::{EndpointSpec, ServiceSpec, TokenPlacement};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::faults::{Command, FaultKind};
use crate::state::{Inner, Shared, TokenCheck};
use crate::{tuzhan, wecom, Config, Service};

/// A handler's answer: the whole JSON body, success or error (both are HTTP 200, as the real
/// services answer API errors).
pub(crate) type Reply = Result<Value, Value>;

/// Handles one endpoint with the state locked.
pub(crate) type Handler = fn(&mut Inner, &Call<'_>) -> Reply;

/// An endpoint the emulator serves: the generated descriptor and its handler.
pub(crate) struct Route {
    pub endpoint: &'static EndpointSpec,
    pub handler: Handler,
}

/// One request, as handlers see it.
pub(crate) struct Call<'a> {
    pub service: Service,
    pub uri: &'a Uri,
    pub body: &'a [u8],
    pub config: &'a Config,
}

impl Call<'_> {
    /// The query string as the generated request type `T` (lenient: numbers may be strings).
    pub(crate) fn query<T: DeserializeOwned>(&self) -> Result<T, Value> {
        Query::<T>::try_from_uri(self.uri)
            .map(|Query(value)| value)
            .map_err(|e| {
                self.service
                    .invalid_parameter(format_args!("invalid query string: {}", e.body_text()))
            })
    }

    /// The JSON body as the generated request type `T`.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, Value> {
        serde_json::from_slice(self.body).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => self
                .service
                .invalid_parameter(format_args!("invalid request body: {e}")),
            _ => self
                .service
                .malformed_body(format_args!("request body is not valid JSON: {e}")),
        })
    }
}

impl Service {
    fn spec(self) -> &'static ServiceSpec {
        match self {
            Service::Wecom => &qywx::wecom::SERVICE,
            Service::Tuzhan => &qywx::tuzhan::SERVICE,
        }
    }

    fn routes(self) -> &'static [Route] {
        match self {
            Service::Wecom => wecom::ROUTES,
            Service::Tuzhan => tuzhan::ROUTES,
        }
    }

    /// An error answer in the service's envelope. Tuzhan's code goes out as a string.
    pub(crate) fn error(self, code: i64, message: impl Display) -> Value {
        match self {
            Service::Wecom => wecom::fail(code, message),
            Service::Tuzhan => tuzhan::fail(&code.to_string(), message),
        }
    }

    /// A body that is not JSON: WeCom 47001 (data format error), Tuzhan code "400".
    fn malformed_body(self, message: impl Display) -> Value {
        match self {
            Service::Wecom => wecom::fail(wecom::DATA_FORMAT_ERROR, message),
            Service::Tuzhan => tuzhan::fail(tuzhan::BAD_REQUEST, message),
        }
    }

    /// A missing or ill-typed parameter: WeCom 40058 (invalid parameter), Tuzhan code "400".
    pub(crate) fn invalid_parameter(self, message: impl Display) -> Value {
        match self {
            Service::Wecom => wecom::fail(wecom::INVALID_PARAMETER, message),
            Service::Tuzhan => tuzhan::fail(tuzhan::BAD_REQUEST, message),
        }
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/__emulator/faults",
            get(list_faults).post(post_faults).delete(clear_faults),
        )
        .route("/__emulator/stats", get(stats).delete(reset_stats))
        .fallback(serve_api)
        .with_state(shared)
}

/// Every call of either service goes through here: count, faults, routing, auth, handler.
async fn serve_api(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((service, path)) = split_service(uri.path()) else {
        let message = format!(
            "no such path {:?}: WeCom is under /wecom, Tuzhan under /tuzhan",
            uri.path()
        );
        return (StatusCode::NOT_FOUND, message).into_response();
    };
    let firing = {
        let mut inner = shared.lock();
        *inner.calls.entry(path.to_owned()).or_default() += 1;
        inner.faults.fire(path)
    };
    if let Some(delay) = firing.delay {
        tokio::time::sleep(delay).await;
    }
    let truncate = match firing.kind {
        Some(FaultKind::Truncated) => true,
        Some(kind) => return fault_response(service, &kind),
        None => false,
    };
    let Some(route) = service.routes().iter().find(|r| r.endpoint.path == path) else {
        let answer = service.error(404, format_args!("no such endpoint in the emulator: {path}"));
        return json_response(StatusCode::NOT_FOUND, &answer, false);
    };
    if method.as_str() != route.endpoint.method.as_str() {
        let answer = service.error(
            405,
            format_args!("{path} takes {}, not {method}", route.endpoint.method.as_str()),
        );
        return json_response(StatusCode::METHOD_NOT_ALLOWED, &answer, false);
    }
    let call = Call {
        service,
        uri: &uri,
        body: &body,
        config: &shared.config,
    };
    let answer = {
        let mut inner = shared.lock();
        authenticate(&inner, &call, &headers, route.endpoint).and_then(|()| (route.handler)(&mut inner, &call))
    };
    json_response(StatusCode::OK, &answer.unwrap_or_else(|error| error), truncate)
}

fn split_service(path: &str) -> Option<(Service, &str)> {
    [Service::Wecom, Service::Tuzhan].into_iter().find_map(|service| {
        let rest = path.strip_prefix(service.prefix())?;
        rest.starts_with('/').then_some((service, rest))
    })
}

/// Checks the token where the service's spec says it goes (WeCom query, Tuzhan header).
fn authenticate(inner: &Inner, call: &Call<'_>, headers: &HeaderMap, endpoint: &EndpointSpec) -> Result<(), Value> {
    if !endpoint.auth {
        return Ok(());
    }
    let token = match call.service.spec().auth.placement {
        TokenPlacement::Query(name) => Query::<HashMap<String, String>>::try_from_uri(call.uri)
            .ok()
            .and_then(|Query(mut params)| params.remove(name)),
        TokenPlacement::Header(name) => headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned),
    };
    match (call.service, inner.tokens.check(call.service, token.as_deref())) {
        (_, TokenCheck::Valid) => Ok(()),
        (Service::Wecom, TokenCheck::Missing) => {
            Err(wecom::fail(wecom::codes::ACCESS_TOKEN_MISSING, "access_token missing"))
        }
        (Service::Wecom, TokenCheck::Unknown) => {
            Err(wecom::fail(wecom::codes::INVALID_ACCESS_TOKEN, "invalid access_token"))
        }
        (Service::Wecom, TokenCheck::Expired) => {
            Err(wecom::fail(wecom::codes::ACCESS_TOKEN_EXPIRED, "access_token expired"))
        }
        (Service::Tuzhan, check) => {
            let message = match check {
                TokenCheck::Missing => "X-Token header missing",
                TokenCheck::Expired => "org access token expired",
                _ => "invalid org access token",
            };
            Err(tuzhan::fail(&tuzhan::codes::INVALID_TOKEN.to_string(), message))
        }
    }
}

/// A JSON answer, optionally cut in half (on a UTF-8 boundary) for the `truncated` fault.
fn json_response(status: StatusCode, value: &Value, truncate: bool) -> Response {
    let mut body = value.to_string().into_bytes();
    if truncate {
        let mut cut = (body.len() / 2).max(1);
        while cut > 1 && body.get(cut).is_some_and(|b| b & 0xC0 == 0x80) {
            cut -= 1;
        }
        body.truncate(cut);
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        body,
    )
        .into_response()
}

fn html_response(status: StatusCode, title: &str) -> Response {
    let body = format!("<html><head><title>{title}</title></head><body><h1>{title}</h1><hr><center>qywx-emulator (injected fault)</center></body></html>");
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn fault_response(service: Service, kind: &FaultKind) -> Response {
    match kind {
        FaultKind::Busy => {
            let answer = match service {
                Service::Wecom => wecom::fail(wecom::codes::SYSTEM_BUSY, "system busy"),
                Service::Tuzhan => tuzhan::fail("-1", "system busy"),
            };
            json_response(StatusCode::OK, &answer, false)
        }
        FaultKind::RateLimited => {
            let answer = match service {
                Service::Wecom => wecom::fail(wecom::codes::FREQUENCY_LIMITED, "api freq out of limit"),
                Service::Tuzhan => tuzhan::fail("429", "too many requests"),
            };
            json_response(StatusCode::OK, &answer, false)
        }
        FaultKind::HttpStatus(status) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            html_response(
                status,
                &format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("")),
            )
        }
        // A proxy's error page where JSON was expected.
        FaultKind::Malformed => html_response(StatusCode::OK, "502 Bad Gateway"),
        // Handled by the caller; answered normally if they get here.
        FaultKind::Delay(_) | FaultKind::Truncated => json_response(StatusCode::OK, &service.error(0, "ok"), false),
    }
}

fn pending_json(inner: &Inner) -> Value {
    Value::Array(inner.faults.pending().iter().map(|f| f.to_json()).collect())
}

fn control_error(message: impl Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "ok": false, "error": message.to_string() })),
    )
        .into_response()
}

/// `POST /__emulator/faults`: one command object or an array of them; all or nothing.
async fn post_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(e) => return control_error(format_args!("body is not JSON: {e}")),
    };
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    let commands = match items.iter().map(Command::from_json).collect::<Result<Vec<_>, _>>() {
        Ok(commands) => commands,
        Err(message) => return control_error(message),
    };
    let mut inner = shared.lock();
    let mut revoked = Vec::new();
    for command in commands {
        match command {
            Command::Inject(fault) => inner.faults.push(fault),
            Command::ExpireTokens => inner.tokens.expire_all(),
            Command::RevokeToken(token) => revoked.push(inner.tokens.revoke(&token)),
            Command::Clear => inner.faults.clear(),
        }
    }
    Json(json!({ "ok": true, "pending": pending_json(&inner), "revoked": revoked })).into_response()
}

async fn list_faults(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "ok": true, "pending": pending_json(&shared.lock()) }))
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.lock().faults.clear();
    Json(json!({ "ok": true, "pending": [] }))
}

/// `GET /__emulator/stats`: token fetches per service and calls per path.
async fn stats(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let inner = shared.lock();
    let calls: BTreeMap<&str, usize> = inner.calls.iter().map(|(path, n)| (path.as_str(), *n)).collect();
    Json(json!({
        "ok": true,
        "token_fetches": {
            Service::Wecom.id(): inner.tokens.issued(Service::Wecom),
            Service::Tuzhan.id(): inner.tokens.issued(Service::Tuzhan),
        },
        "calls": calls,
    }))
}

async fn reset_stats(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.lock().reset_counters();
    Json(json!({ "ok": true }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_endpoint_is_routed_once() {
        for service in [Service::Wecom, Service::Tuzhan] {
            let routes = service.routes();
            let token = service.spec().auth.token_endpoint;
            assert!(routes
                .iter()
                .any(|r| std::ptr::eq(r.endpoint, token) || r.endpoint.id == token.id));
            for (i, route) in routes.iter().enumerate() {
                assert!(
                    routes[i + 1..]
                        .iter()
                        .all(|other| other.endpoint.path != route.endpoint.path),
                    "{} twice",
                    route.endpoint.id
                );
            }
        }
        assert_eq!(wecom::ROUTES.len() + tuzhan::ROUTES.len(), 24);
    }

    #[test]
    fn splits_prefixes() {
        assert_eq!(
            split_service("/wecom/cgi-bin/gettoken"),
            Some((Service::Wecom, "/cgi-bin/gettoken"))
        );
        assert_eq!(split_service("/tuzhan/api/x"), Some((Service::Tuzhan, "/api/x")));
        assert_eq!(split_service("/wecomx/a"), None);
        assert_eq!(split_service("/other"), None);
    }
}
