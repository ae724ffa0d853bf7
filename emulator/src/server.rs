//! The HTTP side: the fault pipeline and the control endpoints. Routing, request parsing,
//! validation and envelopes are generated from the spec (`qywx::<service>::server`); this file
//! hands each call to the generated `dispatch` with the emulator as the handler.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use qywx::runtime::server::{error_body, reply_refusal, Authenticate, Incoming, Refusal, ServerSpec};
use qywx::runtime::spec::{EndpointSpec, ServiceSpec};
use serde_json::{json, Value};

use crate::faults::{Command, FaultKind};
use crate::state::{Inner, Shared, TokenCheck};
use crate::{Config, Service};

/// The emulator as the generated handler traits see it: the state, locked, and the settings.
pub(crate) struct Emu<'a> {
    pub inner: &'a mut Inner,
    pub config: &'a Config,
}

impl Service {
    pub(crate) fn server(self) -> &'static ServerSpec {
        match self {
            Service::Wecom => &qywx::wecom::server::SERVER,
            Service::Tuzhan => &qywx::tuzhan::server::SERVER,
        }
    }

    fn of(spec: &ServiceSpec) -> Service {
        if std::ptr::eq(spec, &qywx::tuzhan::SERVICE) {
            Service::Tuzhan
        } else {
            Service::Wecom
        }
    }

    /// An error answer in the service's envelope.
    pub(crate) fn error(self, code: i64, message: impl Display) -> Value {
        error_body(self.server(), code, &message.to_string())
    }
}

/// Token checks: where the token travels is the spec's (the generated dispatcher reads it); what
/// a missing, unknown or expired token answers is the emulator's.
impl Authenticate for Emu<'_> {
    fn authenticate(
        &mut self,
        service: &'static ServiceSpec,
        _endpoint: &'static EndpointSpec,
        token: Option<&str>,
    ) -> Result<(), Refusal> {
        use qywx::tuzhan::error_codes as tc;
        use qywx::wecom::error_codes as wc;
        let service = Service::of(service);
        // WeCom answers HTTP 200 with the code; Tuzhan answers HTTP 401 (its seed's status table)
        // with its token code in the envelope.
        let (code, message, status) = match (service, self.inner.tokens.check(service, token)) {
            (_, TokenCheck::Valid) => return Ok(()),
            (Service::Wecom, TokenCheck::Missing) => (wc::ACCESS_TOKEN_MISSING, "access_token missing", 200),
            (Service::Wecom, TokenCheck::Unknown) => (wc::INVALID_ACCESS_TOKEN, "invalid access_token", 200),
            (Service::Wecom, TokenCheck::Expired) => (wc::ACCESS_TOKEN_EXPIRED, "access_token expired", 200),
            (Service::Tuzhan, TokenCheck::Missing) => (tc::INVALID_TOKEN, "X-Token header missing", 401),
            (Service::Tuzhan, TokenCheck::Expired) => (tc::INVALID_TOKEN, "org access token expired", 401),
            (Service::Tuzhan, _) => (tc::INVALID_TOKEN, "invalid org access token", 401),
        };
        Err(Refusal::api(code, message).with_status(status))
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/__emulator/faults",
            get(list_faults).post(post_faults).delete(clear_faults),
        )
        .route("/__emulator/stats", get(stats).delete(reset_stats))
        .route(&format!("{FILES_PREFIX}/{{name}}"), get(crate::downloads::download))
        .fallback(serve_api)
        .with_state(shared)
}

/// The largest request body the emulator reads: the largest upload (media/upload: 普通文件(file)
/// 20MB) with room for its multipart framing. No source gives the services' own limit for JSON
/// bodies.
const MAX_BODY_BYTES: usize = (20 << 20) + (64 << 10);

