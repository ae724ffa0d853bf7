//! Staying under a service's call limits (WeCom's 访问频率限制): each call takes a place in
//! every budget that covers it, before it is sent. A budget is a number of calls per window
//! for one API, either per app (WeCom counts per company) or per source address (per IP); a
//! call over budget waits for room, up to the caller's bound, or fails at once with
//! [`Error::RateLimited`](crate::Error::RateLimited) and the wait it would need.
//!
//! Budgets are counted in this process, shared by every client of the same app (per app) or
//! of any app (per IP): a sliding window estimated from the current and the previous fixed
//! window (the previous one weighted by how much of it still overlaps), which never lets a
//! window's calls exceed the budget when calls arrive evenly, and lets bursts through up to
//! the budget. When the service answers its rate-limit code all the same (another system
//! shares the company's quota), the API is paused for the shortest documented block.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::spec::RateWindow;

/// The budgets a client works with: the spec's, or the caller's own.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// Per app and API.
    pub per_app: Vec<RateWindow>,
    /// Per source address and API.
    pub per_ip: Vec<RateWindow>,
}

impl RateLimits {
    /// Budgets of `per_app` and `per_ip` windows (a test's small quota, a contract's own).
    pub fn new(per_app: Vec<RateWindow>, per_ip: Vec<RateWindow>) -> Self {
        RateLimits { per_app, per_ip }
    }

    /// No budgets: calls are never held back.
    pub fn none() -> Self {
        RateLimits {
            per_app: Vec::new(),
            per_ip: Vec::new(),
        }
    }
}

/// Whose budget a count is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Scope {
    /// One app (its token cache key: service, app id and secret digest).
    App(String),
    /// This process's address.
    Ip,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    scope: Scope,
    endpoint: &'static str,
    window: RateWindow,
}

/// Calls in the current fixed window and in the one before it.
#[derive(Debug)]
struct Count {
    start: Instant,
    current: u64,
    previous: u64,
}

impl Count {
    /// Moves the windows on to `now`.
    fn roll(&mut self, now: Instant, length: Duration) {
        let elapsed = now.saturating_duration_since(self.start);
        if elapsed >= length * 2 {
            *self = Count {
                start: now,
                current: 0,
                previous: 0,
            };
        } else if elapsed >= length {
            self.previous = self.current;
            self.current = 0;
            self.start += length;
        }
    }

    /// The calls estimated in the sliding window ending `now`.
    fn estimate(&self, now: Instant, length: Duration) -> f64 {
        let into = now.saturating_duration_since(self.start).as_secs_f64() / length.as_secs_f64();
        self.previous as f64 * (1.0 - into).max(0.0) + self.current as f64
    }

    /// How long until one more call fits under `calls` (zero when it fits now).
    fn wait(&self, now: Instant, length: Duration, calls: u64) -> Duration {
        let limit = calls as f64;
        if self.estimate(now, length) + 1.0 <= limit {
            return Duration::ZERO;
        }
        let into = now.saturating_duration_since(self.start).as_secs_f64() / length.as_secs_f64();
        let room = limit - 1.0 - self.current as f64;
        let secs = if room < 0.0 || self.previous == 0 {
            // Full this window already: the next one starts with this one as its previous.
            let next_room = limit - 1.0;
            let weight_needed = if self.current == 0 { 0.0 } else { 1.0 - next_room / self.current as f64 };
            (1.0 - into + weight_needed.max(0.0)) * length.as_secs_f64()
        } else {
            // The previous window's weight must fall to `room / previous`.
            (1.0 - room / self.previous as f64 - into).max(0.0) * length.as_secs_f64()
        };
        Duration::from_secs_f64(secs.max(0.001))
    }
}

/// The process's budgets and paused APIs.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    counts: Mutex<HashMap<Key, Count>>,
    paused: Mutex<HashMap<(Scope, &'static str), Instant>>,
}

