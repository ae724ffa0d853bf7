//! The services' call limits, enforced like WeCom's (访问频率限制): per API, a budget of calls
//! per window for the company (the emulator's one app) and one for each source address; a call
//! over either is answered 45009 and the API stays blocked for that budget until the window's
//! block is over (a minute's limit blocks 60 s). Windows are fixed (counted from the first
//! call), configurable so a test runs in seconds (`--rate-limit 600/10s`). The token endpoint is
//! not counted (no numeric quota is documented for it).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// `calls` per `window`; a call over blocks the budget for `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Calls allowed per window.
    pub calls: u64,
    /// The window, and the block after a call over it.
    pub window: Duration,
}

impl RateLimit {
    /// `600/10s`, `10000/60s`, `100/1m`: calls per window.
    pub fn parse(text: &str) -> Option<RateLimit> {
        let (calls, window) = text.split_once('/')?;
        let calls: u64 = calls.trim().parse().ok().filter(|c| *c > 0)?;
        let window = window.trim();
        let (number, unit) = window.split_at(window.find(|c: char| !c.is_ascii_digit()).unwrap_or(window.len()));
        let number: u64 = if number.is_empty() { 1 } else { number.parse().ok()? };
        let seconds = match unit {
            "ms" => return (number > 0).then(|| RateLimit { calls, window: Duration::from_millis(number) }),
            "s" | "" => number,
            "m" => number * 60,
            "h" => number * 3600,
            _ => return None,
        };
        (seconds > 0).then(|| RateLimit {
            calls,
            window: Duration::from_secs(seconds),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Who {
    Company,
    Address(IpAddr),
}

#[derive(Debug)]
struct Budget {
    start: Instant,
    calls: u64,
    blocked_until: Option<Instant>,
}

/// Budgets per (who, API path).
#[derive(Debug, Default)]
pub(crate) struct Quotas {
    budgets: HashMap<(Who, String), Budget>,
    /// Calls answered 45009 so far.
    pub refused: usize,
}

impl Quotas {
    /// Counts a call of `path` from `from` against `limit`; `false` when it is over (or the
    /// API is blocked): it is refused.
    pub(crate) fn admit(&mut self, limit: RateLimit, path: &str, from: Option<IpAddr>) -> bool {
        let now = Instant::now();
        let mut admitted = true;
        for who in std::iter::once(Who::Company).chain(from.map(Who::Address)) {
            let budget = self.budgets.entry((who, path.to_owned())).or_insert(Budget {
                start: now,
                calls: 0,
                blocked_until: None,
            });
            if budget.blocked_until.is_some_and(|until| now < until) {
                admitted = false;
                continue;
            }
            if now.duration_since(budget.start) >= limit.window {
                budget.start = now;
                budget.calls = 0;
            }
            budget.calls += 1;
            if budget.calls > limit.calls {
                budget.blocked_until = Some(now + limit.window);
                admitted = false;
            }
        }
        if !admitted {
            self.refused += 1;
        }
        admitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse() {
        assert_eq!(RateLimit::parse("600/10s"), Some(RateLimit { calls: 600, window: Duration::from_secs(10) }));
        assert_eq!(RateLimit::parse("10000/1m").map(|l| l.window), Some(Duration::from_secs(60)));
        assert_eq!(RateLimit::parse("5/500ms").map(|l| l.window), Some(Duration::from_millis(500)));
        assert_eq!(RateLimit::parse("5/s").map(|l| l.window), Some(Duration::from_secs(1)));
        for bad in ["", "600", "0/10s", "x/10s", "10/0s", "10/10d"] {
            assert_eq!(RateLimit::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_call_over_the_budget_blocks_the_api_for_the_window() {
        let mut quotas = Quotas::default();
        let limit = RateLimit { calls: 3, window: Duration::from_secs(60) };
        let ip = Some(IpAddr::from([127, 0, 0, 1]));
        assert!((0..3).all(|_| quotas.admit(limit, "/cgi-bin/user/get", ip)));
        assert!(!quotas.admit(limit, "/cgi-bin/user/get", ip));
        assert!(!quotas.admit(limit, "/cgi-bin/user/get", ip), "blocked");
        assert!(quotas.admit(limit, "/cgi-bin/user/list", ip), "another API has its own budget");
        assert_eq!(quotas.refused, 2);
    }
}
