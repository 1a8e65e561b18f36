//! How many uploaded pictures the wallet decodes at once: at most
//! [`MAX_CONCURRENT_DECODES`]; a further upload is told to try again
//! ([`ScanError::Busy`], 429 with `Retry-After`) rather than queued. Apart from
//! [`super::scan`], which the fuzz target compiles on its own (no tokio there).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::scan::{MAX_CONCURRENT_DECODES, ScanError};

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

    /// A slot, held until the permit is dropped; [`ScanError::Busy`] when all are taken
    /// (the upload is refused, not queued).
    pub fn try_acquire(&self) -> Result<OwnedSemaphorePermit, ScanError> {
        self.slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| ScanError::Busy)
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
        assert_eq!(slots.try_acquire().unwrap_err(), ScanError::Busy);
        drop(a);
        assert!(slots.try_acquire().is_ok());
    }
}
