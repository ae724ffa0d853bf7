//! Staying under a service's call limits (WeCom's 访问频率限制): each call takes a place in
//! every budget that covers it, before it is sent. A budget is a number of calls per window
//! for one API, either per company (the app's id) or per source address; a call over budget
//! waits for room, up to the caller's bound, or fails at once with
//! [`Error::RateLimited`](crate::Error::RateLimited) and the wait it would need.
//!
//! ## How a budget is kept
//! Each budget is paced with the generic cell rate algorithm (GCRA): one stored instant per
//! budget, the theoretical arrival time of the next call. A budget of `calls` per `window`
//! lets a burst of 4% of `calls` (at least one) through at once, then spaces calls evenly so
//! that no window of that length, wherever it starts, holds more than `calls` calls even when
//! calls arrive up to 2% of the window late (network jitter, clock drift): the window is
//! stretched by 2%. A steady load therefore gets about 94% of a budget, and never a 45009 from
//! a service that counts fixed or sliding windows.
//!
//! ## Where budgets are counted
//! In this process by default (every client of the same company shares the per-company
//! budgets; every client shares the per-address ones). With a [`RateLimitStore`] (Redis:
//! `RedisTokenStore`), the whole fleet shares them: one atomic script per call checks and
//! takes every budget at the store's clock. While the store cannot be reached, each process
//! falls back to a local budget of the shared one divided by the number of processes seen
//! sharing the store in the last minute (the store counts them on every call), and goes back
//! to the store a second later.
//!
//! ## When the service answers its rate-limit code all the same
//! Another system may share the company's quota. The API is then paused for the shortest
//! documented block (WeCom: 60 s), in this process and, with a store, in the whole fleet.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::spec::{EndpointRateLimits, RateWindow};
use crate::store_health::StoreHealth;
use crate::token::StoreFuture;

/// The share of a budget let through at once.
const BURST_PERCENT: u64 = 4;
/// How much late arrival a budget absorbs, as a share of its window.
const SLACK: f64 = 0.02;

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

    /// Whether there is no budget to keep.
    pub fn is_empty(&self) -> bool {
        self.per_app.is_empty() && self.per_ip.is_empty()
    }
}

/// One budget of one call: where it is counted and its window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The store key (`qywx:rate:…`): whose budget, which API, which window.
    pub key: String,
    /// The window.
    pub window: RateWindow,
}

/// How a budget is paced (GCRA): the spacing of calls, and how far ahead of it a call may be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pace {
    /// The time one call costs.
    pub interval: Duration,
    /// How much earlier than its turn a call may go (the burst, less the first call).
    pub tolerance: Duration,
}

impl Pace {
    /// The pace of `window` when `share` processes split it evenly (1: not split).
    pub fn of(window: &RateWindow, share: u64) -> Pace {
        let burst_of = |calls: u64| (calls.saturating_mul(BURST_PERCENT) / 100).max(1);
        let whole = window.calls.max(1);
        let (calls, burst) = if share <= 1 {
            (whole, burst_of(whole))
        } else {
            // A share leaves room for the whole budget's burst (the fleet going back to the
            // store) and has none of its own.
            ((whole.saturating_sub(burst_of(whole)) / share).max(1), 1)
        };
        let stretched = window.seconds.max(1) as f64 * (1.0 + SLACK);
        // Rounded up: a window must never fit one call more.
        let interval = Duration::from_nanos((stretched * 1e9 / (calls - burst + 1) as f64).ceil() as u64);
        Pace {
            interval,
            tolerance: interval.saturating_mul(u32::try_from(burst - 1).unwrap_or(u32::MAX)),
        }
    }
}

/// What a store answered to a call asking for room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acquired {
    /// Zero when the call took its place in every budget; else how long until it fits.
    pub wait: Duration,
    /// How many processes used the store in the last minute (sizes the local fallback).
    pub sharing: u64,
}

/// Where a fleet counts its budgets. Implemented for Redis by `RedisTokenStore` (feature
/// `redis`); each method is one atomic step at the store's clock.
pub trait RateLimitStore: Send + Sync + fmt::Debug {
    /// Unless `pause` is set, takes a place in every one of `budgets` (all or none), paced
    /// as [`Pace::of`] says; `member` names the calling process (counted in
    /// [`Acquired::sharing`]).
    fn acquire<'a>(&'a self, pause: &'a str, budgets: &'a [Budget], member: &'a str) -> StoreFuture<'a, Acquired>;
    /// Sets `pause` for `block`: no call of its API is let through until then.
    fn pause<'a>(&'a self, pause: &'a str, block: Duration) -> StoreFuture<'a, ()>;
}

