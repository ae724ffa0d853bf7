//! Whether a shared store (tokens, budgets) is to be used: after a failure a client works
//! without it for a second, then tries it again, and warns at most every 30 s meanwhile.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::token::now_ms;

/// While the store is unreachable, how long until it is tried again.
const RETRY_MS: u64 = 1_000;
/// At most one "store unreachable" warning per client this often.
const WARNING_EVERY_MS: u64 = 30_000;

/// A client's view of one store's health.
#[derive(Debug, Default)]
pub(crate) struct StoreHealth {
    /// While the store is unreachable: when to try it again (epoch ms); 0 when it is fine.
    retry_at_ms: AtomicU64,
    /// When the last warning was logged (epoch ms).
    last_warning_ms: AtomicU64,
}

impl StoreHealth {
    /// Whether the store is to be used now: it is fine, or its retry time has come.
    pub(crate) fn usable(&self) -> bool {
        self.retry_at_ms.load(Ordering::Relaxed) <= now_ms()
    }

    /// Whether the client is working without the store (it failed and has not answered since).
    pub(crate) fn degraded(&self) -> bool {
        self.retry_at_ms.load(Ordering::Relaxed) != 0
    }

    /// The store failed: work without it for a second. `true` when it is time to warn (at most
    /// every 30 s), which the caller does with what it knows.
    pub(crate) fn failed(&self) -> bool {
        let now = now_ms();
        self.retry_at_ms.store(now + RETRY_MS, Ordering::Relaxed);
        let last = self.last_warning_ms.load(Ordering::Relaxed);
        now.saturating_sub(last) >= WARNING_EVERY_MS
            && self
                .last_warning_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Failed a while ago, and due to be tried again now.
    #[cfg(test)]
    pub(crate) fn due_again(&self) {
        self.retry_at_ms.store(1, Ordering::Relaxed);
    }

    /// The store answered; `true` when the client was working without it until now.
    pub(crate) fn answered(&self) -> bool {
        self.retry_at_ms.swap(0, Ordering::Relaxed) != 0
    }
}
