//! How many uploaded pictures the wallet decodes at once: at most
//! [`MAX_CONCURRENT_DECODES`]; a further upload is told to try again ([`Busy`], 429 with
//! `Retry-After`) rather than queued. The pictures themselves are read by
//! [`kit::picture`] (bounded in size before any pixel is decoded).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Pictures decoded at once by one wallet process.
pub const MAX_CONCURRENT_DECODES: usize = 2;
/// What a refused upload is told to wait, in seconds, when every decode slot is taken.
pub const RETRY_AFTER_SECS: u64 = 2;

/// Every decode slot is taken: the upload is refused, to be tried again later.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "the wallet is already reading {MAX_CONCURRENT_DECODES} pictures; try again in {RETRY_AFTER_SECS} seconds"
)]
pub struct Busy;

/// The right to decode one picture: at most [`MAX_CONCURRENT_DECODES`] are held at once.
#[derive(Clone, Debug)]
pub struct DecodeSlots {
    slots: Arc<Semaphore>,
}

impl Default for DecodeSlots {
    fn default() -> Self {
        DecodeSlots::new(MAX_CONCURRENT_DECODES)
    }
}

impl DecodeSlots {
    pub fn new(n: usize) -> Self {
        DecodeSlots {
            slots: Arc::new(Semaphore::new(n)),
        }
    }

    /// A slot, held until the permit is dropped; [`Busy`] when all are taken (the upload
    /// is refused, not queued).
    pub fn try_acquire(&self) -> Result<OwnedSemaphorePermit, Busy> {
        self.slots.clone().try_acquire_owned().map_err(|_| Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_beyond_the_slots_are_refused_not_queued() {
        let slots = DecodeSlots::new(2);
        let a = slots.try_acquire().unwrap();
        let _b = slots.try_acquire().unwrap();
        assert_eq!(slots.try_acquire().unwrap_err(), Busy);
        drop(a);
        assert!(slots.try_acquire().is_ok());
    }
}
