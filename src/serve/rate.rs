//! Requests per identity per minute: a fixed window per identity, forgotten when it ends.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts requests per identity in one-minute windows.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl RateLimiter {
    pub(crate) fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `identity` may make one more request at `now`.
    pub(crate) fn allow(&self, identity: &str, now: Instant) -> bool {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let slot = windows.entry(identity.to_string()).or_insert((now, 0));
        if now.duration_since(slot.0) >= WINDOW {
            *slot = (now, 0);
        }
        slot.1 += 1;
        slot.1 <= self.per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_identity_has_its_own_window() {
        let r = RateLimiter::new(3);
        let t = Instant::now();
        assert!((0..3).all(|_| r.allow("client alice", t)));
        assert!(!r.allow("client alice", t));
        assert!(r.allow("client bob", t));
        assert!(r.allow("client alice", t + WINDOW));
    }
}
