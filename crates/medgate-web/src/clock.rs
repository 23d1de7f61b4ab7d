//! The time a module's rules reason with: the system's clock, which a test can move forward
//! ([`Clock::advance`]) to see what a node does hours later — a practitioner's session at
//! the end of its 7 hours — without waiting. Nothing a request can reach moves it; only the
//! code holding the node's state (the host, a test) can. Transport checks (TLS, certificate
//! dates, signature age) keep the system's clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

/// The node's clock: the system's time plus an offset that only moves forward.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Now, as the node's rules see it.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + Duration::seconds(self.offset_seconds.load(Ordering::Relaxed))
    }

    /// Moves the clock forward by `by` (whole seconds; a negative duration is ignored), for
    /// every holder of this clock.
    pub fn advance(&self, by: Duration) {
        let seconds = by.whole_seconds().max(0);
        self.offset_seconds.fetch_add(seconds, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_is_now_and_an_advance_is_seen_by_every_clone() {
        let clock = Clock::system();
        let before = OffsetDateTime::now_utc();
        assert!((clock.now() - before).abs() < Duration::seconds(5));
        let copy = clock.clone();
        copy.advance(Duration::hours(7));
        assert!(clock.now() - before >= Duration::hours(7));
        clock.advance(-Duration::hours(10));
        assert!(copy.now() - before >= Duration::hours(7), "it never goes back");
    }
}
