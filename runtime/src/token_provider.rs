//! The token layer: one token per app, fetched once however many calls race for it, shared
//! through a store so a fleet fetches once per expiry, and kept working while the store is down.
//! The client hands it a way to fetch a token (its own send path to the token endpoint).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::token::{now_ms, StoredToken, TokenCache};
use crate::{Error, Result, Secret};

/// What a token fetch returns.
pub(crate) type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<StoredToken>> + Send + 'a>>;

/// Why a token could not come through the shared store.
enum Shared {
    /// The store failed (with the token fetched before it did, if any).
    Store(Error, Option<StoredToken>),
    /// The token endpoint failed.
    Fetch(Error),
}

/// The tokens of one app: the cache (and its store), and how early to refresh.
#[derive(Debug)]
pub(crate) struct TokenProvider {
    tokens: TokenCache,
    /// A token is refreshed when it has less than this left.
    margin: Duration,
    /// How long one process may hold the store's fetch lock.
    lock_ttl: Duration,
}

impl TokenProvider {
    pub(crate) fn new(tokens: TokenCache, margin: Duration, lock_ttl: Duration) -> Self {
        TokenProvider {
            tokens,
            margin,
            lock_ttl,
        }
    }

    /// The token-store key of this app.
    pub(crate) fn key(&self) -> &str {
        &self.tokens.key
    }

    /// Whether this process fetched `token` itself (see the client's `may_refresh`).
    pub(crate) fn fetched_here(&self, token: &Secret) -> bool {
        self.tokens.fetched_here(token)
    }

    /// Forgets `token` so the next call fetches a new one (here and in a shared store).
    pub(crate) async fn invalidate(&self, token: &Secret) -> Result<()> {
        self.tokens.invalidate(token).await
    }

    /// The app's current token, fetching one with `fetch` if none is cached or it is about to
    /// expire (see `ServiceClient::token`).
    pub(crate) async fn token<'a>(&'a self, fetch: &'a (dyn Fn() -> FetchFuture<'a> + Sync)) -> Result<Secret> {
        let tokens = &self.tokens;
        let margin = self.margin;
        let rejoin_due = || tokens.degraded() && tokens.store_usable();
        if let Some(token) = tokens.local(margin) {
            if !rejoin_due() {
                return Ok(token.value);
            }
        }
        // One fetch in flight per client (and its clones); the others wait here and then find it.
        let _gate = tokens.fetch_gate.lock().await;
        if let Some(token) = tokens.local(margin) {
            return Ok(if rejoin_due() {
                self.rejoin_store(token).await
            } else {
                token.value
            });
        }
        if !tokens.store_usable() {
            return self.fetch_own_token(fetch).await;
        }
        match self.shared_token(fetch).await {
            Ok(token) => {
                tokens.store_answered();
                tokens.set_local(token.clone());
                Ok(token.value)
            }
            Err(Shared::Store(error, fetched)) => {
                tokens.store_failed(&error);
                match fetched {
                    Some(token) => {
                        tokens.set_local(token.clone());
                        Ok(token.value)
                    }
                    None => self.fetch_own_token(fetch).await,
                }
            }
            Err(Shared::Fetch(error)) => Err(error),
        }
    }

    /// A token from the shared store, or fetched under the store's lock and put there.
    async fn shared_token<'a>(
        &'a self,
        fetch: &'a (dyn Fn() -> FetchFuture<'a> + Sync),
    ) -> std::result::Result<StoredToken, Shared> {
        let tokens = &self.tokens;
        let (store, key) = (&tokens.store, tokens.key.as_str());
        let stored = |t: Option<StoredToken>| t.filter(|t| tokens.usable(t, self.margin));
        let owner = lock_owner();
        let deadline = now_ms() + 2 * self.lock_ttl.as_millis() as u64;
        loop {
            if let Some(token) = stored(store.get(key).await.map_err(|e| Shared::Store(e, None))?) {
                return Ok(token);
            }
            // Past the deadline a stuck lock holder is ignored; its lock has expired by then anyway.
            let locked = now_ms() > deadline
                || store
                    .try_lock(key, &owner, self.lock_ttl)
                    .await
                    .map_err(|e| Shared::Store(e, None))?;
            if locked {
                let outcome = self.fetch_under_lock(key, fetch).await;
                if let Err(e) = store.unlock(key, &owner).await {
                    tokens.store_failed(&e);
                }
                return outcome;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Holding the store's lock: the token another process stored meanwhile, or a new one.
    async fn fetch_under_lock<'a>(
        &'a self,
        key: &str,
        fetch: &'a (dyn Fn() -> FetchFuture<'a> + Sync),
    ) -> std::result::Result<StoredToken, Shared> {
        let tokens = &self.tokens;
        let meanwhile = tokens.store.get(key).await.map_err(|e| Shared::Store(e, None))?;
        if let Some(token) = meanwhile.filter(|t| tokens.usable(t, self.margin)) {
            return Ok(token);
        }
        let token = fetch().await.map_err(Shared::Fetch)?;
        tokens.accept_issued(&token.value);
        match tokens.store.put(key, &token).await {
            Ok(()) => Ok(token),
            Err(e) => Err(Shared::Store(e, Some(token))),
        }
    }

    /// Without the store: this client's own token.
    async fn fetch_own_token<'a>(&'a self, fetch: &'a (dyn Fn() -> FetchFuture<'a> + Sync)) -> Result<Secret> {
        let tokens = &self.tokens;
        let token = fetch().await?;
        tokens.accept_issued(&token.value);
        tokens.set_local(token.clone());
        Ok(token.value)
    }

    /// Degraded with a good token of its own: if the store answers again, use the fleet's token
    /// when it has one (so every process holds the one the store hands out), else share ours,
    /// under the store's lock so the fleet converges on one token.
    async fn rejoin_store(&self, own: StoredToken) -> Secret {
        let tokens = &self.tokens;
        let margin = self.margin;
        let (store, key) = (&tokens.store, tokens.key.as_str());
        let owner = lock_owner();
        let attempt = async {
            if let Some(shared) = store.get(key).await?.filter(|t| tokens.usable(t, margin)) {
                return Ok(Some(shared));
            }
            if !store.try_lock(key, &owner, self.lock_ttl).await? {
                return Ok(None); // another process is rejoining or fetching: look again later
            }
            let outcome = match store.get(key).await {
                Ok(Some(shared)) if tokens.usable(&shared, margin) => Ok(Some(shared)),
                Ok(_) => store.put(key, &own).await.map(|()| Some(own.clone())),
                Err(e) => Err(e),
            };
            store.unlock(key, &owner).await?;
            outcome
        };
        match attempt.await {
            Ok(Some(shared)) => {
                tokens.store_answered();
                tokens.set_local(shared.clone());
                shared.value
            }
            Ok(None) => own.value,
            Err(e) => {
                tokens.store_failed(&e);
                own.value
            }
        }
    }
}

/// Who holds a store lock: this process, and a value of this attempt's own.
fn lock_owner() -> String {
    format!("{}-{}", std::process::id(), crate::client::jitter_seed())
}