/// Whose budgets: a company (an app id) of a service at a server (two servers, an emulator
/// and production say, are two quotas).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Company<'a> {
    pub(crate) service: &'a str,
    pub(crate) server: &'a str,
    pub(crate) app_id: &'a str,
}

/// The budgets of one endpoint for one client and its pause, each with its count in this
/// process (resolved once, so a call hashes no key).
#[derive(Debug)]
pub(crate) struct CallBudgets {
    pause: String,
    budgets: Vec<Budget>,
    /// The theoretical arrival time of each budget's next call here (see [`Limiter`]).
    turns: Vec<Arc<AtomicU64>>,
    /// Each budget's pace when not split (worked out once: a call does no float arithmetic).
    paces: Vec<Pace>,
    /// Until when the API is paused here.
    paused_until: Arc<AtomicU64>,
}

/// This process's name in a store's count of processes.
fn process_member() -> &'static str {
    static MEMBER: OnceLock<String> = OnceLock::new();
    MEMBER.get_or_init(|| format!("{}-{:x}", std::process::id(), crate::client::jitter_seed()))
}

/// A client's way to its budgets: the fleet's store when it has one and it answers, else
/// this process's.
#[derive(Debug)]
pub(crate) struct Budgets {
    store: Option<Arc<dyn RateLimitStore>>,
    health: StoreHealth,
    /// How many processes shared the store when it last answered.
    sharing: AtomicU64,
}

impl Budgets {
    pub(crate) fn new(store: Option<Arc<dyn RateLimitStore>>) -> Self {
        Budgets {
            store,
            health: StoreHealth::default(),
            sharing: AtomicU64::new(1),
        }
    }

    /// Takes a place for a call in every budget of `call`: `Err` with the wait when one is full.
    pub(crate) async fn acquire(&self, call: &CallBudgets) -> Result<(), Duration> {
        if let Some(store) = self.usable_store() {
            match store.acquire(&call.pause, &call.budgets, process_member()).await {
                Ok(acquired) => {
                    self.store_answered(acquired.sharing);
                    return if acquired.wait.is_zero() { Ok(()) } else { Err(acquired.wait) };
                }
                Err(error) => self.store_failed(&error),
            }
        }
        let share = if self.store.is_some() { self.sharing.load(Ordering::Relaxed) } else { 1 };
        local().try_acquire(call, share, Instant::now())
    }

    /// The service answered its rate-limit code: no call of this API for `block`, here and
    /// (when it answers) in the fleet.
    pub(crate) async fn pause(&self, call: &CallBudgets, block: Duration) {
        local().pause(call, block);
        if let Some(store) = self.usable_store() {
            if let Err(error) = store.pause(&call.pause, block).await {
                self.store_failed(&error);
            }
        }
    }

    fn usable_store(&self) -> Option<&Arc<dyn RateLimitStore>> {
        self.store.as_ref().filter(|_| self.health.usable())
    }

    fn store_answered(&self, sharing: u64) {
        self.sharing.store(sharing.max(1), Ordering::Relaxed);
        if self.health.answered() {
            tracing::info!("rate-limit store reachable again: sharing the fleet's budgets");
        }
    }

    fn store_failed(&self, error: &crate::Error) {
        if self.health.failed() {
            tracing::warn!(
                error = %error,
                processes = self.sharing.load(Ordering::Relaxed),
                "rate-limit store unreachable: keeping a local share of the budgets until it answers again"
            );
        }
    }
}

/// The budgets counted in this process: for each budget key, the theoretical arrival time of
/// its next call, and for each API, until when it is paused (nanoseconds since the limiter's
/// epoch; 0: never).
#[derive(Debug)]
pub(crate) struct Limiter {
    epoch: Instant,
    /// Check-and-take over all of a call's budgets is one step (all or none).
    serial: Mutex<()>,
    counts: Mutex<HashMap<String, Arc<AtomicU64>>>,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            epoch: Instant::now(),
            serial: Mutex::new(()),
            counts: Mutex::default(),
        }
    }
}

/// The limiter every client of this process shares.
pub(crate) fn local() -> &'static Limiter {
    static LIMITER: OnceLock<Limiter> = OnceLock::new();
    LIMITER.get_or_init(Limiter::default)
}

