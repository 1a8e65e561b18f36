//! Witnesses: C2SP tlog-cosignature (<https://c2sp.org/tlog-cosignature>) Ed25519
//! cosignatures, `cosignature/v1`, and the C2SP tlog-witness
//! (<https://c2sp.org/tlog-witness>) `add-checkpoint` exchange, both sides.
//!
//! ```text
//! log:     AddCheckpoint { old, proof, checkpoint } --POST add-checkpoint--> witness
//! witness: Witness::add_checkpoint(request, its latest) -> Cosigned { lines, latest }
//! log:     checkpoint note + cosignature lines = the checkpoint it serves
//! client:  cosigned_by(note, text, witness keys) -> the witnesses whose cosignature verifies
//! ```
//!
//! A cosignature line is a note signature line, `— <name> base64(key id || timestamp ||
//! signature)`, with key id `SHA-256(<name> || "\n" || 0x04 || public key)[:4]`, timestamp a
//! big-endian `u64` of Unix seconds, and the Ed25519 signature over `cosignature/v1\n`,
//! `time <timestamp>\n` and the checkpoint's text.

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Hash;
use super::checkpoint::{self, Checkpoint, CheckpointError};
use super::merkle::verify_consistency;
use super::note::{NoteError, NoteVerifier};

/// The signature type byte of Ed25519 cosignatures.
const COSIGNATURE_TYPE: u8 = 0x04;
/// The most consistency proof lines a request may carry (tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;
/// The largest `add-checkpoint` body read.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// The content type of a 409 answer's body (the witness's latest size).
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// Why a cosignature key, a request or a checkpoint was refused. [`WitnessError::status`]
/// is the HTTP status tlog-witness prescribes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WitnessError {
    #[error("cosigner key is malformed: {0}")]
    BadKey(&'static str),
    #[error("cosigner key name {0:?} is empty or has a space or a plus sign")]
    BadKeyName(String),
    #[error("add-checkpoint request is malformed: {0}")]
    BadRequest(String),
    #[error("old size {old} is larger than the checkpoint's size {size}")]
    OldTooLarge { old: u64, size: u64 },
    #[error("no log with origin {0:?} is known to this witness")]
    UnknownLog(String),
    #[error("checkpoint is not signed by the log's key: {0}")]
    NotSigned(String),
    #[error("old size {old} is not the size this witness cosigned last, {latest}")]
    SizeConflict { old: u64, latest: u64 },
    #[error("checkpoint of size {size} has another root than the one this witness cosigned")]
    RootConflict { size: u64 },
    #[error("consistency proof from {old} to {size} does not verify: {reason}")]
    Inconsistent { old: u64, size: u64, reason: String },
}

impl WitnessError {
    /// The HTTP status of tlog-witness for this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Self::UnknownLog(_) => 404,
            Self::NotSigned(_) => 403,
            Self::SizeConflict { .. } | Self::RootConflict { .. } => 409,
            Self::Inconsistent { .. } => 422,
            _ => 400,
        }
    }
}

fn cosigner_key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(&[0x0A, COSIGNATURE_TYPE]);
    ctx.update(public);
    let d = ctx.finish();
    let b = d.as_ref();
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn check_name(name: &str) -> Result<(), WitnessError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(WitnessError::BadKeyName(name.chars().take(100).collect()));
    }
    Ok(())
}

/// The message an Ed25519 cosignature signs.
fn signed_message(text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

/// A witness's cosigning key. Its `Debug` form never shows the secret.
pub struct Cosigner {
    name: String,
    key: Ed25519KeyPair,
    verifier: CosignatureVerifier,
}

impl std::fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cosigner({}, ***)", self.name)
    }
}

