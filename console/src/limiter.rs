//! Failed sign-ins, limited per source address and per account: after
//! `failures` failures within `window`, further attempts from that source
//! or on that account are refused without looking at the password until
//! the oldest failure leaves the window. Only failures count; a success
//! does not clear them (an attacker who knows one password must not reset
//! the count for the others).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// How many failures, in how long, before sign-in is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub per_source: usize,
    pub per_account: usize,
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { per_source: 10, per_account: 20, window: Duration::from_secs(15 * 60) }
    }
}

/// Beyond this many keys, keys whose failures all left the window go.
const SWEEP_AT: usize = 4096;

struct Failures<K> {
    by: HashMap<K, VecDeque<Instant>>,
}

impl<K: Eq + Hash + Clone> Failures<K> {
    fn recent(&mut self, key: &K, window: Duration, now: Instant) -> usize {
        let Some(times) = self.by.get_mut(key) else { return 0 };
        while times.front().is_some_and(|t| now.duration_since(*t) >= window) {
            times.pop_front();
        }
        times.len()
    }

    fn add(&mut self, key: K, window: Duration, now: Instant, keep: usize) {
        if self.by.len() >= SWEEP_AT {
            self.by.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let times = self.by.entry(key).or_default();
        times.push_back(now);
        while times.len() > keep {
            times.pop_front();
        }
    }
}

pub(crate) struct SignInLimiter {
    limits: Limits,
    state: Mutex<(Failures<IpAddr>, Failures<String>)>,
}

impl SignInLimiter {
    pub fn new(limits: Limits) -> SignInLimiter {
        SignInLimiter {
            limits,
            state: Mutex::new((Failures { by: HashMap::new() }, Failures { by: HashMap::new() })),
        }
    }

    /// May `source` try to sign in to `account` (as typed, normalized) now?
    pub fn allowed(&self, source: IpAddr, account: &str) -> bool {
        let now = Instant::now();
        let (by_source, by_account) = &mut *self.state.lock().expect("limiter lock");
        let window = self.limits.window;
        by_source.recent(&source, window, now) < self.limits.per_source
            && by_account.recent(&account.to_owned(), window, now) < self.limits.per_account
    }

    /// Counts a failed sign-in.
    pub fn failed(&self, source: IpAddr, account: &str) {
        let now = Instant::now();
        let (by_source, by_account) = &mut *self.state.lock().expect("limiter lock");
        let window = self.limits.window;
        by_source.add(source, window, now, self.limits.per_source);
        by_account.add(account.to_owned(), window, now, self.limits.per_account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_is_stopped_after_its_failures_until_they_age_out() {
        let limiter =
            SignInLimiter::new(Limits { per_source: 3, per_account: 100, window: Duration::from_secs(600) });
        for _ in 0..3 {
            assert!(limiter.allowed(ip(1), "admin"));
            limiter.failed(ip(1), "admin");
        }
        assert!(!limiter.allowed(ip(1), "admin"));
        assert!(!limiter.allowed(ip(1), "other"), "per source, whatever the account");
        assert!(limiter.allowed(ip(2), "admin"), "another source is not stopped");
        tokio::time::advance(Duration::from_secs(601)).await;
        assert!(limiter.allowed(ip(1), "admin"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_account_is_stopped_after_failures_from_many_sources() {
        let limiter =
            SignInLimiter::new(Limits { per_source: 100, per_account: 4, window: Duration::from_secs(600) });
        for i in 0..4 {
            limiter.failed(ip(i), "team-a");
        }
        assert!(!limiter.allowed(ip(9), "team-a"));
        assert!(limiter.allowed(ip(9), "team-b"));
        // Failures leave the window one by one, each its own time after.
        tokio::time::advance(Duration::from_secs(300)).await;
        limiter.failed(ip(9), "team-a");
        tokio::time::advance(Duration::from_secs(301)).await;
        assert!(limiter.allowed(ip(9), "team-a"), "the first four are gone, one remains");
        for i in 0..3 {
            limiter.failed(ip(i), "team-a");
        }
        assert!(!limiter.allowed(ip(9), "team-a"));
    }
}
