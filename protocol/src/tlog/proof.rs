//! A badge's proof of inclusion in its issuer's log, as the issuer serves it at
//! `GET /log/proof/<jwt digest>[?old=<size>]` (Akashi's own resource beside the C2SP
//! tlog-tiles ones): the entry, a signed checkpoint, the RFC 9162 §2.1.3 inclusion proof
//! of the entry in the checkpoint's tree, and on request the §2.1.4 consistency proof
//! from an older tree size the client saw. Everything in it is checked against the
//! checkpoint's signature; nothing in it is trusted on its own.
//!
//! Why an endpoint rather than tiles: a wallet or verifier checking one badge needs about
//! 2·log₂(n) hashes, where computing them from tiles takes several round trips.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::Hash;

/// The path under the log's URL, and the query parameter of the older size.
pub const PROOF_PATH: &str = "proof";

/// Largest proof document read: a proof of a tree of 2⁶⁴ entries has 128 hashes.
pub const MAX_PROOF_BYTES: usize = 64 * 1024;

/// The body of `GET /log/proof/<digest>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogProof {
    /// The entry's index in the log.
    pub index: u64,
    /// The entry as logged (compact JSON, `protocol::tlog::entry::Entry`).
    pub entry: String,
    /// The signed checkpoint (C2SP tlog-checkpoint) the proofs lead to.
    pub checkpoint: String,
    /// The log's verifier key in Go's note form (`<origin>+<key id>+<base64 key>`).
    pub key: String,
    /// The inclusion proof of `index` in the checkpoint's tree: standard base64 hashes.
    pub inclusion: Vec<String>,
    /// Present when an older size was asked for and the log is at least that large.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<ConsistencyProof>,
}

/// The consistency proof from the tree of `old_size` to the checkpoint's tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsistencyProof {
    pub old_size: u64,
    /// Standard base64 hashes.
    pub proof: Vec<String>,
}

/// The KB-JWT claim in which an Akashi wallet says where the presented badge is in its
/// issuer's log: the entry's index and bytes, from the proof the wallet checked and kept
/// when the badge arrived ([`LogEntryRef`]). A verifier then proves the entry from the
/// log's public tiles (`crate::tlog::tiled`) and never asks the log about this badge.
/// SD-JWT VC (draft -18 §4.1) lets a KB-JWT carry claims a verifier does not understand,
/// which it ignores.
pub const KB_LOG_ENTRY: &str = "log_entry";

/// Largest entry a [`LogEntryRef`] may carry (Akashi's entries are about 300 bytes).
pub const MAX_ENTRY_BYTES: usize = 4096;

/// The value of the [`KB_LOG_ENTRY`] claim. Believed only as far as the log's signed
/// checkpoint and tiles prove it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntryRef {
    /// The entry's index in the log.
    pub index: u64,
    /// The entry as logged (compact JSON, `protocol::tlog::entry::Entry`).
    pub entry: String,
}

impl From<LogProof> for LogEntryRef {
    /// The entry a proof proved (what a wallet keeps and names).
    fn from(proof: LogProof) -> Self {
        LogEntryRef {
            index: proof.index,
            entry: proof.entry,
        }
    }
}

impl LogEntryRef {
    /// The claim of a KB-JWT payload, if it has one; `Err` when it is there but malformed.
    pub fn from_claims(
        payload: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<LogEntryRef>, String> {
        let Some(v) = payload.get(KB_LOG_ENTRY) else {
            return Ok(None);
        };
        let r: LogEntryRef = serde_json::from_value(v.clone()).map_err(|e| {
            format!("the KB-JWT's `{KB_LOG_ENTRY}` claim is not an index and an entry: {e}")
        })?;
        if r.entry.len() > MAX_ENTRY_BYTES {
            return Err(format!(
                "the KB-JWT's `{KB_LOG_ENTRY}` entry is {} bytes, more than {MAX_ENTRY_BYTES}",
                r.entry.len()
            ));
        }
        Ok(Some(r))
    }
}

/// Hashes as the proof documents carry them.
pub fn encode_hashes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| STANDARD.encode(h)).collect()
}

/// The hashes of a proof document; `Err` names the first that is not 32 bytes of base64.
pub fn decode_hashes(hashes: &[String]) -> Result<Vec<Hash>, String> {
    hashes
        .iter()
        .enumerate()
        .map(|(i, h)| {
            STANDARD
                .decode(h)
                .ok()
                .and_then(|b| Hash::try_from(b.as_slice()).ok())
                .ok_or_else(|| format!("proof hash {i} is not 32 bytes of standard base64"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_round_trip_and_bad_ones_are_named() {
        let hashes = [[1u8; 32], [2u8; 32]];
        assert_eq!(decode_hashes(&encode_hashes(&hashes)).unwrap(), hashes);
        let bad = vec![STANDARD.encode([1u8; 32]), STANDARD.encode([1u8; 31])];
        assert_eq!(
            decode_hashes(&bad),
            Err("proof hash 1 is not 32 bytes of standard base64".into())
        );
        assert!(decode_hashes(&["!!".into()]).is_err());
    }
}
