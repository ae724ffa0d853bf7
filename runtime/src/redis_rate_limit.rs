//! The fleet's call budgets in Redis: [`RateLimitStore`] for [`RedisTokenStore`], so one
//! connection carries both the shared tokens and the shared budgets.

use std::sync::OnceLock;
use std::time::Duration;

use crate::rate_limit::{Acquired, Budget, Pace, RateLimitStore};
use crate::token::StoreFuture;
use crate::{Error, RedisTokenStore};

/// GCRA over every budget of a call at once, at Redis' clock (microseconds).
/// KEYS[1]: the API's pause key; KEYS[2..]: one key per budget holding its theoretical
/// arrival time. ARGV[1]: the process; ARGV[2], ARGV[3]…: each budget's interval and tolerance.
/// Answers {wait in microseconds (0: taken), processes seen in the last minute}.
const ACQUIRE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local members = 'qywx:rate:processes'
redis.call('ZADD', members, now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', members, '-inf', now - 60000000)
local sharing = redis.call('ZCARD', members)
local paused = redis.call('PTTL', KEYS[1])
if paused > 0 then
  return {paused * 1000, sharing}
end
local wait = 0
local later = {}
for i = 2, #KEYS do
  local interval = tonumber(ARGV[2 * i - 2])
  local tolerance = tonumber(ARGV[2 * i - 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  if tat - tolerance - now > wait then wait = tat - tolerance - now end
  later[i] = tat + interval
end
if wait > 0 then
  return {math.ceil(wait), sharing}
end
for i = 2, #KEYS do
  local ttl = math.ceil((later[i] - now) / 1000) + 1000
  redis.call('SET', KEYS[i], string.format('%.0f', later[i]), 'PX', ttl)
end
return {0, sharing}";

impl RateLimitStore for RedisTokenStore {
    fn acquire<'a>(&'a self, pause: &'a str, budgets: &'a [Budget], member: &'a str) -> StoreFuture<'a, Acquired> {
        let mut connection = self.connection.clone();
        Box::pin(async move {
            // Hashed once: the script goes by its digest (EVALSHA), and again in full only
            // when Redis has forgotten it (after a restart).
            static SCRIPT: OnceLock<redis::Script> = OnceLock::new();
            let mut script = SCRIPT.get_or_init(|| redis::Script::new(ACQUIRE)).prepare_invoke();
            script.key(pause).arg(member);
            for budget in budgets {
                let pace = Pace::of(&budget.window, 1);
                script
                    .key(&budget.key)
                    .arg(pace.interval.as_micros() as u64)
                    .arg(pace.tolerance.as_micros() as u64);
            }
            let (wait_us, sharing): (u64, u64) = script.invoke_async(&mut connection).await.map_err(Error::token_store)?;
            Ok(Acquired {
                wait: Duration::from_micros(wait_us),
                sharing,
            })
        })
    }

    fn pause<'a>(&'a self, pause: &'a str, block: Duration) -> StoreFuture<'a, ()> {
        let mut connection = self.connection.clone();
        Box::pin(async move {
            redis::cmd("SET")
                .arg(pause)
                .arg(1)
                .arg("PX")
                .arg(block.as_millis().max(1) as u64)
                .query_async::<()>(&mut connection)
                .await
                .map_err(Error::token_store)
        })
    }
}
