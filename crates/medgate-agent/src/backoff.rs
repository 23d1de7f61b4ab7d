//! Exponential back-off with jitter: how long to wait before trying the repository again
//! after a failure, 1 s doubling up to 5 minutes.

use std::time::{Duration, Instant};

/// The first delay after a failure.
pub const INITIAL_DELAY: Duration = Duration::from_secs(1);
/// The longest delay: an agent never waits more than this between two attempts, so that an
/// upload resumes within minutes of the repository coming back.
pub const MAX_DELAY: Duration = Duration::from_secs(5 * 60);

/// The smallest share of the nominal delay that jitter may leave. Waiting between 80 % and
/// 100 % of the nominal delay spreads agents that failed together (after an outage of the
/// repository) while never exceeding [`MAX_DELAY`].
const JITTER_FLOOR: f64 = 0.8;

/// Failures so far and when the next attempt may be made.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    failures: u32,
    next_attempt: Option<Instant>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(INITIAL_DELAY, MAX_DELAY)
    }
}

impl Backoff {
    /// A back-off starting at `initial`, doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
            failures: 0,
            next_attempt: None,
        }
    }

    /// The delay without jitter after `failures` consecutive failures (0 → no delay).
    pub fn nominal_delay(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        // 2^31 seconds is far beyond any sensible maximum; the cap applies long before.
        let factor = 1u32 << (failures - 1).min(31);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// Records a failure at `now` and returns how long to wait. `jitter` is a number in
    /// `[0, 1)` (random in production, fixed in tests) choosing where in the 80–100 % band of
    /// the nominal delay the wait falls.
    pub fn fail(&mut self, now: Instant, jitter: f64) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let nominal = self.nominal_delay(self.failures);
        let share = JITTER_FLOOR + (1.0 - JITTER_FLOOR) * jitter.clamp(0.0, 1.0);
        let delay = nominal.mul_f64(share);
        self.next_attempt = Some(now + delay);
        delay
    }

    /// Records a success: the next failure starts again at the initial delay.
    pub fn succeed(&mut self) {
        self.failures = 0;
        self.next_attempt = None;
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// True when an attempt may be made at `now`.
    pub fn ready(&self, now: Instant) -> bool {
        self.next_attempt.is_none_or(|at| now >= at)
    }

    /// How long until the next attempt may be made (zero when it may be made now).
    pub fn remaining(&self, now: Instant) -> Duration {
        self.next_attempt
            .map_or(Duration::ZERO, |at| at.saturating_duration_since(now))
    }

    /// When the next attempt may be made, if a failure is pending.
    pub fn next_attempt(&self) -> Option<Instant> {
        self.next_attempt
    }
}

/// "8 s", "2 min 30 s": a delay as a person reads it, rounded up to whole seconds so that
/// "retry in 0 s" is never printed.
pub fn human_delay(delay: Duration) -> String {
    let mut seconds = delay.as_secs();
    if delay.subsec_nanos() > 0 {
        seconds += 1;
    }
    if seconds < 60 {
        format!("{seconds} s")
    } else if seconds % 60 == 0 {
        format!("{} min", seconds / 60)
    } else {
        format!("{} min {} s", seconds / 60, seconds % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_one_second_up_to_five_minutes() {
        let backoff = Backoff::default();
        let nominal: Vec<u64> = (0..12)
            .map(|failures| backoff.nominal_delay(failures).as_secs())
            .collect();
        assert_eq!(nominal, [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff.nominal_delay(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn jitter_stays_between_eighty_and_one_hundred_percent_and_never_exceeds_the_cap() {
        let start = Instant::now();
        for jitter in [0.0, 0.25, 0.5, 0.999, 1.0, -3.0, 7.0] {
            let mut backoff = Backoff::default();
            for failures in 1..=20u32 {
                let delay = backoff.fail(start, jitter);
                let nominal = backoff.nominal_delay(failures);
                assert!(delay <= nominal, "{delay:?} > {nominal:?}");
                assert!(
                    delay >= nominal.mul_f64(0.8),
                    "{delay:?} < 80 % of {nominal:?}"
                );
                assert!(delay <= MAX_DELAY);
            }
        }
    }

    #[test]
    fn waits_until_the_delay_has_passed_and_resets_on_success() {
        let start = Instant::now();
        let mut backoff = Backoff::default();
        assert!(backoff.ready(start));
        assert_eq!(backoff.remaining(start), Duration::ZERO);

        let first = backoff.fail(start, 1.0);
        assert_eq!(first, Duration::from_secs(1));
        assert!(!backoff.ready(start));
        assert!(backoff.ready(start + first));
        backoff.fail(start + first, 1.0);
        backoff.fail(start + first, 1.0);
        let fourth = backoff.fail(start + first, 1.0);
        assert_eq!(fourth, Duration::from_secs(8));
        assert_eq!(backoff.failures(), 4);
        assert_eq!(backoff.remaining(start + first), Duration::from_secs(8));

        backoff.succeed();
        assert!(backoff.ready(start));
        assert_eq!(backoff.fail(start, 1.0), Duration::from_secs(1));
    }

    #[test]
    fn delays_read_as_people_write_them() {
        assert_eq!(human_delay(Duration::from_millis(800)), "1 s");
        assert_eq!(human_delay(Duration::from_secs(8)), "8 s");
        assert_eq!(human_delay(Duration::from_millis(7_200)), "8 s");
        assert_eq!(human_delay(Duration::from_secs(120)), "2 min");
        assert_eq!(human_delay(Duration::from_secs(150)), "2 min 30 s");
    }
}
