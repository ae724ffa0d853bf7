//! Fault injection: answers a real server or the network between may give, switched per test.
//!
//! Two ways to switch them, with the same effect:
//!
//! - in-process, through [`FaultHandle`] (`running.faults()`);
//! - over HTTP, with `POST /__emulator/faults` and a JSON object (or an array of them):
//!
//! | JSON | effect |
//! | --- | --- |
//! | `{"kind":"busy","times":2}` | the next 2 calls answer "system busy" (WeCom errcode -1; Tuzhan code "-1", inferred: Tuzhan documents no busy code), not executed |
//! | `{"kind":"http_status","status":503,"times":1}` | the next call answers that HTTP status with an HTML body, not executed |
//! | `{"kind":"delay","ms":50,"times":3}` | the next 3 calls are answered 50 ms late (and otherwise normally) |
//! | `{"kind":"malformed","times":1}` | the next call answers HTTP 200 with an HTML page (not JSON), not executed |
//! | `{"kind":"truncated","times":1}` | the next call IS executed, and its JSON answer is cut in half (an answer lost on the way) |
//! | `{"kind":"dropped","times":1}` | the next call IS executed, and the connection is cut before its answer's body (a transport failure after the server applied the call) |
//! | `{"kind":"rate_limited","times":1}` | the next call answers WeCom 45009 (Tuzhan code "429", inferred: Tuzhan documents no rate-limit code), not executed |
//! | `{"kind":"expire_tokens"}` | every token issued so far expires now (WeCom 42001, Tuzhan 100200) |
//! | `{"kind":"revoke_token","token":"…"}` | that token becomes unknown (WeCom 40014, Tuzhan 100200) |
//! | `{"kind":"clear"}` | drops every pending fault |
//!
//! Every injected fault takes an optional `"path"` (an endpoint path without the service prefix,
//! e.g. `/cgi-bin/department/create`): it then fires only on calls to that path. Without a path it
//! fires on the next calls to any endpoint of either service, token endpoints included. `times`
//! defaults to 1. Faults fire in the order they were injected; a delay and another fault can fire
//! on the same call. `GET /__emulator/faults` lists the pending faults, `DELETE /__emulator/faults`
//! clears them, `GET /__emulator/stats` answers the counters and `DELETE /__emulator/stats`
//! resets them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::state::Shared;

/// What an injected fault does to a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer "system busy" (WeCom errcode -1; Tuzhan code "-1", an inference: Tuzhan documents none) without executing the call.
    Busy,
    /// Answer this HTTP status (with an HTML body) without executing the call.
    HttpStatus(u16),
    /// Answer this much later; the call is otherwise handled normally.
    Delay(Duration),
    /// Answer HTTP 200 with a body that is not JSON, without executing the call.
    Malformed,
    /// Execute the call and cut its JSON answer in half.
    Truncated,
    /// Execute the call and cut the connection before the answer's body arrives.
    Dropped,
    /// Answer "rate limited" (WeCom errcode 45009; Tuzhan code "429", an inference: Tuzhan documents none) without executing the call.
    RateLimited,
}

impl FaultKind {
    fn name(&self) -> &'static str {
        match self {
            FaultKind::Busy => "busy",
            FaultKind::HttpStatus(_) => "http_status",
            FaultKind::Delay(_) => "delay",
            FaultKind::Malformed => "malformed",
            FaultKind::Truncated => "truncated",
            FaultKind::Dropped => "dropped",
            FaultKind::RateLimited => "rate_limited",
        }
    }
}

/// One injected fault: what, how many times, and optionally on which endpoint path only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// What it does.
    pub kind: FaultKind,
    /// How many more calls it fires on.
    pub times: u32,
    /// The endpoint path it is limited to (without the service prefix); `None` for any call.
    pub path: Option<String>,
}

impl Fault {
    /// A fault of `kind` firing on the next `times` calls.
    pub fn new(kind: FaultKind, times: u32) -> Self {
        Fault {
            kind,
            times,
            path: None,
        }
    }

