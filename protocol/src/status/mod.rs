//! IETF Token Status List (draft-ietf-oauth-status-list-20 §4): the status of SD-JWT VCs;
//! [`bitstring`] is the W3C Bitstring Status List of the VC formats.
//!
//! Entries of `bits` bits (1, 2, 4 or 8) packed least-significant bit first within each
//! byte; the byte array is ZLIB-compressed and base64url-encoded into `lst`. Values: 0
//! valid, 1 invalid (revoked), 2 suspended.

use std::io::{Read, Write};

use crate::b64;

pub mod bitstring;
pub mod token;

/// Smallest list we publish: 131,072 entries, so an index says little about a cohort.
pub const MIN_ENTRIES: usize = 131_072;
/// The Status List Token header type.
pub const TYP_STATUSLIST_JWT: &str = "statuslist+jwt";

/// Status values of §7.1.
pub const VALID: u8 = 0;
pub const INVALID: u8 = 1;
pub const SUSPENDED: u8 = 2;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatusListError {
    #[error("`bits` must be 1, 2, 4 or 8 (got {0})")]
    BadBits(u64),
    #[error("`lst` is not base64url")]
    NotBase64,
    #[error("`lst` does not decompress as ZLIB")]
    NotZlib,
    #[error("index {idx} is outside the list of {len} entries")]
    OutOfRange { idx: usize, len: usize },
    #[error("status list is larger than allowed when decompressed")]
    TooLarge,
}

/// A decoded status list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: u8,
    bytes: Vec<u8>,
}

impl StatusList {
    /// A list of `entries` entries (rounded up to whole bytes), all valid.
    pub fn new(bits: u8, entries: usize) -> Result<Self, StatusListError> {
        check_bits(u64::from(bits))?;
        let bytes = (entries * bits as usize).div_ceil(8);
        Ok(StatusList {
            bits,
            bytes: vec![0; bytes],
        })
    }

    /// Bits per entry.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.bytes.len() * 8 / self.bits as usize
    }

    /// True if the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The status at `idx`.
    pub fn get(&self, idx: usize) -> Result<u8, StatusListError> {
        if idx >= self.len() {
            return Err(StatusListError::OutOfRange {
                idx,
                len: self.len(),
            });
        }
        let per_byte = 8 / self.bits as usize;
        let byte = self.bytes[idx / per_byte];
        let shift = (idx % per_byte) * self.bits as usize;
        let mask = ((1u16 << self.bits) - 1) as u8;
        Ok((byte >> shift) & mask)
    }

    /// Sets the status at `idx` (the value is masked to `bits` bits).
    pub fn set(&mut self, idx: usize, value: u8) -> Result<(), StatusListError> {
        if idx >= self.len() {
            return Err(StatusListError::OutOfRange {
                idx,
                len: self.len(),
            });
        }
        let per_byte = 8 / self.bits as usize;
        let shift = (idx % per_byte) * self.bits as usize;
        let mask = ((1u16 << self.bits) - 1) as u8;
        let b = &mut self.bytes[idx / per_byte];
        *b = (*b & !(mask << shift)) | ((value & mask) << shift);
        Ok(())
    }

    /// `lst`: base64url(ZLIB(bytes)).
    #[expect(clippy::expect_used, reason = "writing to a Vec does not fail")]
    pub fn encode(&self) -> String {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&self.bytes)
            .expect("writing to a Vec does not fail");
        b64::encode(z.finish().expect("writing to a Vec does not fail"))
    }

    /// Decodes `bits` and `lst`, refusing lists that decompress to more than `max_bytes`.
    pub fn decode(bits: u64, lst: &str, max_bytes: usize) -> Result<Self, StatusListError> {
        check_bits(bits)?;
        let compressed = b64::decode(lst).map_err(|_| StatusListError::NotBase64)?;
        let mut bytes = Vec::new();
        let read = flate2::read::ZlibDecoder::new(compressed.as_slice())
            .take(max_bytes as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| StatusListError::NotZlib)?;
        if read > max_bytes {
            return Err(StatusListError::TooLarge);
        }
        Ok(StatusList {
            bits: bits as u8,
            bytes,
        })
    }
}

fn check_bits(bits: u64) -> Result<(), StatusListError> {
    match bits {
        1 | 2 | 4 | 8 => Ok(()),
        other => Err(StatusListError::BadBits(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_example_one_bit() {
        // draft-ietf-oauth-status-list §4.1: 16 entries, bytes B9 A3.
        let list = StatusList::decode(1, "eNrbuRgAAhcBXQ", 1024).unwrap();
        let expect = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
        for (i, v) in expect.iter().enumerate() {
            assert_eq!(list.get(i).unwrap(), *v, "index {i}");
        }
        let mut built = StatusList::new(1, 16).unwrap();
        for (i, v) in expect.iter().enumerate() {
            built.set(i, *v).unwrap();
        }
        assert_eq!(built, list);
    }

    #[test]
    fn two_bits_and_bounds() {
        let mut l = StatusList::new(2, MIN_ENTRIES).unwrap();
        assert_eq!(l.len(), MIN_ENTRIES);
        l.set(48213, SUSPENDED).unwrap();
        l.set(48214, INVALID).unwrap();
        let back = StatusList::decode(2, &l.encode(), 1 << 20).unwrap();
        assert_eq!(back.get(48213).unwrap(), SUSPENDED);
        assert_eq!(back.get(48214).unwrap(), INVALID);
        assert_eq!(back.get(0).unwrap(), VALID);
        assert!(matches!(
            back.get(MIN_ENTRIES),
            Err(StatusListError::OutOfRange { .. })
        ));
        assert_eq!(
            StatusList::decode(3, "", 10),
            Err(StatusListError::BadBits(3))
        );
        assert_eq!(
            StatusList::decode(1, &l.encode(), 100),
            Err(StatusListError::TooLarge)
        );
    }
}
