//! Documents the issuer signs and serves again: made once from what they are made of (the
//! key) and kept while that is unchanged and they are young enough. Serving one costs a
//! comparison instead of building, serialising and signing it again for every request
//! (issue 18: the Credential Issuer Metadata, fetched by every wallet before it redeems an
//! offer, and the Status List Token, fetched by every verifier).

use std::sync::Mutex;

/// One document made from a key `K`, kept for at most `max_age` seconds.
#[derive(Debug)]
pub struct Kept<K, V> {
    max_age: i64,
    slot: Mutex<Option<Made<K, V>>>,
}

#[derive(Debug)]
struct Made<K, V> {
    key: K,
    at: i64,
    value: V,
}

impl<K: PartialEq, V: Clone> Kept<K, V> {
    pub const fn new(max_age: i64) -> Self {
        Kept {
            max_age,
            slot: Mutex::new(None),
        }
    }

    /// The kept document if it was made from a key equal to `key` within `max_age`
    /// seconds before `now` (not after it: a clock put back makes it again).
    pub fn get(&self, key: &K, now: i64) -> Option<V> {
        let slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        slot.as_ref()
            .filter(|m| m.key == *key && (m.at..m.at + self.max_age).contains(&now))
            .map(|m| m.value.clone())
    }

    /// Keeps `value`, made from `key` at `now`, in place of what was kept.
    pub fn keep(&self, key: K, now: i64, value: V) {
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Made {
            key,
            at: now,
            value,
        });
    }

    /// The kept document (see [`Kept::get`]), or what `make` makes from `key`, kept.
    /// `make` runs without the lock held.
    pub fn get_or_make(&self, key: K, now: i64, make: impl FnOnce(&K) -> V) -> V {
        if let Some(value) = self.get(&key, now) {
            return value;
        }
        let value = make(&key);
        self.keep(key, now, value.clone());
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_kept_while_its_key_is_equal_and_it_is_young_enough() {
        let kept: Kept<Vec<(i64, i64)>, String> = Kept::new(60);
        let made = std::cell::Cell::new(0);
        let make = |text: &'static str| {
            let made = &made;
            move |_: &Vec<(i64, i64)>| {
                made.set(made.get() + 1);
                text.to_owned()
            }
        };
        assert_eq!(kept.get_or_make(vec![], 1_000, make("one")), "one");
        // Equal key, within the age: kept.
        assert_eq!(kept.get_or_make(vec![], 1_059, make("two")), "one");
        assert_eq!(made.get(), 1);
        // Another key (a credential revoked): made at once.
        assert_eq!(
            kept.get_or_make(vec![(7, 1)], 1_001, make("three")),
            "three"
        );
        assert_eq!(kept.get_or_make(vec![(7, 1)], 1_002, make("four")), "three");
        // As old as the age allows: made again.
        assert_eq!(kept.get_or_make(vec![(7, 1)], 1_061, make("five")), "five");
        // A clock put back before it was made: made again.
        assert_eq!(kept.get_or_make(vec![(7, 1)], 1_060, make("six")), "six");
        assert_eq!(made.get(), 4);
        // The key changed back: made again, not the first document served.
        assert_eq!(kept.get_or_make(vec![], 1_060, make("seven")), "seven");
        assert_eq!(made.get(), 5);
    }
}