    /// The next `times` calls answer "system busy".
    pub fn busy(times: u32) -> Self {
        Self::new(FaultKind::Busy, times)
    }

    /// The next `times` calls answer HTTP `status`.
    pub fn http_status(status: u16, times: u32) -> Self {
        Self::new(FaultKind::HttpStatus(status), times)
    }

    /// The next `times` calls are answered `delay` late.
    pub fn delay(delay: Duration, times: u32) -> Self {
        Self::new(FaultKind::Delay(delay), times)
    }

    /// The next `times` calls answer a body that is not JSON.
    pub fn malformed(times: u32) -> Self {
        Self::new(FaultKind::Malformed, times)
    }

    /// The next `times` calls are executed and answered with truncated JSON.
    pub fn truncated(times: u32) -> Self {
        Self::new(FaultKind::Truncated, times)
    }

    /// The next `times` calls are executed and their answers lost: the connection is cut
    /// before the body (the client sees a transport failure after the call was applied).
    pub fn dropped(times: u32) -> Self {
        Self::new(FaultKind::Dropped, times)
    }

    /// The next `times` calls answer "rate limited" (WeCom 45009).
    pub fn rate_limited(times: u32) -> Self {
        Self::new(FaultKind::RateLimited, times)
    }

    /// Limits the fault to calls to `path` (e.g. `qywx::wecom::department::CREATE_DEPARTMENT.path`).
    #[must_use]
    pub fn on(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    fn matches(&self, path: &str) -> bool {
        self.times > 0 && self.path.as_deref().is_none_or(|p| p == path)
    }

    /// The fault as the control endpoint writes it.
    pub fn to_json(&self) -> Value {
        let mut value = json!({ "kind": self.kind.name(), "times": self.times, "path": self.path });
        match self.kind {
            FaultKind::HttpStatus(status) => value["status"] = json!(status),
            FaultKind::Delay(delay) => value["ms"] = json!(delay.as_millis() as u64),
            _ => {}
        }
        value
    }
}

/// A command of the control endpoint.
#[derive(Debug)]
pub(crate) enum Command {
    Inject(Fault),
    ExpireTokens,
    RevokeToken(String),
    Clear,
}

impl Command {
    /// Reads one command object of `POST /__emulator/faults`.
    pub(crate) fn from_json(value: &Value) -> Result<Command, String> {
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .ok_or("each command needs a string `kind`")?;
        let times = match value.get("times") {
            None | Some(Value::Null) => 1,
            Some(v) => v
                .as_u64()
                .and_then(|t| u32::try_from(t).ok())
                .ok_or("`times` must be a non-negative integer")?,
        };
        let path = match value.get("path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(p.clone()),
            Some(_) => return Err("`path` must be a string".into()),
        };
        let kind = match kind {
            "busy" => FaultKind::Busy,
            "malformed" => FaultKind::Malformed,
            "truncated" => FaultKind::Truncated,
            "dropped" => FaultKind::Dropped,
            "rate_limited" => FaultKind::RateLimited,
            "http_status" => {
                let status = value
                    .get("status")
                    .and_then(Value::as_u64)
                    .filter(|s| (100..=599).contains(s));
                FaultKind::HttpStatus(status.ok_or("`http_status` needs a `status` between 100 and 599")? as u16)
            }
            "delay" => FaultKind::Delay(Duration::from_millis(
                value.get("ms").and_then(Value::as_u64).ok_or("`delay` needs `ms`")?,
            )),
            "expire_tokens" => return Ok(Command::ExpireTokens),
            "clear" => return Ok(Command::Clear),
            "revoke_token" => {
                let token = value
                    .get("token")
                    .and_then(Value::as_str)
                    .ok_or("`revoke_token` needs a string `token`")?;
                return Ok(Command::RevokeToken(token.to_owned()));
            }
            other => return Err(format!("unknown kind {other:?}")),
        };
        Ok(Command::Inject(Fault { kind, times, path }))
    }
}

/// The pending faults of an emulator.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    faults: Vec<Fault>,
}

