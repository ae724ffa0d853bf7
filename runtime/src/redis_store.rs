//! [`RedisTokenStore`]: one token per app shared by every process that points at the same Redis,
//! with a distributed fetch lock (`SET NX PX` with an owner, released only by its owner) so a
//! fleet fetches once per expiry.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::token::{now_ms, StoreFuture, StoredToken, TokenStore};
use crate::{Error, Secret};

/// Removes the key only if it still holds the given token (another process may have refreshed it).
const INVALIDATE: &str = r"
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '\n' then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// Takes the lock, or renews it for an owner that holds it already: the token layer tries a
/// command again when its answer was lost, and the first attempt may have taken the lock.
const LOCK: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0";

/// Releases the lock only if this owner still holds it (it may have expired and been retaken).
const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// A [`TokenStore`] in Redis. Keys are the client's token keys (service, app id and a digest of
/// the secret); values are `token\nobtained-ms\nexpiry-ms` with a matching Redis expiry.
///
/// The connection reconnects by itself (`redis::aio::ConnectionManager`): after a Redis restart
/// the first command on the old connection fails and starts a new one, and scripts are loaded
/// again when Redis has forgotten them. The client tries a failing command again for about a
/// second (a restart is over by then; the lock is safe to take again), then falls back to
/// fetching its own token until Redis answers (see `ClientOptions`).
#[derive(Clone)]
pub struct RedisTokenStore {
    pub(crate) connection: ConnectionManager,
}

impl std::fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTokenStore").finish_non_exhaustive()
    }
}

fn store_error(e: redis::RedisError) -> Error {
    Error::token_store(e)
}

impl RedisTokenStore {
    /// Connects to `url` (`redis://host:port/db`).
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(store_error)?;
        // Short timeouts and one reconnect attempt per command: a token store that is down must
        // cost a call milliseconds, not the HTTP timeout.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(store_error)?;
        Ok(RedisTokenStore { connection })
    }
}

impl TokenStore for RedisTokenStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<StoredToken>> {
        let mut connection = self.connection.clone();
        Box::pin(async move {
            let raw: Option<String> = redis::cmd("GET")
                .arg(key)
                .query_async(&mut connection)
                .await
                .map_err(store_error)?;
            Ok(raw.and_then(|raw| {
                let mut parts = raw.split('\n');
                let (value, obtained, expires) = (parts.next()?, parts.next()?, parts.next()?);
                Some(StoredToken {
                    value: Secret::new(value),
                    obtained_at_ms: obtained.parse().ok()?,
                    expires_at_ms: expires.parse().ok()?,
                })
            }))
        })
    }

    fn put<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> StoreFuture<'a, ()> {
        let mut connection = self.connection.clone();
        Box::pin(async move {
            // Capped: Redis refuses expiries past its clock range, and no token lives a month.
            let ttl_ms = token
                .expires_at_ms
                .saturating_sub(now_ms())
                .clamp(1, 30 * 24 * 3_600_000);
            let value = format!(
                "{}\n{}\n{}",
                token.value.expose(),
                token.obtained_at_ms,
                token.expires_at_ms
            );
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("PX")
                .arg(ttl_ms)
                .query_async::<()>(&mut connection)
                .await
                .map_err(store_error)
        })
    }

    fn invalidate<'a>(&'a self, key: &'a str, value: &'a str) -> StoreFuture<'a, ()> {
        let mut connection = self.connection.clone();
        Box::pin(async move {
            redis::Script::new(INVALIDATE)
                .key(key)
                .arg(value)
                .invoke_async::<i64>(&mut connection)
                .await
                .map(drop)
                .map_err(store_error)
        })
    }

    fn try_lock<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        let mut connection = self.connection.clone();
        Box::pin(async move {
            let taken: i64 = redis::Script::new(LOCK)
                .key(format!("{key}:lock"))
                .arg(owner)
                .arg(ttl.as_millis().max(1) as u64)
                .invoke_async(&mut connection)
                .await
                .map_err(store_error)?;
            Ok(taken == 1)
        })
    }

    fn unlock<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, ()> {
        let mut connection = self.connection.clone();
        Box::pin(async move {
            redis::Script::new(UNLOCK)
                .key(format!("{key}:lock"))
                .arg(owner)
                .invoke_async::<i64>(&mut connection)
                .await
                .map(drop)
                .map_err(store_error)
        })
    }
}
