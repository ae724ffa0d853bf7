//! The token layer: one token per app, fetched once however many calls race for it, shared
//! through a store so a fleet fetches once per expiry, and kept working while the store is down.
//! The client hands it a way to fetch a token (its own send path to the token endpoint).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::token::{now_ms, StoredToken, TokenCache, STORE_PATIENCE};
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
    /// Shared with the watch a fetch leaves behind (see [`TokenProvider::watch`]).
    tokens: Arc<TokenCache>,
    /// A token is refreshed when it has less than this left.
    margin: Duration,
    /// How long one process may hold the store's fetch lock.
    lock_ttl: Duration,
}

/// How long a process that fetched a token watches the store for a restart that loses it (the
/// fleet reads a new token within a few polls).
const WATCH: Duration = Duration::from_millis(500);
/// How often the watch and the processes waiting for a token look at the store.
const POLL: Duration = Duration::from_millis(25);

impl TokenProvider {
    pub(crate) fn new(tokens: TokenCache, margin: Duration, lock_ttl: Duration) -> Self {
        TokenProvider {
            tokens: Arc::new(tokens),
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
        let tokens = &*self.tokens;
        let margin = self.margin;
        let rejoin_due = || tokens.degraded() && tokens.store_usable();
        if let Some(token) = tokens.local(margin) {
            if !rejoin_due() {
                return Ok(token.value);
            }
            // One task looks at the store again; the others keep the good token they have.
            let Ok(_gate) = tokens.fetch_gate.try_lock() else {
                return Ok(token.value);
            };
            return Ok(if rejoin_due() {
                self.rejoin_store(token).await
            } else {
                token.value
            });
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

    /// A token from the shared store, or fetched under the store's lock and put there. Each
    /// store command rides out a restart (`TokenCache::patiently`). A restart empties the store,
    /// the lock of a process that is fetching included, so for LOCK_GRACE after a store failure
    /// this process neither takes the lock nor fetches under it: it waits for that process's
    /// token, or for the one the restart lost to be put back (see [`TokenProvider::watch`]).
    async fn shared_token<'a>(
        &'a self,
        fetch: &'a (dyn Fn() -> FetchFuture<'a> + Sync),
    ) -> std::result::Result<StoredToken, Shared> {
        let tokens = &*self.tokens;
        let (store, key) = (&tokens.store, tokens.key.as_str());
        let owner = lock_owner();
        let deadline = now_ms() + 2 * self.lock_ttl.as_millis() as u64;
        loop {
            if let Some(token) = self.stored(key).await? {
                return Ok(token);
            }
            // Past the deadline a stuck lock holder is ignored; its lock has expired by then anyway.
            let past_deadline = now_ms() > deadline;
            let wait = !past_deadline && tokens.store_just_failed();
            let locked = past_deadline
                || (!wait
                    && tokens
                        .patiently(|| store.try_lock(key, &owner, self.lock_ttl))
                        .await
                        .map_err(|e| Shared::Store(e, None))?);
            if locked {
                let outcome = match self.stored(key).await {
                    Ok(Some(token)) => Ok(Some(token)),
                    Ok(None) if !past_deadline && tokens.store_just_failed() => Ok(None),
                    Ok(None) => self.fetch_under_lock(key, &owner, fetch).await.map(Some),
                    Err(e) => Err(e),
                };
                // A store that failed for its whole second is not waited for again: the lock
                // expires, or the watch releases it once a failed put is through.
                if !matches!(outcome, Err(Shared::Store(..))) {
                    if let Err(e) = tokens.patiently(|| store.unlock(key, &owner)).await {
                        tokens.store_failed(&e);
                    }
                }
                if let Some(token) = outcome? {
                    return Ok(token);
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The store's token, if this client may use it.
    async fn stored(&self, key: &str) -> std::result::Result<Option<StoredToken>, Shared> {
        let tokens = &*self.tokens;
        let found = tokens.patiently(|| tokens.store.get(key)).await;
        Ok(found
            .map_err(|e| Shared::Store(e, None))?
            .filter(|t| tokens.usable(t, self.margin)))
    }

    /// Holding the store's lock, and the store without a token: a new one, put there.
    async fn fetch_under_lock<'a>(
        &'a self,
        key: &str,
        owner: &str,
        fetch: &'a (dyn Fn() -> FetchFuture<'a> + Sync),
    ) -> std::result::Result<StoredToken, Shared> {
        let tokens = &*self.tokens;
        let token = fetch().await.map_err(Shared::Fetch)?;
        tokens.accept_issued(&token.value);
        // The current token from now on (the watch ends when it no longer is).
        tokens.set_local(token.clone());
        let failures = tokens.store_failures();
        let put = tokens.patiently(|| tokens.store.put(key, &token)).await;
        self.watch(&token, owner, failures);
        match put {
            Ok(()) => Ok(token),
            Err(e) => Err(Shared::Store(e, Some(token))),
        }
    }

    /// After fetching `token` under the lock and putting it, this process watches the store for
    /// WATCH: if the store fails then (a restart, which empties it before the fleet has read the
    /// token) or failed the put, the watch puts the token back once the store answers again, then
    /// releases the lock. The processes waiting on the store hold off the lock for LOCK_GRACE after
    /// a failure, so they find the token instead of fetching another. Short, and it ends as soon
    /// as the token is not this process's current one (rejected, replaced), the store holds
    /// another, or the store dropped it without failing (another process invalidated it): a token
    /// the service may have rejected since is not put back. `failures` is the store's failure
    /// count from before the put.
    fn watch(&self, token: &StoredToken, owner: &str, mut failures: u64) {
        use tokio::time::{sleep, timeout, Instant};
        let (tokens, token, owner, margin) = (Arc::clone(&self.tokens), token.clone(), owner.to_owned(), self.margin);
        tokio::spawn(async move {
            let current = || tokens.usable(&token, margin) && !tokens.local_is_other_than(&token.value);
            let mut until = Instant::now() + WATCH;
            let mut extended = false;
            loop {
                let failed = tokens.store_failures() != failures;
                if failed && !extended {
                    // The store may have lost the token: stay until it answers again.
                    until = until.max(Instant::now() + STORE_PATIENCE);
                    extended = true;
                }
                if Instant::now() >= until || !current() {
                    return;
                }
                sleep(POLL).await;
                match timeout(STORE_PATIENCE / 2, tokens.store.get(&tokens.key)).await {
                    // Still there (the failures, if any, lost nothing).
                    Ok(Ok(Some(held))) if held.value == token.value => failures = tokens.store_failures(),
                    Ok(Ok(Some(_))) => return,
                    Ok(Ok(None)) => {
                        let lost = tokens.store_failures() != failures;
                        if lost && current() && tokens.store.put(&tokens.key, &token).await.is_ok() {
                            let _ = tokens.store.unlock(&tokens.key, &owner).await;
                        }
                        return;
                    }
                    Ok(Err(_)) | Err(_) => tokens.note_store_failure(),
                }
            }
        });
    }

    /// Without the store: this client's own token.
    async fn fetch_own_token<'a>(&'a self, fetch: &'a (dyn Fn() -> FetchFuture<'a> + Sync)) -> Result<Secret> {
        let tokens = &*self.tokens;
        let token = fetch().await?;
        tokens.accept_issued(&token.value);
        tokens.set_local(token.clone());
        Ok(token.value)
    }

    /// Degraded with a good token of its own, and the store due to be tried again: if it
    /// answers, this client is back on it, and takes the fleet's token if that is at least as
    /// new as its own. Its own token is never put on the store: the service may have expired
    /// it since (a mass expiry this process has not met yet), and every process would get a
    /// dead token from the store; kept here, it costs nothing, and the next refresh goes
    /// through the store and its lock.
    async fn rejoin_store(&self, own: StoredToken) -> Secret {
        let tokens = &*self.tokens;
        match tokens.patiently(|| tokens.store.get(&tokens.key)).await {
            Ok(shared) => {
                tokens.store_answered();
                let newer = shared.filter(|t| tokens.usable(t, self.margin) && t.obtained_at_ms >= own.obtained_at_ms);
                match newer {
                    Some(shared) => {
                        tokens.set_local(shared.clone());
                        shared.value
                    }
                    None => own.value,
                }
            }
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    use super::*;
    use crate::token::{MemoryTokenStore, StoreFuture, TokenStore};

    /// A memory store whose next `fail` commands fail, as a restarting Redis does.
    #[derive(Debug, Default)]
    struct Flaky {
        inner: MemoryTokenStore,
        fail: AtomicUsize,
    }

    impl Flaky {
        fn fails<T: Send>(&self) -> Option<StoreFuture<'static, T>> {
            let failing = self.fail.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok();
            failing.then(|| -> StoreFuture<'static, T> { Box::pin(async { Err(Error::token_store("restarting")) }) })
        }
    }

    impl TokenStore for Flaky {
        fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<StoredToken>> {
            self.fails().unwrap_or_else(|| self.inner.get(key))
        }
        fn put<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> StoreFuture<'a, ()> {
            self.fails().unwrap_or_else(|| self.inner.put(key, token))
        }
        fn invalidate<'a>(&'a self, key: &'a str, value: &'a str) -> StoreFuture<'a, ()> {
            self.fails().unwrap_or_else(|| self.inner.invalidate(key, value))
        }
        fn try_lock<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
            self.fails().unwrap_or_else(|| self.inner.try_lock(key, owner, ttl))
        }
        fn unlock<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, ()> {
            self.fails().unwrap_or_else(|| self.inner.unlock(key, owner))
        }
    }

    const KEY: &str = "qywx:token:test";

    fn token(value: &str, obtained_at_ms: u64) -> StoredToken {
        StoredToken {
            value: Secret::new(value),
            obtained_at_ms,
            expires_at_ms: obtained_at_ms + 7_200_000,
        }
    }

    fn provider(store: &Arc<Flaky>) -> TokenProvider {
        let cache = TokenCache::new(KEY.to_owned(), Arc::clone(store) as Arc<dyn TokenStore>);
        TokenProvider::new(cache, Duration::from_secs(300), Duration::from_secs(10))
    }

    /// `fetch` issues `t1`, `t2`… and counts.
    async fn token_of(provider: &TokenProvider, fetches: &AtomicUsize) -> String {
        let fetch = || -> FetchFuture<'_> {
            let n = fetches.fetch_add(1, SeqCst) + 1;
            Box::pin(async move { Ok(token(&format!("t{n}"), now_ms())) })
        };
        provider.token(&fetch).await.unwrap().expose().to_owned()
    }

    async fn stored(store: &Flaky) -> Option<String> {
        let found = store.inner.get(KEY).await.unwrap();
        found.map(|t| t.value.expose().to_owned())
    }

    #[tokio::test]
    async fn a_store_failing_for_a_moment_is_waited_for_not_worked_around() {
        let store = Arc::new(Flaky::default());
        store.fail.store(3, SeqCst);
        let (provider, fetches) = (provider(&store), AtomicUsize::new(0));
        assert_eq!(token_of(&provider, &fetches).await, "t1");
        assert_eq!(fetches.load(SeqCst), 1);
        assert!(!provider.tokens.degraded(), "a restart is not an outage");
        assert_eq!(stored(&store).await.as_deref(), Some("t1"), "the token is shared");
    }

    #[tokio::test]
    async fn after_a_store_failure_the_lock_is_left_to_the_process_fetching() {
        // The restart dropped the lock of a process that was fetching; its token lands shortly.
        let store = Arc::new(Flaky::default());
        store.fail.store(1, SeqCst);
        let theirs = Arc::clone(&store);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            theirs.inner.put(KEY, &token("theirs", now_ms())).await.unwrap();
        });
        let (provider, fetches) = (provider(&store), AtomicUsize::new(0));
        assert_eq!(token_of(&provider, &fetches).await, "theirs");
        assert_eq!(fetches.load(SeqCst), 0);
    }

    #[tokio::test]
    async fn a_store_that_is_down_costs_about_a_second_then_the_client_fetches_its_own() {
        let store = Arc::new(Flaky::default());
        store.fail.store(usize::MAX, SeqCst);
        let (provider, fetches) = (provider(&store), AtomicUsize::new(0));
        let started = std::time::Instant::now();
        assert_eq!(token_of(&provider, &fetches).await, "t1");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert!(provider.tokens.degraded());
    }

    #[tokio::test]
    async fn rejoining_the_store_never_puts_this_clients_own_token() {
        // The store holds nothing, a token older than this client's own, or a newer one (seconds).
        for (shared, expected) in [(None, "own"), (Some(-1), "own"), (Some(1), "shared")] {
            let store = Arc::new(Flaky::default());
            let provider = provider(&store);
            let now = now_ms();
            if let Some(offset) = shared {
                let obtained = now.saturating_add_signed(offset * 1_000);
                store.inner.put(KEY, &token("shared", obtained)).await.unwrap();
            }
            provider.tokens.set_local(token("own", now));
            provider.tokens.store_failed_and_due_again();
            let fetches = AtomicUsize::new(0);
            assert_eq!(
                token_of(&provider, &fetches).await,
                expected,
                "store's token {shared:?}"
            );
            assert!(!provider.tokens.degraded(), "back on the store");
            assert_ne!(
                stored(&store).await.as_deref(),
                Some("own"),
                "its own token may be dead"
            );
            assert_eq!(fetches.load(SeqCst), 0);
        }
    }

    #[tokio::test]
    async fn the_fetching_process_puts_back_a_token_a_restart_lost() {
        let store = Arc::new(Flaky::default());
        let (provider, fetches) = (provider(&store), AtomicUsize::new(0));
        assert_eq!(token_of(&provider, &fetches).await, "t1");
        // A restart: the store is empty, and the first command on the old connection fails.
        store.inner.invalidate(KEY, "t1").await.unwrap();
        store.fail.store(1, SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(stored(&store).await.as_deref(), Some("t1"));
    }

    #[tokio::test]
    async fn a_token_another_process_invalidated_is_not_put_back() {
        let store = Arc::new(Flaky::default());
        let (provider, fetches) = (provider(&store), AtomicUsize::new(0));
        assert_eq!(token_of(&provider, &fetches).await, "t1");
        store.inner.invalidate(KEY, "t1").await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(stored(&store).await, None);
    }
}