impl Cosigner {
    /// The cosigner `name` with the Ed25519 key of this seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Cosigner, WitnessError> {
        check_name(name)?;
        let key = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| WitnessError::BadKey("not an Ed25519 seed"))?;
        let public: [u8; 32] = key
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| WitnessError::BadKey("not an Ed25519 seed"))?;
        Ok(Cosigner {
            name: name.to_owned(),
            key,
            verifier: CosignatureVerifier::new(name, public)?,
        })
    }

    pub fn verifier(&self) -> &CosignatureVerifier {
        &self.verifier
    }

    /// The cosignature line (with its newline) of the checkpoint `text` at `timestamp`.
    pub fn cosign(&self, text: &str, timestamp: u64) -> String {
        let sig = self.key.sign(signed_message(text, timestamp).as_bytes());
        let mut blob = Vec::with_capacity(4 + 8 + 64);
        blob.extend_from_slice(&self.verifier.key_id.to_be_bytes());
        blob.extend_from_slice(&timestamp.to_be_bytes());
        blob.extend_from_slice(sig.as_ref());
        format!("\u{2014} {} {}\n", self.name, STANDARD.encode(blob))
    }
}

/// A witness key a client trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: u32,
    public: [u8; 32],
}

impl CosignatureVerifier {
    pub fn new(name: &str, public: [u8; 32]) -> Result<Self, WitnessError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: cosigner_key_id(name, &public),
            public,
        })
    }

    /// Parses the vkey form `<name>+<8 hex digits>+<base64(0x04 || key)>`.
    pub fn parse(vkey: &str) -> Result<Self, WitnessError> {
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(WitnessError::BadKey("not name+id+key"));
        };
        let id = (id.len() == 8)
            .then(|| u32::from_str_radix(id, 16).ok())
            .flatten()
            .ok_or(WitnessError::BadKey("key id is not 8 hex digits"))?;
        let key = STANDARD
            .decode(key)
            .map_err(|_| WitnessError::BadKey("key is not base64"))?;
        let Some((&COSIGNATURE_TYPE, public)) = key.split_first() else {
            return Err(WitnessError::BadKey(
                "key is not of type Ed25519 cosignature (0x04)",
            ));
        };
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| WitnessError::BadKey("Ed25519 key is not 32 bytes"))?;
        let v = Self::new(name, public)?;
        if v.key_id != id {
            return Err(WitnessError::BadKey("key id does not match the key"));
        }
        Ok(v)
    }

    pub fn to_vkey(&self) -> String {
        let mut key = vec![COSIGNATURE_TYPE];
        key.extend_from_slice(&self.public);
        format!("{}+{:08x}+{}", self.name, self.key_id, STANDARD.encode(key))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Verifies one signature line against this key: `Some(timestamp)` if it is this
    /// key's line and verifies over `text`.
    fn verify_line(&self, line: &str, text: &str) -> Option<u64> {
        let rest = line.strip_prefix("\u{2014} ")?;
        let (name, sig) = rest.split_once(' ')?;
        if name != self.name {
            return None;
        }
        let blob = STANDARD.decode(sig).ok()?;
        if blob.len() != 4 + 8 + 64 || blob[..4] != self.key_id.to_be_bytes() {
            return None;
        }
        let timestamp = u64::from_be_bytes(blob[4..12].try_into().ok()?);
        if timestamp > i64::MAX as u64 {
            return None;
        }
        UnparsedPublicKey::new(&ED25519, &self.public)
            .verify(signed_message(text, timestamp).as_bytes(), &blob[12..])
            .ok()?;
        Some(timestamp)
    }
}

/// The signature lines of a signed note (after its last blank line), and its text.
fn split_note(note: &str) -> Option<(&str, &str)> {
    let body = note.strip_suffix('\n')?;
    let split = body.rfind("\n\n")?;
    Some((&note[..split + 1], &note[split + 2..]))
}

