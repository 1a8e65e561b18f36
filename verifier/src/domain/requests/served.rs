//! The open requests whose request object this instance served, kept by `state` until
//! answered or expired: the wallet answers, most often, the instance it fetched the
//! request from, and the Response Endpoint then finds the request here instead of reading
//! it again. Only what a request was made with is used from a kept row (nonce, client,
//! query, response mode, key, expiry), none of which changes; whether it is still open is
//! the answer's own conditional write ([`crate::store::Store::answer_request`]), so a
//! request answered or deleted meanwhile through another instance refuses the response
//! all the same.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::RequestRow;

/// Requests kept at most (a few KiB each): past this, expired ones are dropped, and a
/// request served while every kept one is still open is not kept (its response reads it).
pub const SERVED_MAX: usize = 4096;

/// See the module.
#[derive(Debug, Default)]
pub struct Served {
    rows: Mutex<HashMap<String, RequestRow>>,
}

impl Served {
    fn rows(&self) -> std::sync::MutexGuard<'_, HashMap<String, RequestRow>> {
        // A panic while holding the lock left at worst an entry more or less.
        self.rows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `row`, whose request object was just served at `now`.
    pub fn keep(&self, row: RequestRow, now: i64) {
        let mut rows = self.rows();
        if rows.len() >= SERVED_MAX {
            rows.retain(|_, r| r.expires_at > now);
        }
        if rows.len() < SERVED_MAX || rows.contains_key(&row.state) {
            rows.insert(row.state.clone(), row);
        }
    }

    /// Takes the request kept for `state`, unless it expired by `now`: a response answers
    /// once, so a second one for the same `state` reads the request (and is refused).
    pub fn take(&self, state: &str, now: i64) -> Option<RequestRow> {
        self.rows().remove(state).filter(|row| row.expires_at > now)
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.rows().len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: usize, expires_at: i64) -> RequestRow {
        RequestRow::sample(&format!("r{n}"), &format!("s{n}"), expires_at)
    }

    #[test]
    fn a_kept_request_is_taken_once_and_not_after_it_expired() {
        let served = Served::default();
        served.keep(row(1, 100), 10);
        served.keep(row(2, 100), 10);
        assert_eq!(served.take("s1", 50).map(|r| r.id), Some("r1".into()));
        assert_eq!(served.take("s1", 50), None, "taken once");
        assert_eq!(served.take("s3", 50), None, "never kept");
        assert_eq!(served.take("s2", 100), None, "expired");
        assert!(served.is_empty());
    }

    #[test]
    fn the_kept_requests_are_bounded() {
        let served = Served::default();
        for n in 0..SERVED_MAX {
            // Half of them expire at 50.
            served.keep(row(n, if n % 2 == 0 { 50 } else { 1000 }), 10);
        }
        assert_eq!(served.len(), SERVED_MAX);
        // Full of open ones: a new one is not kept, the open ones stay.
        served.keep(row(SERVED_MAX, 1000), 20);
        assert_eq!(served.len(), SERVED_MAX);
        assert_eq!(served.take(&format!("s{SERVED_MAX}"), 20), None);
        // Full, but the expired ones make room: they are dropped, the new one kept.
        served.keep(row(SERVED_MAX, 1000), 60);
        assert_eq!(served.len(), SERVED_MAX / 2 + 1);
        assert!(served.take(&format!("s{SERVED_MAX}"), 60).is_some());
        assert!(served.take("s1", 60).is_some(), "an open one stayed");
    }
}
