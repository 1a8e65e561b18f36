//! Presentation requests waiting for the holder's consent, between the consent screen and
//! "Share" or "Decline": kept in this process's memory under a random id (only its SHA-256
//! is the key), bound to the browser session that loaded the request, single-use (taken,
//! not read) and short-lived ([`PENDING_TTL`], or the request object's own `exp` when
//! sooner). A restart forgets them: the holder scans the QR code again.

use std::collections::HashMap;
use std::sync::Mutex;

use super::consent::Prepared;

/// How long a holder has to decide, in seconds.
pub const PENDING_TTL: i64 = 600;
/// Most pending requests kept at once (the oldest is dropped beyond).
const MAX_PENDING: usize = 10_000;

struct Entry {
    owner: String,
    expires_at: i64,
    prepared: Prepared,
}

/// Why a pending request could not be taken.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PendingError {
    #[error(
        "this presentation request is unknown, was already answered, or expired; scan the verifier's QR code again"
    )]
    Unknown,
}

#[derive(Default)]
pub struct PendingPresentations {
    entries: Mutex<HashMap<String, Entry>>,
}

impl PendingPresentations {
    /// Keeps `prepared` for `owner` (a session binding); returns the id to ask for it with.
    pub fn put(&self, owner: &str, prepared: Prepared, now: i64) -> String {
        let id = shared::b64::random(24);
        let expires_at = match prepared.loaded.request.exp {
            Some(exp) => exp.min(now + PENDING_TTL),
            None => now + PENDING_TTL,
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, e| e.expires_at > now);
        if entries.len() >= MAX_PENDING
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.expires_at)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(
            shared::b64::sha256(&id),
            Entry {
                owner: owner.to_owned(),
                expires_at,
                prepared,
            },
        );
        id
    }

    /// The pending request `id` of `owner`, without taking it (to show it again).
    pub fn peek(&self, owner: &str, id: &str, now: i64) -> Result<Prepared, PendingError> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(&shared::b64::sha256(id)) {
            Some(e) if e.owner == owner && e.expires_at > now => Ok(e.prepared.clone()),
            _ => Err(PendingError::Unknown),
        }
    }

    /// Takes the pending request `id` of `owner`: once only. Another owner's id is as
    /// unknown as a made-up one (and stays pending for its owner).
    pub fn take(&self, owner: &str, id: &str, now: i64) -> Result<Prepared, PendingError> {
        let key = shared::b64::sha256(id);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(&key) {
            Some(e) if e.owner == owner && e.expires_at > now => entries
                .remove(&key)
                .map(|e| e.prepared)
                .ok_or(PendingError::Unknown),
            Some(e) if e.expires_at <= now => {
                entries.remove(&key);
                Err(PendingError::Unknown)
            }
            _ => Err(PendingError::Unknown),
        }
    }

    /// Puts back a request taken by [`PendingPresentations::take`] whose answer failed
    /// before anything was sent (the holder's choice was refused), under the same id.
    pub fn restore(&self, owner: &str, id: &str, prepared: Prepared, now: i64) {
        let expires_at = match prepared.loaded.request.exp {
            Some(exp) => exp.min(now + PENDING_TTL),
            None => now + PENDING_TTL,
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(
            shared::b64::sha256(id),
            Entry {
                owner: owner.to_owned(),
                expires_at,
                prepared,
            },
        );
    }
}
