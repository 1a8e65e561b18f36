//! The one time-limited cache: what the resolvers (did:web documents, SD-JWT VC issuer key
//! sets) and the verification core (status lists) keep for a while, bounded in size.
//!
//! Time is an argument, not read here: the resolvers pass a monotonic [`std::time::Instant`]
//! (a fixed lifetime from the fetch), the verification core its clock's seconds (each list
//! until its own `ttl` or `exp`). An entry counts while `now < until`. When the cache is
//! full, expired entries go first, then the one that would expire soonest; an entry that is
//! already expired when put is not kept (a lifetime of zero disables caching).
//!
//! A plain `std::sync::Mutex`: holders never await while holding it, and `protocol` does
//! not depend on an async runtime.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

/// Values by key, each until a moment of type `T`, at most `max` of them.
pub struct TtlCache<K, V, T = i64> {
    entries: Mutex<HashMap<K, (T, V)>>,
    max: usize,
}

impl<K, V, T> std::fmt::Debug for TtlCache<K, V, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtlCache")
            .field("len", &self.lock().len())
            .field("max", &self.max)
            .finish()
    }
}

/// How many entries a cache made by `Default` holds at most.
pub const DEFAULT_MAX: usize = 256;

impl<K, V, T> Default for TtlCache<K, V, T> {
    /// An empty cache of at most [`DEFAULT_MAX`] entries.
    fn default() -> Self {
        Self::new(DEFAULT_MAX)
    }
}

impl<K, V, T> TtlCache<K, V, T> {
    /// An empty cache of at most `max` entries (at least one).
    pub fn new(max: usize) -> Self {
        TtlCache {
            entries: Mutex::new(HashMap::new()),
            max: max.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, (T, V)>> {
        // A panic elsewhere while holding the lock leaves whole entries behind: keep them.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<K, V, T> TtlCache<K, V, T>
where
    K: Eq + Hash + Clone,
    V: Clone,
    T: Ord + Copy,
{
    /// The value under `key` while `now` is before its end.
    pub fn get<Q>(&self, key: &Q, now: T) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.lock()
            .get(key)
            .filter(|(until, _)| now < *until)
            .map(|(_, value)| value.clone())
    }

    /// Keeps `value` under `key` until `until` (not at all when `until` is not after `now`).
    pub fn put(&self, key: K, value: V, until: T, now: T) {
        if until <= now {
            return;
        }
        let mut entries = self.lock();
        entries.retain(|_, (end, _)| now < *end);
        if entries.len() >= self.max
            && !entries.contains_key(&key)
            && let Some(soonest) = entries
                .iter()
                .min_by_key(|(_, (end, _))| *end)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&soonest);
        }
        entries.insert(key, (until, value));
    }

    /// Drops every entry whose key `drop` picks.
    pub fn remove_where(&self, drop: impl Fn(&K) -> bool) {
        self.lock().retain(|k, _| !drop(k));
    }

    /// How many entries are held (expired ones included until the next `put`).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_counts_until_its_end() {
        let cache: TtlCache<String, u8> = TtlCache::new(4);
        cache.put("a".into(), 1, 10, 0);
        assert_eq!(cache.get("a", 9), Some(1));
        assert_eq!(cache.get("a", 10), None);
        assert_eq!(cache.get("b", 0), None);
    }

    #[test]
    fn entries_can_be_dropped_by_key() {
        let cache: TtlCache<(u8, u8), u8> = TtlCache::new(4);
        cache.put((1, 1), 1, 10, 0);
        cache.put((1, 2), 2, 10, 0);
        cache.put((2, 1), 3, 10, 0);
        cache.remove_where(|k| k.0 == 1);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get(&(2, 1), 0), Some(3));
    }

    #[test]
    fn an_expired_entry_is_not_kept() {
        let cache: TtlCache<String, u8> = TtlCache::new(4);
        cache.put("a".into(), 1, 5, 5);
        cache.put("b".into(), 2, 4, 5);
        assert!(cache.is_empty());
    }

    #[test]
    fn a_full_cache_drops_the_expired_then_the_soonest_to_expire() {
        let cache: TtlCache<&str, u8> = TtlCache::new(2);
        cache.put("old", 1, 3, 0);
        cache.put("late", 2, 100, 0);
        // "old" has expired at 5: it goes, both others stay.
        cache.put("new", 3, 50, 5);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("late", 5), Some(2));
        assert_eq!(cache.get("new", 5), Some(3));
        // Full of live entries: the one ending first ("new", at 50) makes room.
        cache.put("newer", 4, 60, 6);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("new", 6), None);
        assert_eq!(cache.get("late", 6), Some(2));
        assert_eq!(cache.get("newer", 6), Some(4));
        // Replacing a key that is present evicts nothing.
        cache.put("late", 5, 200, 7);
        assert_eq!(cache.get("newer", 7), Some(4));
        assert_eq!(cache.get("late", 7), Some(5));
    }

    #[test]
    fn instants_work_as_time() {
        use std::time::{Duration, Instant};
        let cache: TtlCache<String, u8, Instant> = TtlCache::new(1);
        let now = Instant::now();
        cache.put("a".into(), 1, now + Duration::from_secs(300), now);
        assert_eq!(cache.get("a", now + Duration::from_secs(299)), Some(1));
        assert_eq!(cache.get("a", now + Duration::from_secs(300)), None);
    }
}