impl Limiter {
    /// The budgets of `endpoint` for `company` under `limits`, and with `own`, the endpoint's
    /// own budget too (see [`EndpointRateLimits`]).
    pub(crate) fn call_budgets(
        &self,
        company: Company<'_>,
        endpoint: &str,
        limits: &RateLimits,
        own: Option<&EndpointRateLimits>,
    ) -> CallBudgets {
        let Company { service, server, app_id } = company;
        let app = format!("qywx:rate:{service}@{server}:app:{app_id}");
        // Processes behind different addresses that share a store share the per-address
        // budget too: stricter than needed, never over.
        let ip = format!("qywx:rate:{service}@{server}:ip");
        let mut budgets = Vec::new();
        let mut add = |scope: &str, api: &str, windows: &[RateWindow]| {
            budgets.extend(windows.iter().map(|w| Budget {
                key: format!("{scope}:{api}:{}/{}", w.calls, w.seconds),
                window: *w,
            }));
        };
        add(&app, endpoint, &limits.per_app);
        add(&ip, endpoint, &limits.per_ip);
        if let Some(own) = own {
            add(&app, own.budget, own.per_app);
            add(&ip, own.budget, own.per_ip);
        }
        let pause = format!("{app}:{endpoint}:paused");
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mut count = |key: &str| counts.entry(key.to_owned()).or_default().clone();
        CallBudgets {
            turns: budgets.iter().map(|b| count(&b.key)).collect(),
            paces: budgets.iter().map(|b| Pace::of(&b.window, 1)).collect(),
            paused_until: count(&pause),
            pause,
            budgets,
        }
    }

    /// `at` in nanoseconds since the epoch, never 0 (0 means "never").
    fn nanos(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_nanos() as u64 + 1
    }

    /// Takes a place at `now` in every budget of `call` (each split `share` ways); `Err` with
    /// the wait when one of them is full (nothing is taken then).
    pub(crate) fn try_acquire(&self, call: &CallBudgets, share: u64, now: Instant) -> Result<(), Duration> {
        let now = self.nanos(now);
        let paused = call.paused_until.load(Ordering::Relaxed);
        if paused > now {
            return Err(Duration::from_nanos(paused - now));
        }
        let _serial = self.serial.lock().unwrap_or_else(|e| e.into_inner());
        // The turn of each budget's next call (GCRA's theoretical arrival time).
        let turn = |stored: &AtomicU64, pace: &Pace| match stored.load(Ordering::Relaxed) {
            turn if turn >= now => turn,
            // A share of a fleet's budget (the store is down) starts a turn later: the
            // fleet's last calls were counted in the store, not here. Kept even if the call
            // is refused, so the turn comes.
            _ if share > 1 => {
                let first = now + pace.interval.as_nanos() as u64;
                stored.store(first, Ordering::Relaxed);
                first
            }
            _ => now,
        };
        let pace_of = |i: usize| if share > 1 { Pace::of(&call.budgets[i].window, share) } else { call.paces[i] };
        let mut wait = 0;
        for (i, stored) in call.turns.iter().enumerate() {
            let pace = pace_of(i);
            // The call conforms when its turn is at most `tolerance` away.
            let allowed_at = turn(stored, &pace).saturating_sub(pace.tolerance.as_nanos() as u64);
            wait = wait.max(allowed_at.saturating_sub(now));
        }
        if wait > 0 {
            return Err(Duration::from_nanos(wait));
        }
        for (i, stored) in call.turns.iter().enumerate() {
            let pace = pace_of(i);
            stored.store(turn(stored, &pace) + pace.interval.as_nanos() as u64, Ordering::Relaxed);
        }
        Ok(())
    }

