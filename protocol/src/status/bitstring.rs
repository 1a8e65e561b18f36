//! W3C Bitstring Status List v1.0 (Recommendation, 15 May 2025): the status of the VC
//! formats (`jwt_vc_json`, `ldp_vc`).
//!
//! One bit per credential (`statusSize` 1), index 0 the left-most (most significant) bit of
//! the first byte (§4.1); the bytes are GZIP-compressed, base64url-encoded without padding
//! and multibase-prefixed with `u` into `encodedList` (§2.2). A list has at least 131,072
//! entries (16 KiB), so an index says little about a cohort. One list per
//! [`StatusPurpose`]: a credential's entry in the revocation list and in the suspension
//! list share its index.

use std::io::{Read, Write};

use serde_json::{Value, json};

use crate::b64;

/// The `credentialStatus` type of an entry (§2.1).
pub const ENTRY_TYPE: &str = "BitstringStatusListEntry";
/// The type of the status list credential (§2.2).
pub const CREDENTIAL_TYPE: &str = "BitstringStatusListCredential";
/// The type of its `credentialSubject`.
pub const LIST_TYPE: &str = "BitstringStatusList";

/// What a set bit means (§2.1 `statusPurpose`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusPurpose {
    /// Permanently cancelled; not reversible.
    Revocation,
    /// Temporarily held; reversible.
    Suspension,
}

impl StatusPurpose {
    /// Both purposes, in the order lists are published.
    pub const ALL: [StatusPurpose; 2] = [StatusPurpose::Revocation, StatusPurpose::Suspension];

    /// The `statusPurpose` value.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusPurpose::Revocation => "revocation",
            StatusPurpose::Suspension => "suspension",
        }
    }

    /// Parses a `statusPurpose` value we publish.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "revocation" => Some(StatusPurpose::Revocation),
            "suspension" => Some(StatusPurpose::Suspension),
            _ => None,
        }
    }
}

/// Why an `encodedList` could not be decoded, or an index used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BitstringError {
    #[error("`encodedList` is not multibase base64url (it must start with `u`)")]
    NotMultibase,
    #[error("`encodedList` is not base64url")]
    NotBase64,
    #[error("`encodedList` does not decompress as GZIP")]
    NotGzip,
    #[error("status list is larger than allowed when decompressed")]
    TooLarge,
    #[error("index {idx} is outside the list of {len} entries")]
    OutOfRange { idx: usize, len: usize },
}

/// A decoded bitstring, one bit per entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitstring {
    bytes: Vec<u8>,
}

impl Bitstring {
    /// A list of `entries` entries (at least [`super::MIN_ENTRIES`], rounded up to whole
    /// bytes), all clear.
    pub fn new(entries: usize) -> Self {
        Bitstring {
            bytes: vec![0; entries.max(super::MIN_ENTRIES).div_ceil(8)],
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.bytes.len() * 8
    }

    /// True if the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bit at `idx`.
    pub fn get(&self, idx: usize) -> Result<bool, BitstringError> {
        self.check(idx)?;
        Ok(self.bytes[idx / 8] & (0x80 >> (idx % 8)) != 0)
    }

    /// Sets or clears the bit at `idx`.
    pub fn set(&mut self, idx: usize, value: bool) -> Result<(), BitstringError> {
        self.check(idx)?;
        let mask = 0x80 >> (idx % 8);
        if value {
            self.bytes[idx / 8] |= mask;
        } else {
            self.bytes[idx / 8] &= !mask;
        }
        Ok(())
    }

    fn check(&self, idx: usize) -> Result<(), BitstringError> {
        if idx >= self.len() {
            return Err(BitstringError::OutOfRange {
                idx,
                len: self.len(),
            });
        }
        Ok(())
    }

    /// `encodedList`: `u` + base64url(GZIP(bytes)).
    #[expect(clippy::expect_used, reason = "writing to a Vec does not fail")]
    pub fn encode(&self) -> String {
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&self.bytes)
            .expect("writing to a Vec does not fail");
        let compressed = z.finish().expect("writing to a Vec does not fail");
        format!("u{}", b64::encode(compressed))
    }

    /// Decodes an `encodedList`, refusing lists that decompress to more than `max_bytes`.
    pub fn decode(encoded: &str, max_bytes: usize) -> Result<Self, BitstringError> {
        let text = encoded
            .strip_prefix('u')
            .ok_or(BitstringError::NotMultibase)?;
        let compressed = b64::decode(text).map_err(|_| BitstringError::NotBase64)?;
        let mut bytes = Vec::new();
        let read = flate2::read::GzDecoder::new(compressed.as_slice())
            .take(max_bytes as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| BitstringError::NotGzip)?;
        if read > max_bytes {
            return Err(BitstringError::TooLarge);
        }
        Ok(Bitstring { bytes })
    }
}