/// The witnesses among `witnesses` whose cosignature of the note's text verifies, each
/// once, with the time it cosigned. Lines of other keys are ignored (as the spec asks).
pub fn cosigned_by(note: &str, witnesses: &[CosignatureVerifier]) -> Vec<(String, u64)> {
    let Some((text, lines)) = split_note(note) else {
        return Vec::new();
    };
    let mut out: Vec<(String, u64)> = Vec::new();
    for w in witnesses {
        if out.iter().any(|(n, _)| *n == w.name) {
            continue;
        }
        if let Some(ts) = lines.lines().find_map(|l| w.verify_line(l, text)) {
            out.push((w.name.clone(), ts));
        }
    }
    out
}

/// "Require N cosignatures from these witness keys": what a checker asks of an issuer's
/// checkpoint beyond the log's own signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessPolicy {
    /// How many of `witnesses` must have cosigned (at least 1).
    pub required: usize,
    pub witnesses: Vec<CosignatureVerifier>,
}

impl WitnessPolicy {
    /// The policy of `required` cosignatures from the witness keys in `vkeys` (C2SP
    /// cosignature vkeys); `Err` says which key or why the number is impossible.
    pub fn new(required: usize, vkeys: &[String]) -> Result<WitnessPolicy, String> {
        let witnesses = vkeys
            .iter()
            .map(|k| CosignatureVerifier::parse(k).map_err(|e| format!("witness key {k:?}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        if required == 0 || required > witnesses.len() {
            return Err(format!(
                "{required} cosignature(s) required from {} witness key(s)",
                witnesses.len()
            ));
        }
        Ok(WitnessPolicy {
            required,
            witnesses,
        })
    }

    /// The policy a service's settings describe: `keys` (blank entries ignored) and
    /// `quorum` (default: all of them), named `keys_setting` and `quorum_setting` in the
    /// messages. `None` when no witness is configured; a quorum without witnesses, or one
    /// larger than the witnesses, is an error.
    pub fn from_settings(
        keys: &[String],
        quorum: Option<usize>,
        keys_setting: &str,
        quorum_setting: &str,
    ) -> Result<Option<WitnessPolicy>, String> {
        let keys: Vec<String> = keys
            .iter()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect();
        if keys.is_empty() {
            return match quorum {
                Some(n) if n > 0 => Err(format!(
                    "{quorum_setting} is {n} but {keys_setting} names no witness"
                )),
                _ => Ok(None),
            };
        }
        let required = quorum.unwrap_or(keys.len());
        WitnessPolicy::new(required, &keys)
            .map(Some)
            .map_err(|e| format!("{keys_setting}: {e}"))
    }

    /// The witnesses of this policy whose cosignature of `note` verifies, with the time
    /// each cosigned (Unix seconds).
    pub fn cosignatures(&self, note: &str) -> Vec<(String, u64)> {
        cosigned_by(note, &self.witnesses)
    }

    /// Checks the cosignatures of a signed checkpoint note; `Ok` names the witnesses.
    pub fn check(&self, note: &str) -> Result<String, String> {
        let by: Vec<String> = cosigned_by(note, &self.witnesses)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        if by.len() < self.required {
            let known: Vec<&str> = self.witnesses.iter().map(|w| w.name()).collect();
            return Err(format!(
                "the issuer's log checkpoint has {} valid cosignature(s) from the witnesses \
                 required ({}), fewer than the {} required{}",
                by.len(),
                known.join(", "),
                self.required,
                if by.is_empty() {
                    String::new()
                } else {
                    format!(" (cosigned by {})", by.join(", "))
                }
            ));
        }
        Ok(format!("cosigned by {}", by.join(", ")))
    }
}

/// An `add-checkpoint` request: the size the witness cosigned last, the consistency proof
/// from it, and the signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash>,
    /// The signed checkpoint note (it may carry other cosignatures).
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// The request body.
    pub fn to_body(&self) -> String {
        let mut s = format!("old {}\n", self.old);
        for h in &self.proof {
            s.push_str(&STANDARD.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Parses a request body.
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, WitnessError> {
        let bad = |s: &str| WitnessError::BadRequest(s.to_owned());
        if body.len() > MAX_REQUEST_BYTES {
            return Err(bad("body is larger than 64 KiB"));
        }
        let body = std::str::from_utf8(body).map_err(|_| bad("body is not UTF-8"))?;
        let (head, checkpoint) = body
            .split_once("\n\n")
            .ok_or_else(|| bad("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .ok_or_else(|| bad("first line is not `old <size>`"))?;
        if old.is_empty()
            || !old.bytes().all(|b| b.is_ascii_digit())
            || (old.len() > 1 && old.starts_with('0'))
        {
            return Err(bad("old size is not a decimal without leading zeros"));
        }
        let old: u64 = old.parse().map_err(|_| bad("old size is too large"))?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("more than 63 consistency proof lines"));
            }
            let h: Hash = STANDARD
                .decode(line)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| bad("a proof line is not a base64 hash"))?;
            proof.push(h);
        }
        Ok(AddCheckpoint {
            old,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

/// The checkpoint of a log a witness cosigned last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latest {
    pub size: u64,
    pub root: Hash,
}

/// A witness: its key and the logs it cosigns.
#[derive(Debug)]
pub struct Witness {
    pub cosigner: Cosigner,
    /// The logs' keys; a key's name is its log's origin.
    pub logs: Vec<NoteVerifier>,
}

impl Witness {
    /// The log origin a request is for (its first line), to look its state up by.
    pub fn origin_of(request: &AddCheckpoint) -> Result<&str, WitnessError> {
        request
            .checkpoint
            .split('\n')
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| WitnessError::BadRequest("checkpoint has no origin line".into()))
    }

    /// The tlog-witness checks of `request` against `latest`, the checkpoint of this log
    /// cosigned last; on success the new latest checkpoint (to persist, atomically with
    /// the read of `latest`, before answering) and the cosignature line.
    pub fn add_checkpoint(
        &self,
        request: &AddCheckpoint,
        latest: Option<Latest>,
        now: u64,
    ) -> Result<(Latest, String), WitnessError> {
        let origin = Self::origin_of(request)?;
        let keys: Vec<NoteVerifier> = self
            .logs
            .iter()
            .filter(|k| k.name() == origin)
            .cloned()
            .collect();
        if keys.is_empty() {
            return Err(WitnessError::UnknownLog(origin.chars().take(200).collect()));
        }
        let cp: Checkpoint = checkpoint::open(request.checkpoint.as_bytes(), origin, &keys)
            .map_err(|e| match e {
                CheckpointError::Note(
                    e @ (NoteError::NoKnownSignature(_) | NoteError::BadSignature { .. }),
                ) => WitnessError::NotSigned(e.to_string()),
                other => WitnessError::BadRequest(other.to_string()),
            })?;
        if request.old > cp.size {
            return Err(WitnessError::OldTooLarge {
                old: request.old,
                size: cp.size,
            });
        }
        let latest_size = latest.map_or(0, |l| l.size);
        if request.old != latest_size {
            return Err(WitnessError::SizeConflict {
                old: request.old,
                latest: latest_size,
            });
        }
        match latest {
            Some(l) if l.size == cp.size && l.root != cp.root => {
                return Err(WitnessError::RootConflict { size: cp.size });
            }
            // The same tree again: cosigned again, with a fresh timestamp.
            Some(l) if l.size == cp.size => {}
            Some(l) if l.size > 0 => {
                verify_consistency(l.size, cp.size, &l.root, &cp.root, &request.proof).map_err(
                    |e| WitnessError::Inconsistent {
                        old: l.size,
                        size: cp.size,
                        reason: e.to_string(),
                    },
                )?
            }
            _ if !request.proof.is_empty() => {
                return Err(WitnessError::Inconsistent {
                    old: 0,
                    size: cp.size,
                    reason: "the proof from size 0 must be empty".into(),
                });
            }
            _ => {}
        }
        let text = cp.to_text();
        Ok((
            Latest {
                size: cp.size,
                root: cp.root,
            },
            self.cosigner.cosign(&text, now),
        ))
    }
}

#[cfg(test)]
mod tests;