/// The limiter every client of this process shares (the per-IP budgets are the process's).
pub(crate) fn shared() -> &'static Limiter {
    static LIMITER: OnceLock<Limiter> = OnceLock::new();
    LIMITER.get_or_init(Limiter::default)
}

impl Limiter {
    /// Takes a place for a call of `endpoint` by `app` in every budget of `limits`; `Err` with
    /// the wait it would need when one of them is full (nothing is taken then).
    pub(crate) fn try_acquire(&self, app: &str, endpoint: &'static str, limits: &RateLimits) -> Result<(), Duration> {
        let now = Instant::now();
        let app_scope = Scope::App(app.to_owned());
        if let Some(until) = self.paused_until(&app_scope, endpoint, now) {
            return Err(until - now);
        }
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let keys: Vec<Key> = limits
            .per_app
            .iter()
            .map(|w| (Scope::App(app.to_owned()), *w))
            .chain(limits.per_ip.iter().map(|w| (Scope::Ip, *w)))
            .map(|(scope, window)| Key { scope, endpoint, window })
            .collect();
        let mut wait = Duration::ZERO;
        for key in &keys {
            let length = Duration::from_secs(key.window.seconds.max(1));
            let count = counts.entry(key.clone()).or_insert(Count {
                start: now,
                current: 0,
                previous: 0,
            });
            count.roll(now, length);
            wait = wait.max(count.wait(now, length, key.window.calls));
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        for key in &keys {
            if let Some(count) = counts.get_mut(key) {
                count.current += 1;
            }
        }
        Ok(())
    }

    fn paused_until(&self, scope: &Scope, endpoint: &'static str, now: Instant) -> Option<Instant> {
        let paused = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        paused.get(&(scope.clone(), endpoint)).copied().filter(|until| *until > now)
    }

    /// The service answered its rate-limit code for `endpoint`: no call of `app` goes to it for
    /// `block`.
    pub(crate) fn pause(&self, app: &str, endpoint: &'static str, block: Duration) {
        let mut paused = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        paused.insert((Scope::App(app.to_owned()), endpoint), Instant::now() + block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(calls: u64, seconds: u64) -> RateLimits {
        RateLimits::new(vec![RateWindow::new(calls, seconds, seconds)], Vec::new())
    }

    #[test]
    fn a_budget_lets_a_burst_through_then_holds_calls_back() {
        let limiter = Limiter::default();
        let budget = limits(5, 60);
        for _ in 0..5 {
            limiter.try_acquire("app", "user.get", &budget).unwrap();
        }
        let wait = limiter.try_acquire("app", "user.get", &budget).unwrap_err();
        assert!(wait > Duration::from_secs(55) && wait <= Duration::from_secs(120), "{wait:?}");
        // Another API and another app have budgets of their own.
        limiter.try_acquire("app", "user.list", &budget).unwrap();
        limiter.try_acquire("other", "user.get", &budget).unwrap();
    }

    #[test]
    fn the_window_slides() {
        let length = Duration::from_secs(10);
        let start = Instant::now();
        let count = Count {
            start,
            current: 0,
            previous: 10,
        };
        // Half-way into the window, half of the previous one still counts: 5 of 10.
        let half = start + length / 2;
        assert!((count.estimate(half, length) - 5.0).abs() < 1e-9);
        assert_eq!(count.wait(half, length, 10), Duration::ZERO);
        // Just after it began, the previous window's 10 nearly all count.
        let wait = count.wait(start, length, 10);
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(1_100), "{wait:?}");
    }

    #[test]
    fn a_paused_api_waits_out_its_block() {
        let limiter = Limiter::default();
        limiter.pause("app", "user.get", Duration::from_secs(60));
        let wait = limiter.try_acquire("app", "user.get", &RateLimits::none()).unwrap_err();
        assert!(wait > Duration::from_secs(59), "{wait:?}");
        limiter.try_acquire("other", "user.get", &RateLimits::none()).unwrap();
    }
}
