//! Token cache: one fetch in flight per app, refreshed ahead of expiry, shareable across
//! processes through a [`TokenStore`].

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    /// Tries to take the fetch lock for `key` as `owner` for at most `ttl`; `true` when taken.
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
        let free = locks.get(key).is_none_or(|(_, until)| *until <= now);
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

/// Per-client token state: a local copy of the current token and the in-process fetch gate.
pub(crate) struct TokenCache {
    pub(crate) key: String,
    pub(crate) store: Arc<dyn TokenStore>,
    local: std::sync::RwLock<Option<StoredToken>>,
    pub(crate) fetch_gate: tokio::sync::Mutex<()>,
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
        }
    }

    pub(crate) fn local(&self, margin: Duration) -> Option<Secret> {
        let guard = self.local.read().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().filter(|t| t.fresh(margin)).map(|t| t.value.clone())
    }

    pub(crate) fn set_local(&self, token: StoredToken) {
        *self.local.write().unwrap_or_else(|e| e.into_inner()) = Some(token);
    }

    /// Forgets `value` locally (when it is still the current token) and in the store.
    pub(crate) async fn invalidate(&self, value: &Secret) -> Result<()> {
        {
            let mut guard = self.local.write().unwrap_or_else(|e| e.into_inner());
            if guard.as_ref().is_some_and(|t| &t.value == value) {
                *guard = None;
            }
        }
        self.store.invalidate(&self.key, value.expose()).await
    }
}

/// Cache key for one app of one service: the app id and a digest of the secret, never the
/// secret itself.
pub(crate) fn cache_key(service: &str, app_id: &str, secret: &Secret) -> String {
    let digest = crate::sha256::digest(secret.expose().as_bytes());
    let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("qywx:token:{service}:{app_id}:{short}")
}