    /// No call of `call`'s API goes out for `block`.
    pub(crate) fn pause(&self, call: &CallBudgets, block: Duration) {
        let until = self.nanos(Instant::now() + block);
        call.paused_until.fetch_max(until, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company(app_id: &str) -> Company<'_> {
        Company { service: "wecom", server: "http://server", app_id }
    }

    fn call(limiter: &Limiter, app: &str, endpoint: &str, calls: u64, seconds: u64) -> CallBudgets {
        let limits = RateLimits::new(vec![RateWindow::new(calls, seconds, seconds)], Vec::new());
        limiter.call_budgets(company(app), endpoint, &limits, None)
    }

    /// Calls admitted by a client that calls whenever it may, over `span`.
    fn admitted_times(limiter: &Limiter, call: &CallBudgets, span: Duration) -> Vec<Duration> {
        let start = Instant::now();
        let mut now = start;
        let mut times = Vec::new();
        while now < start + span {
            match limiter.try_acquire(call, 1, now) {
                Ok(()) => times.push(now - start),
                Err(wait) => now += wait,
            }
        }
        times
    }

    #[test]
    fn no_window_anywhere_holds_more_than_the_budget_even_with_late_arrivals() {
        for (calls, seconds) in [(600, 10), (20, 1), (2, 1), (10_000, 60)] {
            let limiter = Limiter::default();
            let budget = call(&limiter, "app", "user.get", calls, seconds);
            let times = admitted_times(&limiter, &budget, Duration::from_secs(seconds * 5));
            let window = Duration::from_secs(seconds);
            let late = window.mul_f64(SLACK);
            // Any call may arrive up to `late` later than sent: the worst case puts a window's
            // first call late and the following ones on time.
            let mut end = 0;
            for (i, first) in times.iter().enumerate() {
                while end < times.len() && times[end] < *first + late + window {
                    end += 1;
                }
                let in_window = end - i;
                assert!(in_window as u64 <= calls, "{calls}/{seconds}s: {in_window} calls in a window");
            }
            // …and a steady caller still gets more than 90% of the budget.
            let used = times.len() as f64 / (calls * 5) as f64;
            assert!(used > 0.9, "{calls}/{seconds}s: {used:.3} of the budget used");
        }
    }

    #[test]
    fn a_burst_goes_through_at_once_then_calls_wait_their_turn() {
        let limiter = Limiter::default();
        let budget = call(&limiter, "app", "user.get", 600, 10);
        let now = Instant::now();
        for _ in 0..24 {
            limiter.try_acquire(&budget, 1, now).unwrap();
        }
        let wait = limiter.try_acquire(&budget, 1, now).unwrap_err();
        assert!(wait > Duration::ZERO && wait < Duration::from_millis(50), "{wait:?}");
        // Another API and another company have budgets of their own.
        limiter.try_acquire(&call(&limiter, "app", "user.list", 600, 10), 1, now).unwrap();
        limiter.try_acquire(&call(&limiter, "other", "user.get", 600, 10), 1, now).unwrap();
    }

    #[test]
    fn a_split_budget_paces_each_share() {
        let window = RateWindow::new(600, 10, 10);
        let whole = Pace::of(&window, 1);
        let eighth = Pace::of(&window, 8);
        assert!(eighth.interval > whole.interval * 7, "{eighth:?} vs {whole:?}");
        // A share never drops below one call a window.
        assert!(Pace::of(&RateWindow::new(2, 1, 1), 8).interval >= Duration::from_secs(1));
        // A share gets no burst and starts a turn late: the fleet's last calls are not here.
        let limiter = Limiter::default();
        let budget = call(&limiter, "app", "user.get", 600, 10);
        let now = Instant::now();
        let wait = limiter.try_acquire(&budget, 8, now).unwrap_err();
        assert_eq!(wait, eighth.interval);
        limiter.try_acquire(&budget, 8, now + wait).unwrap();
        assert_eq!(limiter.try_acquire(&budget, 8, now + wait).unwrap_err(), eighth.interval);
    }

    #[test]
    fn endpoints_that_share_a_budget_count_together() {
        const DAILY: &[RateWindow] = &[RateWindow::new(2, 86_400, 86_400)];
        let own = EndpointRateLimits { budget: "rule.write", per_app: DAILY, per_ip: &[] };
        let limiter = Limiter::default();
        let limits = RateLimits::new(vec![RateWindow::new(600, 60, 60)], Vec::new());
        let add = limiter.call_budgets(company("app"), "rule.add", &limits, Some(&own));
        let modify = limiter.call_budgets(company("app"), "rule.modify", &limits, Some(&own));
        let now = Instant::now();
        limiter.try_acquire(&add, 1, now).unwrap();
        // 2 a day: one burst call, then the second after half a day (stretched by the slack).
        let wait = limiter.try_acquire(&modify, 1, now).unwrap_err();
        assert!(wait > Duration::from_secs(40_000), "{wait:?}");
        // The service's own budget of another endpoint is untouched.
        let plain = limiter.call_budgets(company("app"), "rule.list", &limits, None);
        limiter.try_acquire(&plain, 1, now).unwrap();
    }

    #[test]
    fn a_paused_api_waits_out_its_block() {
        let limiter = Limiter::default();
        let limits = RateLimits::none();
        let paused = limiter.call_budgets(company("app"), "user.get", &limits, None);
        limiter.pause(&paused, Duration::from_secs(60));
        let wait = limiter.try_acquire(&paused, 1, Instant::now()).unwrap_err();
        assert!(wait > Duration::from_secs(59), "{wait:?}");
        let other = limiter.call_budgets(company("other"), "user.get", &limits, None);
        limiter.try_acquire(&other, 1, Instant::now()).unwrap();
    }
}