/// Every call of either service goes through here: count, faults, routing, auth, handler.
async fn serve_api(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some((service, path)) = split_service(uri.path()) else {
        let message = format!(
            "no such path {:?}: WeCom is under /wecom, Tuzhan under /tuzhan",
            uri.path()
        );
        return (StatusCode::NOT_FOUND, message).into_response();
    };
    // A body the server cannot take (too large, or shorter than its Content-Length) is answered
    // in the service's envelope with its malformed-body code, like any other bad request.
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(e) => {
            let server = service.server();
            let message = format!("request body not taken (at most {MAX_BODY_BYTES} bytes, as long as its Content-Length): {e}");
            let reply = reply_refusal(server, Refusal::api(server.malformed_body, message));
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_REQUEST);
            return json_response(status, &reply.body, false);
        }
    };
    let (firing, admitted) = {
        let mut inner = shared.lock();
        *inner.calls.entry(path.to_owned()).or_default() += 1;
        let is_token = path == service_token_path(service);
        let admitted = match shared.config.rate_limit {
            Some(limit) if !is_token => inner.quotas.admit(limit, path, Some(from.ip())),
            _ => true,
        };
        (inner.faults.fire(path), admitted)
    };
    if !admitted {
        return fault_response(service, &FaultKind::RateLimited);
    }
    if let Some(delay) = firing.delay {
        tokio::time::sleep(delay).await;
    }
    let (truncate, drop_answer) = match firing.kind {
        Some(FaultKind::Truncated) => (true, false),
        Some(FaultKind::Dropped) => (false, true),
        Some(kind) => return fault_response(service, &kind),
        None => (false, false),
    };
    let header_pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let incoming = Incoming {
        method: method.as_str(),
        path,
        query: uri.query().unwrap_or_default(),
        headers: &header_pairs,
        body: &body,
    };
    let console = uri.path().starts_with(CONSOLE_PREFIX);
    let (reply, outbox) = {
        let mut inner = shared.lock();
        // An administrator's change is called back: compare the directory before and after.
        let before = (console && shared.callback.is_some()).then(|| inner.wecom.snapshot());
        let mut emu = Emu {
            inner: &mut inner,
            config: &shared.config,
        };
        let reply = match service {
            Service::Wecom => qywx::wecom::server::dispatch(&mut emu, &incoming),
            Service::Tuzhan => qywx::tuzhan::server::dispatch(&mut emu, &incoming),
        };
        if let (Some(before), Some(target)) = (before, &shared.callback) {
            let changes = inner.wecom.changes_since(&before, shared.config.callback_minimal);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let corpid = &shared.config.wecom_corpid;
            inner.outbox.extend(changes.into_iter().map(|event| crate::callbacks::Push {
                target: target.clone(),
                xml: event.encode(corpid, "sys", now),
                after: std::time::Duration::ZERO,
            }));
        }
        (reply, std::mem::take(&mut inner.outbox))
    };
    if let Some(pusher) = &shared.pusher {
        outbox.into_iter().for_each(|push| pusher.send(push));
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if drop_answer {
        return dropped_response(status);
    }
    json_response(status, &reply.body, truncate)
}

/// Headers, then a body that fails: hyper cuts the connection, and the client gets a transport
/// failure after the call was applied.
fn dropped_response(status: StatusCode) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        Body::from_stream(FailingBody),
    )
        .into_response()
}

/// A response body whose first chunk is an error.
struct FailingBody;

impl qywx::runtime::Stream for FailingBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let cut = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "answer dropped (injected fault)");
        std::task::Poll::Ready(Some(Err(cut)))
    }
}

/// The token endpoint's path of `service` (not counted by the rate limit).
fn service_token_path(service: Service) -> &'static str {
    match service {
        Service::Wecom => qywx::wecom::SERVICE.auth.token_endpoint.path,
        Service::Tuzhan => qywx::tuzhan::SERVICE.auth.token_endpoint.path,
    }
}

/// Where the export files are served.
pub(crate) const FILES_PREFIX: &str = "/__emulator/files";

/// The admin console: WeCom's API under this prefix, its changes called back.
pub(crate) const CONSOLE_PREFIX: &str = "/__emulator/console";

fn split_service(path: &str) -> Option<(Service, &str)> {
    if let Some(rest) = path.strip_prefix(CONSOLE_PREFIX) {
        return rest.starts_with('/').then_some((Service::Wecom, rest));
    }
    [Service::Wecom, Service::Tuzhan].into_iter().find_map(|service| {
        let rest = path.strip_prefix(service.prefix())?;
        rest.starts_with('/').then_some((service, rest))
    })
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
                Service::Wecom => service.error(qywx::wecom::error_codes::SYSTEM_BUSY, "system busy"),
                // Tuzhan documents no busy code; the emulator answers WeCom's -1.
                Service::Tuzhan => service.error(-1, "system busy"),
            };
            json_response(StatusCode::OK, &answer, false)
        }
        FaultKind::RateLimited => {
            let answer = match service {
                Service::Wecom => service.error(qywx::wecom::error_codes::FREQUENCY_LIMITED, "api freq out of limit"),
                // Tuzhan documents no rate-limit code; the emulator answers the HTTP status's number.
                Service::Tuzhan => service.error(429, "too many requests"),
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
        FaultKind::Delay(_) | FaultKind::Truncated | FaultKind::Dropped => {
            json_response(StatusCode::OK, &service.error(0, "ok"), false)
        }
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

/// `GET /__emulator/stats`: token fetches per service, calls per path, and callbacks pushed.
async fn stats(State(shared): State<Arc<Shared>>) -> Json<Value> {
    use std::sync::atomic::Ordering::SeqCst;
    let pushed = &shared.pushed;
    let callbacks = json!({
        "delivered": pushed.delivered.load(SeqCst),
        "attempts": pushed.attempts.load(SeqCst),
        "abandoned": pushed.abandoned.load(SeqCst),
    });
    let inner = shared.lock();
    let calls: BTreeMap<&str, usize> = inner.calls.iter().map(|(path, n)| (path.as_str(), *n)).collect();
    Json(json!({
        "ok": true,
        "token_fetches": {
            Service::Wecom.id(): inner.tokens.issued(Service::Wecom),
            Service::Tuzhan.id(): inner.tokens.issued(Service::Tuzhan),
        },
        "calls": calls,
        "callbacks": callbacks,
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
