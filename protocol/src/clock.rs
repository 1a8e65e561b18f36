//! Time as a parameter: services read "now" from a [`Clock`] so tests can move it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch, the unit of every JWT NumericDate we write.
pub type UnixTime = i64;

/// The source of "now" for a service.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// `None`: the system clock; `Some`: an offset in seconds added to it (tests move time).
    offset: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { offset: None }
    }

    /// A clock that follows the system clock plus an offset that [`Clock::advance`] moves.
    pub fn adjustable() -> Self {
        Self {
            offset: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    /// Moves an adjustable clock forward (or back, with a negative value).
    ///
    /// # Panics
    /// On the system clock, which cannot be moved.
    #[expect(
        clippy::expect_used,
        reason = "only an adjustable clock can be advanced"
    )]
    pub fn advance(&self, seconds: i64) {
        self.offset
            .as_ref()
            .expect("only an adjustable clock can be advanced")
            .fetch_add(seconds, Ordering::SeqCst);
    }

    /// Now, in seconds since the epoch.
    pub fn now(&self) -> UnixTime {
        let system = time::OffsetDateTime::now_utc().unix_timestamp();
        system + self.offset.as_ref().map_or(0, |o| o.load(Ordering::SeqCst))
    }
}

/// RFC 3339 with a `Z` zone and whole seconds, the form OB 3.0 `validFrom` wants.
#[expect(
    clippy::expect_used,
    reason = "a UTC date in range formats as RFC 3339"
)]
pub fn rfc3339(t: UnixTime) -> String {
    let dt =
        time::OffsetDateTime::from_unix_timestamp(t).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    dt.format(&time::format_description::well_known::Rfc3339)
        .expect("a UTC date in range formats as RFC 3339")
}

/// Parses an RFC 3339 date-time (zone required) into seconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<UnixTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|d| d.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjustable_clock_moves() {
        let c = Clock::adjustable();
        let t = c.now();
        c.advance(3600);
        assert!(c.now() >= t + 3600);
    }

    #[test]
    fn rfc3339_round_trip() {
        assert_eq!(rfc3339(1772355600), "2026-03-01T09:00:00Z");
        assert_eq!(parse_rfc3339("2026-03-01T09:00:00Z"), Some(1772355600));
        assert_eq!(parse_rfc3339("2026-03-01T18:00:00+09:00"), Some(1772355600));
        assert_eq!(parse_rfc3339("2026-03-01T09:00:00"), None);
    }
}