/// A `credentialStatus` entry (§2.1) pointing at index `idx` of the list credential at
/// `list_url`; `statusListIndex` is a string, as the specification wants.
pub fn entry(list_url: &str, purpose: StatusPurpose, idx: u64) -> Value {
    json!({
        "id": format!("{list_url}#{idx}"),
        "type": ENTRY_TYPE,
        "statusPurpose": purpose.as_str(),
        "statusListIndex": idx.to_string(),
        "statusListCredential": list_url,
    })
}

/// The unsigned BitstringStatusListCredential (§2.2) published at `list_url`: `issuer` the
/// issuer's identifier, valid from `valid_from` until `valid_until` (RFC 3339), `ttl_ms` the
/// time verifiers may cache it.
pub fn list_credential(
    list_url: &str,
    issuer: &str,
    purpose: StatusPurpose,
    list: &Bitstring,
    valid_from: &str,
    valid_until: &str,
    ttl_ms: u64,
) -> Value {
    json!({
        "@context": [crate::ob3::CONTEXT_VC_V2],
        "id": list_url,
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": valid_from,
        "validUntil": valid_until,
        "credentialSubject": {
            "id": format!("{list_url}#list"),
            "type": LIST_TYPE,
            "statusPurpose": purpose.as_str(),
            "encodedList": list.encode(),
            "ttl": ttl_ms,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specification_example_decodes_to_an_empty_list_of_the_minimum_size() {
        // Bitstring Status List v1.0, Example 2: a 16 KiB list with no bit set.
        let list = Bitstring::decode(
            "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",
            1 << 20,
        )
        .unwrap();
        assert_eq!(list.len(), 131_072);
        assert!((0..list.len()).all(|i| !list.get(i).unwrap()));
        assert_eq!(list, Bitstring::new(0));
    }

    #[test]
    fn index_zero_is_the_leftmost_bit() {
        let mut list = Bitstring::new(super::super::MIN_ENTRIES);
        list.set(0, true).unwrap();
        list.set(9, true).unwrap();
        assert_eq!(list.bytes[0], 0b1000_0000);
        assert_eq!(list.bytes[1], 0b0100_0000);
        list.set(0, false).unwrap();
        assert_eq!(list.bytes[0], 0);
    }

    #[test]
    fn round_trip_bounds_and_refusals() {
        let mut list = Bitstring::new(1);
        assert_eq!(list.len(), 131_072, "never below the minimum size");
        for idx in [1, 7, 8, 48_213, 131_071] {
            list.set(idx, true).unwrap();
        }
        let encoded = list.encode();
        assert!(encoded.starts_with('u'));
        let back = Bitstring::decode(&encoded, 1 << 20).unwrap();
        assert_eq!(back, list);
        for idx in 0..back.len() {
            let expect = [1, 7, 8, 48_213, 131_071].contains(&idx);
            assert_eq!(back.get(idx).unwrap(), expect, "index {idx}");
        }
        assert_eq!(
            back.get(131_072),
            Err(BitstringError::OutOfRange {
                idx: 131_072,
                len: 131_072
            })
        );
        assert_eq!(
            Bitstring::decode(&encoded[1..], 1 << 20),
            Err(BitstringError::NotMultibase)
        );
        assert_eq!(
            Bitstring::decode("u!!", 1 << 20),
            Err(BitstringError::NotBase64)
        );
        // A ZLIB stream (the Token Status List's) is not GZIP.
        let zlib = crate::status::StatusList::new(1, 16).unwrap().encode();
        assert_eq!(
            Bitstring::decode(&format!("u{zlib}"), 1 << 20),
            Err(BitstringError::NotGzip)
        );
        assert_eq!(
            Bitstring::decode(&encoded, 1000),
            Err(BitstringError::TooLarge)
        );
    }

    #[test]
    fn entry_and_list_credential_shapes() {
        let url = "https://issuer.example/status/2/revocation";
        let e = entry(url, StatusPurpose::Revocation, 48_213);
        assert_eq!(e["type"], "BitstringStatusListEntry");
        assert_eq!(e["statusListIndex"], "48213");
        assert_eq!(e["statusListCredential"], url);
        assert_eq!(e["id"], format!("{url}#48213"));
        let mut bits = Bitstring::new(0);
        bits.set(48_213, true).unwrap();
        let vc = list_credential(
            url,
            "https://issuer.example",
            StatusPurpose::Revocation,
            &bits,
            "2026-01-01T00:00:00Z",
            "2026-01-02T00:00:00Z",
            60_000,
        );
        assert_eq!(vc["type"][1], "BitstringStatusListCredential");
        assert_eq!(vc["credentialSubject"]["statusPurpose"], "revocation");
        let decoded = Bitstring::decode(
            vc["credentialSubject"]["encodedList"].as_str().unwrap(),
            1 << 20,
        )
        .unwrap();
        assert!(decoded.get(48_213).unwrap());
        assert_eq!(
            StatusPurpose::parse("suspension"),
            Some(StatusPurpose::Suspension)
        );
        assert_eq!(StatusPurpose::parse("message"), None);
    }
}
