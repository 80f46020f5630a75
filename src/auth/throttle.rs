//! Sign-in throttling: a name that failed [`MAX_FAILURES`] times within [`WINDOW`] is refused
//! until the window has passed (so one account's password cannot be guessed at request speed),
//! and at most one argon2 verification per core runs at once, with a bounded queue (each takes
//! about 19 MiB and tens of milliseconds by design: two hundred at once took 640 MB).
//!
//! The cost is the usual one of a lockout: someone who knows a planner's name can keep that
//! planner from signing in for a window by failing on purpose; the planner's tokens and open
//! sessions still work, and an administrator sees the failures in the log.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Failed sign-ins of one name that lock it for the rest of the window.
pub const MAX_FAILURES: u32 = 5;
/// Failed sign-ins from one client address (of any names) that lock the address for the rest of
/// the window: guessing across many names, which the per-name lock alone would let through. Higher
/// than per name because an office behind one NAT address shares it.
pub const MAX_ADDRESS_FAILURES: u32 = 30;
/// How long failures are remembered.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Names remembered at most (older entries are dropped first when full).
const MAX_TRACKED: usize = 10_000;
/// Sign-ins waiting for a verification slot at most; more are told to come back.
const MAX_WAITING: usize = 64;

/// Why a sign-in may not be tried now, and when it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The name failed too often; try again after this long.
    Locked(Duration),
    /// Too many sign-ins are being checked at once; try again in a second.
    Busy,
}

#[derive(Debug)]
pub struct SignInGuard {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    verifying: tokio::sync::Semaphore,
    waiting: AtomicUsize,
}

impl Default for SignInGuard {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        SignInGuard {
            failures: Mutex::new(HashMap::new()),
            verifying: tokio::sync::Semaphore::new(cores),
            waiting: AtomicUsize::new(0),
        }
    }
}

/// The key of an address among the names (a name cannot start with a NUL).
fn address_key(addr: std::net::IpAddr) -> String {
    format!("\0{addr}")
}

impl SignInGuard {
    /// May `name` try to sign in now from `addr`?
    pub fn check(&self, name: &str, addr: Option<std::net::IpAddr>) -> Result<(), Refusal> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let locked = |key: &str, max: u32| match failures.get(key) {
            Some(&(n, since)) if n >= max && since.elapsed() < WINDOW => {
                Some(Refusal::Locked(WINDOW - since.elapsed()))
            }
            _ => None,
        };
        if let Some(r) = addr.and_then(|a| locked(&address_key(a), MAX_ADDRESS_FAILURES)) {
            return Err(r);
        }
        locked(name, MAX_FAILURES).map_or(Ok(()), Err)
    }

    /// A failed sign-in of `name` from `addr` (known or not: unknown names are counted the same
    /// way, so the answers say nothing about which names exist).
    pub fn failed(&self, name: &str, addr: Option<std::net::IpAddr>) {
        if let Some(a) = addr {
            self.count(&address_key(a));
        }
        self.count(name);
    }

    fn count(&self, name: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_TRACKED && !failures.contains_key(name) {
            failures.retain(|_, (_, since)| since.elapsed() < WINDOW);
            if failures.len() >= MAX_TRACKED
                && let Some(oldest) = failures
                    .iter()
                    .min_by_key(|(_, (_, since))| *since)
                    .map(|(k, _)| k.clone())
            {
                failures.remove(&oldest);
            }
        }
        let entry = failures
            .entry(name.to_string())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// A successful sign-in: its name's failures are forgotten.
    pub fn succeeded(&self, name: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(name);
    }

    /// Run `verify` (an argon2 check) when a slot is free, on the blocking pool.
    pub async fn verify<F>(&self, verify: F) -> Result<bool, Refusal>
    where
        F: FnOnce() -> bool + Send + 'static,
    {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Refusal::Busy);
        }
        let permit = self.verifying.acquire().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let _permit = permit.map_err(|_| Refusal::Busy)?;
        tokio::task::spawn_blocking(verify)
            .await
            .map_err(|_| Refusal::Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_locked_after_repeated_failures_and_others_are_not() {
        let g = SignInGuard::default();
        for _ in 0..MAX_FAILURES - 1 {
            g.failed("planner-1", None);
        }
        assert!(g.check("planner-1", None).is_ok());
        g.failed("planner-1", None);
        assert!(matches!(g.check("planner-1", None), Err(Refusal::Locked(d)) if d <= WINDOW));
        assert!(g.check("planner-2", None).is_ok());
        g.succeeded("planner-1");
        assert!(g.check("planner-1", None).is_ok());
    }

    #[test]
    fn an_address_guessing_across_names_is_locked_and_others_are_not() {
        let g = SignInGuard::default();
        let guesser: std::net::IpAddr = "10.0.0.7".parse().unwrap();
        let colleague: std::net::IpAddr = "10.0.0.8".parse().unwrap();
        // A different name each time: no name reaches its own limit.
        for i in 0..MAX_ADDRESS_FAILURES {
            assert!(g.check(&format!("n{i}"), Some(guesser)).is_ok());
            g.failed(&format!("n{i}"), Some(guesser));
        }
        assert!(matches!(
            g.check("anyone", Some(guesser)),
            Err(Refusal::Locked(_))
        ));
        assert!(g.check("anyone", Some(colleague)).is_ok());
    }

    #[test]
    fn the_memory_of_failures_is_bounded() {
        let g = SignInGuard::default();
        for i in 0..MAX_TRACKED + 100 {
            g.failed(&format!("name-{i}"), None);
        }
        assert!(g.failures.lock().unwrap().len() <= MAX_TRACKED);
    }
}