/// What the pending faults do to one call.
#[derive(Debug, Default)]
pub(crate) struct Firing {
    pub delay: Option<Duration>,
    pub kind: Option<FaultKind>,
}

impl FaultQueue {
    pub(crate) fn push(&mut self, fault: Fault) {
        if fault.times > 0 {
            self.faults.push(fault);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.faults.clear();
    }

    pub(crate) fn pending(&self) -> Vec<Fault> {
        self.faults.clone()
    }

    /// Fires the first pending delay and the first other pending fault matching `path`.
    pub(crate) fn fire(&mut self, path: &str) -> Firing {
        let mut firing = Firing::default();
        let is_delay = |f: &Fault| matches!(f.kind, FaultKind::Delay(_));
        if let Some(fault) = self.faults.iter_mut().find(|f| is_delay(f) && f.matches(path)) {
            fault.times -= 1;
            if let FaultKind::Delay(delay) = fault.kind {
                firing.delay = Some(delay);
            }
        }
        if let Some(fault) = self.faults.iter_mut().find(|f| !is_delay(f) && f.matches(path)) {
            fault.times -= 1;
            firing.kind = Some(fault.kind.clone());
        }
        self.faults.retain(|f| f.times > 0);
        firing
    }
}

/// Handle on a running emulator's faults and tokens; cheap to clone.
#[derive(Clone, Debug)]
pub struct FaultHandle {
    shared: Arc<Shared>,
}

impl FaultHandle {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        FaultHandle { shared }
    }

    /// Adds a fault after the pending ones.
    pub fn inject(&self, fault: Fault) -> &Self {
        self.shared.lock().faults.push(fault);
        self
    }

    /// Every token issued so far expires now: WeCom answers 42001, Tuzhan HTTP 401 with 100200.
    pub fn expire_all_tokens(&self) -> &Self {
        self.shared.lock().tokens.expire_all();
        self
    }

    /// Forgets `token`: WeCom answers 40014, Tuzhan HTTP 401 with 100200. `false` when it was
    /// not issued here.
    pub fn revoke_token(&self, token: &str) -> bool {
        self.shared.lock().tokens.revoke(token)
    }

    /// Forgets every token issued for `service`; answers how many.
    pub fn revoke_all_tokens(&self, service: crate::Service) -> usize {
        self.shared.lock().tokens.revoke_all(service)
    }

    /// Drops every pending fault.
    pub fn clear(&self) -> &Self {
        self.shared.lock().faults.clear();
        self
    }

    /// The pending faults, in firing order.
    pub fn pending(&self) -> Vec<Fault> {
        self.shared.lock().faults.pending()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_order_and_by_path() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::busy(1).on("/a"));
        queue.push(Fault::malformed(2));
        queue.push(Fault::delay(Duration::from_millis(5), 1));
        let first = queue.fire("/b");
        assert_eq!(first.kind, Some(FaultKind::Malformed));
        assert_eq!(first.delay, Some(Duration::from_millis(5)));
        assert_eq!(queue.fire("/a").kind, Some(FaultKind::Busy));
        assert_eq!(queue.fire("/a").kind, Some(FaultKind::Malformed));
        assert_eq!(queue.fire("/a").kind, None);
        assert!(queue.pending().is_empty());
    }

    #[test]
    fn reads_commands() {
        let cmd = Command::from_json(&json!({"kind": "http_status", "status": 502, "times": 3, "path": "/x"}));
        match cmd {
            Ok(Command::Inject(f)) => assert_eq!(f, Fault::http_status(502, 3).on("/x")),
            other => panic!("unexpected {other:?}"),
        }
        assert!(Command::from_json(&json!({"kind": "nope"})).is_err());
        assert!(Command::from_json(&json!({"kind": "http_status", "status": 42})).is_err());
        assert!(matches!(
            Command::from_json(&json!({"kind": "expire_tokens"})),
            Ok(Command::ExpireTokens)
        ));
    }
}
