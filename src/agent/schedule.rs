//! When `pgca agent` acts: renewal at two thirds of a certificate's life, give or take a
//! twelfth of it drawn from the certificate's serial (so a fleet issued at once does not renew
//! at once), and an exponential
//! backoff while the CA cannot be reached.

use std::time::Duration;

use time::OffsetDateTime;

/// A random number in [0, 1) from the system's source.
fn unit_random() -> f64 {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 4];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("the system random source works");
    f64::from(u32::from_be_bytes(b)) / (f64::from(u32::MAX) + 1.0)
}

/// When a certificate valid from `not_before` to `not_after` is due: two thirds into its life,
/// moved by `jitter` (in [0, 1)) up to a twelfth of the life either way. The life starts when
/// it was issued: pgca backdates `not_before` by [`BACKDATE_SECONDS`](crate::BACKDATE_SECONDS)
/// (of a shorter certificate, all but its last second), which would otherwise make a
/// two-minute certificate due at once.
pub fn renew_at(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    jitter: f64,
) -> OffsetDateTime {
    let whole = (not_after - not_before).max(time::Duration::ZERO);
    let backdate = time::Duration::seconds(crate::store::options::BACKDATE_SECONDS)
        .min(whole - time::Duration::SECOND)
        .max(time::Duration::ZERO);
    let not_before = not_before + backdate;
    let life = whole - backdate;
    let spread = (jitter.clamp(0.0, 1.0) * 2.0 - 1.0) / 12.0;
    let at = not_before + life * (2.0 / 3.0 + spread);
    // Whole seconds, rounded up, as the clock the agent reads ([`crate::timefmt::now`]): a
    // round woken at the due time finds it due.
    match at.nanosecond() {
        0 => at,
        n => at + time::Duration::nanoseconds(1_000_000_000 - i64::from(n)),
    }
}

/// [`renew_at`] of a certificate, its jitter drawn from its serial (random, as pgca issues
/// them): the certificates of a fleet issued at once spread out, and one certificate has one due
/// time, round after round (a jitter drawn again each round would put a due time off again).
pub fn renew_after(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    serial: &crate::model::serial::Serial,
) -> OffsetDateTime {
    let digest = ring::digest::digest(&ring::digest::SHA256, serial.to_string().as_bytes());
    let b = digest.as_ref();
    let jitter =
        f64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])) / (f64::from(u32::MAX) + 1.0);
    renew_at(not_before, not_after, jitter)
}

/// The wait between failed attempts: doubling from `min` to `max`, each wait drawn between
/// half and all of the current bound.
#[derive(Clone, Debug)]
pub struct Backoff {
    bound: Duration,
    min: Duration,
    max: Duration,
}

impl Backoff {
    /// Starting at `min`, at most `max`.
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            bound: min,
            min,
            max,
        }
    }

    /// The next wait; the bound doubles.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.bound.mul_f64(0.5 + unit_random() / 2.0);
        self.bound = (self.bound * 2).min(self.max);
        wait
    }

    /// After a success: back to the start.
    pub fn reset(&mut self) {
        self.bound = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn renewal_falls_at_two_thirds_give_or_take_a_twelfth() {
        // Backdated 5 minutes, as pgca issues: the life is the 2 minutes after that.
        let (a, b) = (
            datetime!(2025-12-31 23:55 UTC),
            datetime!(2026-01-01 00:02 UTC),
        );
        assert_eq!(renew_at(a, b, 0.5), datetime!(2026-01-01 00:01:20 UTC));
        assert_eq!(renew_at(a, b, 0.0), datetime!(2026-01-01 00:01:10 UTC));
        assert_eq!(renew_at(a, b, 1.0), datetime!(2026-01-01 00:01:30 UTC));
        // Whole seconds, up: woken then, the round finds it due.
        assert_eq!(renew_at(a, b, 0.51), datetime!(2026-01-01 00:01:21 UTC));
        let mut seen = std::collections::BTreeSet::new();
        for i in 1..=100u32 {
            let serial: crate::model::serial::Serial = format!("{:08x}", i * 7919).parse().unwrap();
            let t = renew_after(a, b, &serial);
            assert!(t >= renew_at(a, b, 0.0) && t <= renew_at(a, b, 1.0));
            // One certificate, one due time.
            assert_eq!(renew_after(a, b, &serial), t);
            // A fleet of 90-day certificates issued at once spreads over 15 days.
            seen.insert(renew_after(a, a + time::Duration::days(90), &serial));
        }
        assert!(seen.len() > 90, "{} distinct due times", seen.len());
    }

    #[test]
    fn backoff_doubles_to_its_bound_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
        let waits: Vec<Duration> = (0..6).map(|_| b.next_wait()).collect();
        for (w, bound) in waits.iter().zip([1, 2, 4, 8, 8, 8]) {
            let bound = Duration::from_secs(bound);
            assert!(*w >= bound / 2 && *w <= bound, "{w:?} {bound:?}");
        }
        b.reset();
        assert!(b.next_wait() <= Duration::from_secs(1));
    }
}
