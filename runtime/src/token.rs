//! Token cache: one fetch in flight per app, refreshed ahead of expiry, shareable across
//! processes through a [`TokenStore`].

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::store_health::StoreHealth;
use crate::{Result, Secret};

/// Boxed future returned by [`TokenStore`] methods (keeps the trait object-safe without macros).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// A token, when it was obtained and when it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredToken {
    /// The token.
    pub value: Secret,
    /// When it was obtained, in milliseconds since the Unix epoch.
    pub obtained_at_ms: u64,
    /// Expiry, in milliseconds since the Unix epoch.
    pub expires_at_ms: u64,
}

impl StoredToken {
    /// Whether the token is still good `margin` from now. The margin is capped at half the
    /// token's lifetime, so a short-lived token is still used for its first half instead of
    /// being fetched again on every call.
    pub fn fresh(&self, margin: Duration) -> bool {
        let lifetime = self.expires_at_ms.saturating_sub(self.obtained_at_ms);
        let margin = (margin.as_millis() as u64).min(lifetime / 2);
        now_ms().saturating_add(margin) < self.expires_at_ms
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Where tokens live between calls. The default keeps them in memory; a shared store (Redis)
/// lets many processes use one token per app. Keys never contain a secret in plain text.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The token stored under `key`, if any.
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<StoredToken>>;
    /// Stores `token` under `key` until it expires.
    fn put<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> StoreFuture<'a, ()>;
    /// Removes the token under `key` if it is still `value` (another process may have refreshed it).
    fn invalidate<'a>(&'a self, key: &'a str, value: &'a str) -> StoreFuture<'a, ()>;
    /// Tries to take the fetch lock for `key` as `owner` for at most `ttl`; `true` when taken, or
    /// already held by `owner` (a command tried again after its answer was lost).
    fn try_lock<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool>;
    /// Releases the fetch lock for `key` if `owner` still holds it.
    fn unlock<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, ()>;
}

/// The default [`TokenStore`]: a map in this process. Share one (`Arc`) between clients of the
/// same app to share the token; its lock, like Redis', has an owner and an expiry.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<HashMap<String, StoredToken>>,
    locks: Mutex<HashMap<String, (String, u64)>>,
}

impl TokenStore for MemoryTokenStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<StoredToken>> {
        let found = self.tokens.lock().unwrap_or_else(|e| e.into_inner()).get(key).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn put<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> StoreFuture<'a, ()> {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned(), token.clone());
        Box::pin(async { Ok(()) })
    }

    fn invalidate<'a>(&'a self, key: &'a str, value: &'a str) -> StoreFuture<'a, ()> {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if tokens.get(key).is_some_and(|t| t.value.expose() == value) {
            tokens.remove(key);
        }
        Box::pin(async { Ok(()) })
    }

    fn try_lock<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        let now = now_ms();
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        let free = locks
            .get(key)
            .is_none_or(|(holder, until)| *until <= now || holder == owner);
        if free {
            locks.insert(key.to_owned(), (owner.to_owned(), now + ttl.as_millis() as u64));
        }
        Box::pin(async move { Ok(free) })
    }

    fn unlock<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, ()> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        if locks.get(key).is_some_and(|(holder, _)| holder == owner) {
            locks.remove(key);
        }
        Box::pin(async { Ok(()) })
    }
}

/// How many rejected token values a client remembers (a token is rejected once per expiry, so a
/// handful covers every token that can still be around).
const REJECTED_KEPT: usize = 8;

