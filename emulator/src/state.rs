//! Everything the emulator keeps, behind one mutex: directories, tokens, faults, counters.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::faults::FaultQueue;
use crate::{callbacks, tuzhan, wecom, Config, Service};

/// State shared by the server and the handles.
/// Seeded members are filed 1,000 to a department under the root.
const SEEDED_PER_DEPARTMENT: usize = 1000;

#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    inner: Mutex<Inner>,
    /// The admin console's change events go here (when a callback is configured).
    pub callback: Option<callbacks::Target>,
    /// Sends what handlers leave in `Inner::outbox` (set once the server runs).
    pub pusher: Option<callbacks::Pusher>,
    pub pushed: Arc<callbacks::Counters>,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Self {
        let inner = Inner {
            wecom: wecom::Directory::seeded(&config.root_department_name, config.seeded_members, SEEDED_PER_DEPARTMENT),
            imports: wecom::Imports::default(),
            exports: wecom::Exports::default(),
            tuzhan: tuzhan::Org::default(),
            tokens: Tokens::default(),
            faults: FaultQueue::default(),
            calls: HashMap::new(),
            outbox: Vec::new(),
            quotas: Default::default(),
        };
        Shared {
            config,
            inner: Mutex::new(inner),
            callback: None,
            pusher: None,
            pushed: Arc::default(),
        }
    }

    /// The state; a panic elsewhere while holding the lock does not make it unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The mutable state.
#[derive(Debug)]
pub(crate) struct Inner {
    pub wecom: wecom::Directory,
    pub imports: wecom::Imports,
    pub exports: wecom::Exports,
    pub tuzhan: tuzhan::Org,
    pub tokens: Tokens,
    pub faults: FaultQueue,
    pub calls: HashMap<String, usize>,
    /// Messages to push once the call is answered (batch jobs' completion events).
    pub outbox: Vec<callbacks::Push>,
    /// The rate limit's budgets.
    pub quotas: crate::quota::Quotas,
}

impl Inner {
    pub(crate) fn reset_counters(&mut self) {
        self.calls.clear();
        self.tokens.issued = [0; 2];
    }
}

#[derive(Debug)]
struct TokenRecord {
    service: Service,
    expires_at: Instant,
}

/// Outcome of checking a token sent with a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    Valid,
    Missing,
    Unknown,
    Expired,
}

/// Issued tokens. Each fetch issues a new token; earlier ones stay valid until they expire.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    records: HashMap<String, TokenRecord>,
    issued: [usize; 2],
    sequence: u64,
}

impl Tokens {
    /// A new token for `service`, valid for `ttl`.
    pub(crate) fn issue(&mut self, service: Service, ttl: Duration) -> String {
        self.sequence += 1;
        self.issued[service.index()] += 1;
        // Unique per emulator instance too, so a token from one test never works on another.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let token = format!(
            "emu-{}-{:06}-{:016x}",
            service.id(),
            self.sequence,
            nanos.rotate_left(17) ^ self.sequence
        );
        self.records.insert(
            token.clone(),
            TokenRecord {
                service,
                expires_at: Instant::now() + ttl,
            },
        );
        token
    }

    pub(crate) fn check(&self, service: Service, token: Option<&str>) -> TokenCheck {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return TokenCheck::Missing;
        };
        match self.records.get(token) {
            Some(record) if record.service != service => TokenCheck::Unknown,
            Some(record) if Instant::now() >= record.expires_at => TokenCheck::Expired,
            Some(_) => TokenCheck::Valid,
            None => TokenCheck::Unknown,
        }
    }

    pub(crate) fn expire_all(&mut self) {
        let now = Instant::now();
        for record in self.records.values_mut() {
            record.expires_at = record.expires_at.min(now);
        }
    }

    pub(crate) fn revoke(&mut self, token: &str) -> bool {
        self.records.remove(token).is_some()
    }

    pub(crate) fn revoke_all(&mut self, service: Service) -> usize {
        let before = self.records.len();
        self.records.retain(|_, r| r.service != service);
        before - self.records.len()
    }

    pub(crate) fn issued(&self, service: Service) -> usize {
        self.issued[service.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lifecycle() {
        let mut tokens = Tokens::default();
        let a = tokens.issue(Service::Wecom, Duration::from_secs(60));
        let b = tokens.issue(Service::Wecom, Duration::from_secs(60));
        assert_ne!(a, b);
        assert_eq!(tokens.check(Service::Wecom, Some(&a)), TokenCheck::Valid);
        assert_eq!(tokens.check(Service::Tuzhan, Some(&a)), TokenCheck::Unknown);
        assert_eq!(tokens.check(Service::Wecom, Some("")), TokenCheck::Missing);
        assert_eq!(tokens.check(Service::Wecom, None), TokenCheck::Missing);
        assert!(tokens.revoke(&a));
        assert_eq!(tokens.check(Service::Wecom, Some(&a)), TokenCheck::Unknown);
        tokens.expire_all();
        assert_eq!(tokens.check(Service::Wecom, Some(&b)), TokenCheck::Expired);
        assert_eq!(tokens.issued(Service::Wecom), 2);
        assert_eq!(tokens.issued(Service::Tuzhan), 0);
    }
}