/// Per-client token state: a local copy of the current token, the in-process fetch gate, the
/// tokens a server has rejected, and whether the shared store is unreachable.
pub(crate) struct TokenCache {
    pub(crate) key: String,
    pub(crate) store: Arc<dyn TokenStore>,
    local: std::sync::RwLock<Option<StoredToken>>,
    pub(crate) fetch_gate: tokio::sync::Mutex<()>,
    /// Token values a server answered "invalid/expired" for: never handed out again, whichever
    /// layer (local copy, shared store) still holds them.
    rejected: Mutex<std::collections::VecDeque<String>>,
    /// Whether the store is to be used, and the warnings while it is not.
    health: StoreHealth,
    /// The last token this client got from the token endpoint itself (not from the store).
    fetched_here: Mutex<Option<String>>,
    /// Store commands that failed so far: a change tells a watcher the store may have restarted
    /// (and lost what it held) meanwhile.
    store_failures: std::sync::atomic::AtomicU64,
    /// When a store command last failed (epoch ms): the store may have restarted empty, locks
    /// included, so for a moment a missing lock does not mean nobody is fetching.
    store_failed_at_ms: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    pub(crate) fn new(key: String, store: Arc<dyn TokenStore>) -> Self {
        TokenCache {
            key,
            store,
            local: std::sync::RwLock::new(None),
            fetch_gate: tokio::sync::Mutex::new(()),
            rejected: Mutex::new(std::collections::VecDeque::new()),
            health: StoreHealth::default(),
            fetched_here: Mutex::new(None),
            store_failures: std::sync::atomic::AtomicU64::new(0),
            store_failed_at_ms: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Whether `value` is the token this client last fetched from the token endpoint itself.
    pub(crate) fn fetched_here(&self, value: &Secret) -> bool {
        let last = self.fetched_here.lock().unwrap_or_else(|e| e.into_inner());
        last.as_deref() == Some(value.expose())
    }

    /// The local copy, when it is fresh and was never rejected.
    pub(crate) fn local(&self, margin: Duration) -> Option<StoredToken> {
        let guard = self.local.read().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().filter(|t| self.usable(t, margin)).cloned()
    }

    pub(crate) fn set_local(&self, token: StoredToken) {
        *self.local.write().unwrap_or_else(|e| e.into_inner()) = Some(token);
    }

    /// Whether the local copy is a token other than `value` (this client has moved on from it).
    pub(crate) fn local_is_other_than(&self, value: &Secret) -> bool {
        let guard = self.local.read().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().is_some_and(|t| &t.value != value)
    }

    /// Fresh and not rejected: what any layer may hand out.
    pub(crate) fn usable(&self, token: &StoredToken, margin: Duration) -> bool {
        token.fresh(margin) && !self.is_rejected(&token.value)
    }

    pub(crate) fn is_rejected(&self, value: &Secret) -> bool {
        let rejected = self.rejected.lock().unwrap_or_else(|e| e.into_inner());
        rejected.iter().any(|r| r == value.expose())
    }

    /// A token the token endpoint itself just issued to this client: good again even if it was
    /// rejected before, and remembered as fetched here.
    pub(crate) fn accept_issued(&self, value: &Secret) {
        let mut rejected = self.rejected.lock().unwrap_or_else(|e| e.into_inner());
        rejected.retain(|r| r != value.expose());
        *self.fetched_here.lock().unwrap_or_else(|e| e.into_inner()) = Some(value.expose().to_owned());
    }

    /// A server rejected `value`: remember that first (so no concurrent task can pick it up again
    /// from any layer), then remove it from the store (only if the store still holds it: another
    /// process may have stored a newer one), then from the local copy.
    pub(crate) async fn invalidate(&self, value: &Secret) -> Result<()> {
        {
            let mut rejected = self.rejected.lock().unwrap_or_else(|e| e.into_inner());
            if !rejected.iter().any(|r| r == value.expose()) {
                if rejected.len() == REJECTED_KEPT {
                    rejected.pop_front();
                }
                rejected.push_back(value.expose().to_owned());
            }
        }
        // While the store is known to be down, the call does not wait for it again: the token is
        // remembered as rejected here, and other processes find out on their own.
        let stored = if self.store_usable() {
            self.patiently(|| self.store.invalidate(&self.key, value.expose()))
                .await
        } else {
            Ok(())
        };
        {
            let mut guard = self.local.write().unwrap_or_else(|e| e.into_inner());
            if guard.as_ref().is_some_and(|t| &t.value == value) {
                *guard = None;
            }
        }
        if let Err(e) = stored {
            self.store_failed(&e);
        }
        Ok(())
    }

    /// Whether the store is to be used now: it is fine, or its retry time has come.
    pub(crate) fn store_usable(&self) -> bool {
        self.health.usable()
    }

    /// Whether the client is working without the store (it failed and has not answered since).
    pub(crate) fn degraded(&self) -> bool {
        self.health.degraded()
    }

    /// The store failed: work without it for a second, and say so (at most every 30 s).
    pub(crate) fn store_failed(&self, error: &crate::Error) {
        if self.health.failed() {
            tracing::warn!(
                key = %self.key,
                error = %error,
                "token store unreachable: fetching this process's own token until it answers again"
            );
        }
    }

    /// Runs a store command, trying it again while the store fails: a restarted Redis fails the
    /// first command on each old connection and refuses new ones until it listens, and giving up
    /// at once sent every process of a fleet to fetch its own token. Bounded by STORE_PATIENCE,
    /// so a store that is really down costs about a second; an attempt gets half of it at most,
    /// since a command caught on a connection as it dies can hang until the response timeout.
    pub(crate) async fn patiently<'s, T>(&self, command: impl Fn() -> StoreFuture<'s, T>) -> Result<T> {
        use tokio::time::{sleep, timeout_at, Instant};
        let deadline = Instant::now() + STORE_PATIENCE;
        loop {
            let attempt_deadline = deadline.min(Instant::now() + STORE_PATIENCE / 2);
            let error = match timeout_at(attempt_deadline, command()).await {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(error)) => error,
                Err(_) => crate::Error::token_store("the token store did not answer in time"),
            };
            self.note_store_failure();
            if Instant::now() + STORE_RETRY_PAUSE >= deadline {
                return Err(error);
            }
            sleep(STORE_RETRY_PAUSE).await;
        }
    }

    /// A store command failed.
    pub(crate) fn note_store_failure(&self) {
        use std::sync::atomic::Ordering;
        self.store_failures.fetch_add(1, Ordering::Relaxed);
        self.store_failed_at_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// Store commands that failed so far (see [`TokenCache::patiently`]).
    pub(crate) fn store_failures(&self) -> u64 {
        self.store_failures.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether a store command failed less than LOCK_GRACE ago (in any task of this client:
    /// the first command on a dead connection fails, and the next ones, on the new connection,
    /// succeed): if the store restarted, a process that held the fetch lock may still be
    /// fetching, its lock gone with the rest.
    pub(crate) fn store_just_failed(&self) -> bool {
        let at = self.store_failed_at_ms.load(std::sync::atomic::Ordering::Relaxed);
        at != 0 && now_ms() < at.saturating_add(LOCK_GRACE.as_millis() as u64)
    }

    /// Degraded, with the store due to be tried again (as a second after a failure).
    #[cfg(test)]
    pub(crate) fn store_failed_and_due_again(&self) {
        self.health.due_again();
    }

    /// The store answered: leave degraded mode.
    pub(crate) fn store_answered(&self) {
        if self.health.answered() {
            tracing::info!(key = %self.key, "token store reachable again: sharing tokens through it");
        }
    }
}

/// How long a failing store command is tried again before the client works without the store
/// (see [`TokenCache::patiently`]): a restart is over well within it, and a store that is down
/// must cost a call about a second, never the HTTP timeout.
pub(crate) const STORE_PATIENCE: Duration = Duration::from_secs(1);
/// Pause between two attempts of a failing store command.
const STORE_RETRY_PAUSE: Duration = Duration::from_millis(25);
/// After a store failure, how long a process waits for the token on the store before it takes
/// the lock, which a restart may have dropped: long enough for a process that was fetching
/// during the restart to put its token (its gettoken answered by then), or to put back the one
/// the restart lost, even on a loaded machine; it delays only the first refresh after a restart.
const LOCK_GRACE: Duration = Duration::from_secs(1);

/// Cache key for one app of one service: the app id and a digest of the secret, never the
/// secret itself.
pub(crate) fn cache_key(service: &str, app_id: &str, secret: &Secret) -> String {
    use sha2::{Digest, Sha256};
    let digest = format!("{:x}", Sha256::digest(secret.expose().as_bytes()));
    // The first 8 bytes tell apps apart; the secret itself is never part of the key.
    format!("qywx:token:{service}:{app_id}:{}", &digest[..16])
}
