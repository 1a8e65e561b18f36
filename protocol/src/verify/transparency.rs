//! The `transparency` check (issue 19): the badge is recorded in its issuer's public log
//! (`crate::tlog`), and the log the issuer serves now extends the one this checker saw
//! before. The issuer serves the entry, a signed checkpoint and the proofs
//! ([`crate::tlog::proof::LogProof`]); this module believes none of it until:
//!
//! 1. the checkpoint verifies under the log key seen before for this issuer (the first
//!    key seen is pinned), and its origin is the issuer's log (`<host>/log`);
//! 2. the entry is an `issued` entry whose `jwt` digest is the badge's issuer-signed JWT;
//! 3. the inclusion proof leads from the entry's leaf hash to the checkpoint's root
//!    (RFC 9162 §2.1.3.2);
//! 4. against the last checkpoint seen for this issuer: a smaller tree, or the same size
//!    with another root, is a fork or a rollback; a larger one must come with a
//!    consistency proof from the size seen (RFC 9162 §2.1.4.2).
//!
//! 5. when the checker requires witnesses ([`WitnessPolicy`]), the checkpoint carries
//!    valid C2SP cosignatures (`crate::tlog::witness`) from at least the number of the
//!    configured witness keys it asks for.
//!
//! Only then is the checkpoint remembered ([`Seen`]): a forked one never replaces the
//! earlier one, so the fork keeps failing. An issuer that serves no log at all makes the
//! check "not applicable" (`ok: null`), never a failure; so does a log that cannot be
//! reached ("not checked") unless a checkpoint of it was seen before (then it fails: a
//! log does not go away).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Check;
use crate::tlog::checkpoint;
use crate::tlog::entry::Entry;
use crate::tlog::merkle::{verify_consistency, verify_inclusion};
use crate::tlog::note::NoteVerifier;
use crate::tlog::proof::{LogEntryRef, LogProof, decode_hashes};
use crate::tlog::tiled::{TileSet, TiledError};
pub use crate::tlog::witness::WitnessPolicy;
use crate::tlog::{Hash, leaf_hash};

pub const CHECK_TRANSPARENCY: &str = "transparency";

/// Checkpoints whose signature checked out, by what was checked ([`opened_id`]): the log
/// key, the origin and the signed note's every byte. Opening a note is a function of those
/// alone, so a note met again (each presentation of any badge while the log does not grow)
/// is not verified again: an Ed25519 verification, 5 % of the verifier's CPU a presentation.
/// A note whose any byte differs, a signature line included, is verified afresh.
static OPENED: LazyLock<Mutex<HashMap<Hash, checkpoint::Checkpoint>>> =
    LazyLock::new(Mutex::default);

/// Checkpoints [`OPENED`] keeps before it starts again.
const OPENED_MAX: usize = 1024;

/// What [`OPENED`] files a checkpoint under: SHA-256 over the key, the origin and the note,
/// each after its length.
fn opened_id(key: &str, origin: &str, note: &str) -> Hash {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in [key, origin, note] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    let mut id = [0u8; 32];
    id.copy_from_slice(ctx.finish().as_ref());
    id
}

/// The checkpoint `note` signed by the log key `key` for `origin`, verified (or found
/// verified in [`OPENED`]).
fn open_checkpoint(key: &str, note: &str, origin: &str) -> Result<checkpoint::Checkpoint, String> {
    let id = opened_id(key, origin, note);
    if let Some(c) = OPENED.lock().ok().and_then(|m| m.get(&id).cloned()) {
        return Ok(c);
    }
    let verifier =
        NoteVerifier::parse(key).map_err(|e| format!("the issuer's log key {key:?}: {e}"))?;
    let c = checkpoint::open(note.as_bytes(), origin, std::slice::from_ref(&verifier))
        .map_err(|e| format!("the issuer's log checkpoint: {e}"))?;
    if let Ok(mut m) = OPENED.lock() {
        if m.len() >= OPENED_MAX {
            m.clear();
        }
        m.insert(id, c.clone());
    }
    Ok(c)
}

/// The last checkpoint of an issuer's log that checked out, and the key that signed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The log's verifier key, Go's note form.
    pub key: String,
    pub size: u64,
    pub root: Hash,
}

/// What the issuer answered for a badge's proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogAnswer {
    /// The issuer serves no log: the check does not apply.
    NoLog,
    /// The issuer has a log, and no entry for this badge.
    NotLogged,
    Proof(Box<LogProof>),
}

/// A boxed future, for the object-safe [`CheckpointMemory`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a checker keeps the last checkpoint it saw per issuer: in memory (a verifier
/// process) or in a database (the wallet, across restarts).
pub trait CheckpointMemory: Send + Sync + std::fmt::Debug {
    fn seen<'a>(&'a self, issuer: &'a str) -> BoxFuture<'a, Result<Option<Seen>, String>>;
    fn remember<'a>(&'a self, issuer: &'a str, seen: Seen) -> BoxFuture<'a, Result<(), String>>;

    /// Keeps the proof that checked out for the credential whose issuer-signed JWT has
    /// digest `jwt_digest` (a wallet keeps its badges' proofs; a verifier need not).
    fn proven<'a>(
        &'a self,
        issuer: &'a str,
        jwt_digest: &'a str,
        proof: &'a LogProof,
    ) -> BoxFuture<'a, Result<(), String>> {
        let _ = (issuer, jwt_digest, proof);
        Box::pin(async { Ok(()) })
    }
}

/// Checkpoints seen, kept for the life of the process (at most [`InMemory::MAX`] issuers).
#[derive(Debug, Default, Clone)]
pub struct InMemory(Arc<Mutex<HashMap<String, Seen>>>);

impl InMemory {
    pub const MAX: usize = 10_000;
}

impl CheckpointMemory for InMemory {
    fn seen<'a>(&'a self, issuer: &'a str) -> BoxFuture<'a, Result<Option<Seen>, String>> {
        let found = self
            .0
            .lock()
            .map_err(|_| "checkpoint memory poisoned".to_owned())
            .map(|m| m.get(issuer).cloned());
        Box::pin(async move { found })
    }

    fn remember<'a>(&'a self, issuer: &'a str, seen: Seen) -> BoxFuture<'a, Result<(), String>> {
        let r = self
            .0
            .lock()
            .map_err(|_| "checkpoint memory poisoned".to_owned())
            .map(|mut m| {
                if m.len() >= Self::MAX && !m.contains_key(issuer) {
                    // Forgetting an issuer only loses its fork detection until seen again.
                    m.clear();
                }
                m.insert(issuer.to_owned(), seen);
            });
        Box::pin(async move { r })
    }
}

/// The log of issuer `iss`: its base URL and checkpoint origin; `None` when `iss` is
/// neither an http(s) URL nor a did:web (another DID publishes no log here). A did:web's
/// log is the one of the URL it is made from (http only for a loopback host, as
/// development servers run).
pub fn log_of(iss: &str) -> Option<(String, String)> {
    if iss.starts_with("did:web:") {
        let document = crate::did::did_web_document_url(iss, true).ok()?;
        let url = document.as_str();
        let base = url
            .strip_suffix("/.well-known/did.json")
            .or_else(|| url.strip_suffix("/did.json"))?;
        return log_of(base);
    }
    let base = iss.trim_end_matches('/');
    let rest = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"))?;
    if rest.is_empty() {
        return None;
    }
    Some((format!("{base}/log"), format!("{rest}/log")))
}

/// Checks a proof the issuer served for the credential whose issuer-signed JWT has
/// digest `jwt_digest`, against what was `seen` before; returns the detail and the
/// checkpoint to remember.
pub fn check_proof(
    proof: &LogProof,
    origin: &str,
    jwt_digest: &str,
    seen: Option<&Seen>,
) -> Result<(String, Seen), String> {
    // 1. The checkpoint, under the pinned key.
    if let Some(seen) = seen
        && seen.key != proof.key
    {
        return Err(format!(
            "the issuer's log is now signed by the key {:?}, not the key {:?} seen before",
            proof.key, seen.key
        ));
    }
    let c = open_checkpoint(&proof.key, &proof.checkpoint, origin)?;

    // 2. The entry is this badge's.
    entry_is_badge(&proof.entry, proof.index, jwt_digest)?;

    // 3. Inclusion.
    let path = decode_hashes(&proof.inclusion)?;
    verify_inclusion(
        &leaf_hash(proof.entry.as_bytes()),
        proof.index,
        c.size,
        &path,
        &c.root,
    )
    .map_err(|e| {
        format!(
            "entry {} is not proven to be in the issuer's log of {} entries: {e}",
            proof.index, c.size
        )
    })?;

    // 4. Consistency with the checkpoint seen before.
    if let Some(seen) = seen
        && needs_consistency(&c, seen)?
    {
        let Some(consistency) = proof
            .consistency
            .as_ref()
            .filter(|p| p.old_size == seen.size)
        else {
            return Err(format!(
                "the issuer's log gave no consistency proof from the {} entries seen before \
                 to its {} entries",
                seen.size, c.size
            ));
        };
        extends(&c, seen, &decode_hashes(&consistency.proof)?)?;
    }
    Ok((
        recorded(origin, proof.index, &c, seen, ""),
        Seen {
            key: proof.key.clone(),
            size: c.size,
            root: c.root,
        },
    ))
}

/// `entry` (at `index` of the issuer's log) is the issuance of the badge whose
/// issuer-signed JWT has `jwt_digest`.
fn entry_is_badge(entry: &str, index: u64, jwt_digest: &str) -> Result<(), String> {
    let parsed = Entry::parse(entry.as_bytes())
        .map_err(|e| format!("entry {index} of the issuer's log does not parse: {e}"))?;
    match &parsed {
        Entry::Issued { jwt: Some(d), .. } | Entry::Card { jwt: d, .. } if d == jwt_digest => {
            Ok(())
        }
        _ => Err(format!(
            "entry {index} of the issuer's log is not this badge's issuance"
        )),
    }
}

/// Whether checkpoint `c` needs a consistency proof from the one `seen` before (it is
/// larger); `Err` when it cannot extend it at all (smaller, or the same size and another
/// root).
fn needs_consistency(c: &checkpoint::Checkpoint, seen: &Seen) -> Result<bool, String> {
    if c.size < seen.size {
        return Err(format!(
            "the issuer's log forked or was rolled back: its checkpoint has {} entries, \
             fewer than the {} seen before",
            c.size, seen.size
        ));
    }
    if c.size == seen.size && c.root != seen.root {
        return Err(format!(
            "the issuer's log forked: its checkpoint of {} entries has root {}, but root {} \
             was seen before at that size",
            c.size,
            STANDARD.encode(c.root),
            STANDARD.encode(seen.root)
        ));
    }
    Ok(c.size > seen.size)
}

/// The consistency proof `hashes` shows that `c` extends the checkpoint `seen` before.
fn extends(c: &checkpoint::Checkpoint, seen: &Seen, hashes: &[Hash]) -> Result<(), String> {
    verify_consistency(seen.size, c.size, &seen.root, &c.root, hashes).map_err(|e| {
        format!(
            "the issuer's log forked: its checkpoint of {} entries does not extend the \
             checkpoint of {} entries seen before ({e})",
            c.size, seen.size
        )
    })
}

/// A passed check's detail ([`recorded_entry`] reads the index back).
fn recorded(
    origin: &str,
    index: u64,
    c: &checkpoint::Checkpoint,
    seen: Option<&Seen>,
    how: &str,
) -> String {
    let since = seen.map_or(String::new(), |s| {
        format!(", consistent with the {} entries seen before", s.size)
    });
    format!(
        "recorded in the issuer's public log {origin}, entry {index} (checkpoint of {} entries{since}){how}",
        c.size
    )
}

/// The log entry a passed `transparency` check found, read back from the detail
/// [`check_proof`] wrote; `None` for any other check or outcome.
pub fn recorded_entry(check: &Check) -> Option<u64> {
    if check.name != CHECK_TRANSPARENCY || check.ok != Some(true) {
        return None;
    }
    let rest = check
        .detail
        .strip_prefix("recorded in the issuer's public log ")?;
    let (_, after) = rest.split_once(", entry ")?;
    after.split(' ').next()?.parse().ok()
}

/// The `transparency` check of a badge signed by `iss` (verified), whose issuer-signed
/// JWT is `jwt`. When the holder's wallet `named` the badge's entry (a KB-JWT claim,
/// [`LogEntryRef`]) and the sources read logs' tiles, the entry is proven from the log's
/// public tiles; otherwise the issuer is asked for the badge's proof by its digest.
pub async fn check<S: super::Sources>(
    sources: &S,
    iss: &str,
    jwt: &str,
    named: Option<&LogEntryRef>,
) -> Check {
    let Some((log, origin)) = log_of(iss) else {
        return Check::unset(
            CHECK_TRANSPARENCY,
            format!("not applicable: the issuer {iss} is not a web address, so it has no log"),
        );
    };
    let Some(memory) = sources.checkpoints() else {
        return Check::unset(CHECK_TRANSPARENCY, "not configured");
    };
    let digest = crate::b64::sha256(jwt);
    let seen = match memory.seen(iss).await {
        Ok(s) => s,
        Err(e) => return Check::fail(CHECK_TRANSPARENCY, format!("the checkpoints seen: {e}")),
    };
    if let Some(named) = named.filter(|_| sources.reads_log_tiles()) {
        let at = Log {
            url: &log,
            origin: &origin,
        };
        let checked = match check_named(sources, &at, &digest, named, seen.as_ref()).await {
            Ok(checked) => checked,
            Err(Unproven::NoLog) => {
                return Check::unset(
                    CHECK_TRANSPARENCY,
                    format!("not applicable: the issuer {iss} publishes no transparency log"),
                );
            }
            Err(Unproven::Unreachable(e)) => return unreachable(&log, e, seen.is_some()),
            Err(Unproven::Refused(e)) => {
                // What was read of the log led to a refusal: the next check reads afresh
                // (a fork is then refused again, as what the log serves by then shows).
                sources.forget_log_tiles(&log);
                return Check::fail(CHECK_TRANSPARENCY, e);
            }
        };
        let (detail, now_seen) = checked;
        return match memory.remember(iss, now_seen).await {
            Ok(()) => Check::pass(CHECK_TRANSPARENCY, detail),
            Err(e) => Check::fail(CHECK_TRANSPARENCY, format!("{detail}; not kept: {e}")),
        };
    }
    let answer = match sources
        .log_proof(&log, &digest, seen.as_ref().map(|s| s.size))
        .await
    {
        Ok(a) => a,
        Err(e) => return unreachable(&log, e, seen.is_some()),
    };
    let proof = match answer {
        LogAnswer::NoLog => {
            return Check::unset(
                CHECK_TRANSPARENCY,
                format!("not applicable: the issuer {iss} publishes no transparency log"),
            );
        }
        LogAnswer::NotLogged => {
            return Check::fail(
                CHECK_TRANSPARENCY,
                format!(
                    "the issuer's public log {origin} does not contain this badge: it was not \
                     issued openly"
                ),
            );
        }
        LogAnswer::Proof(p) => p,
    };
    let checked = check_proof(&proof, &origin, &digest, seen.as_ref()).and_then(|(d, s)| {
        match sources.witness_policy() {
            Some(policy) => Ok((format!("{d}; {}", policy.check(&proof.checkpoint)?), s)),
            None => Ok((d, s)),
        }
    });
    match checked {
        Ok((detail, now_seen)) => {
            let kept = match memory.remember(iss, now_seen).await {
                Ok(()) => memory.proven(iss, &digest, &proof).await,
                Err(e) => Err(e),
            };
            match kept {
                Ok(()) => Check::pass(CHECK_TRANSPARENCY, detail),
                Err(e) => Check::fail(CHECK_TRANSPARENCY, format!("{detail}; not kept: {e}")),
            }
        }
        Err(e) => Check::fail(CHECK_TRANSPARENCY, e),
    }
}

/// The check when the log could not be read. A log seen before must still be there; an
/// issuer never seen with a log may have none, and a network failure is not evidence
/// either way.
fn unreachable(log: &str, e: String, seen_before: bool) -> Check {
    if seen_before {
        Check::fail(
            CHECK_TRANSPARENCY,
            format!("the issuer's log {log}, seen before, could not be read: {e}"),
        )
    } else {
        Check::unset(
            CHECK_TRANSPARENCY,
            format!("not checked: the issuer's log {log} could not be read: {e}"),
        )
    }
}

/// The issuer's log a check reads.
struct Log<'a> {
    /// Its base URL.
    url: &'a str,
    /// Its checkpoints' origin line.
    origin: &'a str,
}

/// Why a wallet-named entry was not proven.
enum Unproven {
    /// The issuer serves no log (and none was seen before).
    NoLog,
    /// The log could not be read.
    Unreachable(String),
    /// What the log serves does not prove the entry, or contradicts what was seen.
    Refused(String),
}

/// How many rounds of tile reads a proof may take (the first finds every tile it needs).
const TILE_ROUNDS: usize = 3;

/// A proof computed by `prove` from `log`'s tiles of the tree of `size`, reading the tiles
/// it needs through `sources`.
async fn from_tiles<S: super::Sources>(
    sources: &S,
    log: &str,
    size: u64,
    prove: impl Fn(&TileSet) -> Result<Vec<Hash>, TiledError>,
) -> Result<Vec<Hash>, Unproven> {
    let mut set = TileSet::new(size);
    for _ in 0..TILE_ROUNDS {
        match prove(&set) {
            Ok(proof) => return Ok(proof),
            Err(TiledError::Needs(tiles)) => {
                for tile in tiles {
                    let hashes = sources.log_tile(log, tile).await.map_err(|e| {
                        Unproven::Unreachable(format!("{log}/{}: {e}", tile.path()))
                    })?;
                    if hashes.width() != u64::from(tile.width) {
                        return Err(Unproven::Refused(format!(
                            "the issuer's log served {} with {} hashes, not {}",
                            tile.path(),
                            hashes.width(),
                            tile.width
                        )));
                    }
                    set.insert(tile, hashes);
                }
            }
            Err(e) => return Err(Unproven::Refused(format!("the issuer's log: {e}"))),
        }
    }
    Err(Unproven::Refused(format!(
        "the issuer's log: its tiles of {size} entries do not give a proof"
    )))
}

/// Proves the entry the wallet `named` for the badge whose issuer-signed JWT has
/// `jwt_digest` from the log's checkpoint and tiles, against what was `seen` before.
async fn check_named<S: super::Sources>(
    sources: &S,
    log: &Log<'_>,
    jwt_digest: &str,
    named: &LogEntryRef,
    seen: Option<&Seen>,
) -> Result<(String, Seen), Unproven> {
    let refused = |e: String| Unproven::Refused(format!("the wallet's log entry: {e}"));
    // 1. The entry is this badge's issuance.
    entry_is_badge(&named.entry, named.index, jwt_digest).map_err(refused)?;

    // 2. The log key: the one pinned, or the log's own on first use (as a proof's is).
    let key = match seen {
        Some(s) => s.key.clone(),
        None => match sources.log_key(log.url).await {
            Ok(Some(k)) => k.trim().to_owned(),
            Ok(None) => return Err(Unproven::NoLog),
            Err(e) => return Err(Unproven::Unreachable(e)),
        },
    };

    // 3. A checkpoint that holds the entry and is not behind the one seen: the one kept
    //    for a few seconds, else a fresh one.
    let mut fresh = false;
    let (c, note) = loop {
        let note = match sources.log_checkpoint(log.url, fresh).await {
            Ok(Some(note)) => note,
            Ok(None) if seen.is_none() => return Err(Unproven::NoLog),
            Ok(None) => {
                return Err(Unproven::Refused(format!(
                    "the issuer's log {}, seen before, serves no checkpoint",
                    log.url
                )));
            }
            Err(e) => return Err(Unproven::Unreachable(e)),
        };
        let c = open_checkpoint(&key, &note, log.origin).map_err(Unproven::Refused)?;
        let behind = c.size <= named.index || seen.is_some_and(|s| c.size < s.size);
        if !behind || fresh {
            break (c, note);
        }
        fresh = true;
    };
    if c.size <= named.index {
        return Err(refused(format!(
            "entry {} is past the end of the issuer's log {}, which has {} entries",
            named.index, log.origin, c.size
        )));
    }

    // 4. It extends the checkpoint seen before.
    if let Some(seen) = seen
        && needs_consistency(&c, seen).map_err(Unproven::Refused)?
    {
        let proof =
            from_tiles(sources, log.url, c.size, |t| t.consistency_proof(seen.size)).await?;
        extends(&c, seen, &proof).map_err(Unproven::Refused)?;
    }

    // 5. The entry is at its index in the checkpoint's tree.
    let path = from_tiles(sources, log.url, c.size, |t| t.inclusion_proof(named.index)).await?;
    let leaf = leaf_hash(named.entry.as_bytes());
    if let Err(e) = verify_inclusion(&leaf, named.index, c.size, &path, &c.root) {
        return Err(refused(format!(
            "entry {} is not proven to be in the issuer's log of {} entries: {e}",
            named.index, c.size
        )));
    }

    // 6. The witnesses the checker requires.
    let mut detail = recorded(
        log.origin,
        named.index,
        &c,
        seen,
        ", proven from the log's public tiles",
    );
    if let Some(policy) = sources.witness_policy() {
        let cosigned = policy.check(&note).map_err(Unproven::Refused)?;
        detail = format!("{detail}; {cosigned}");
    }
    Ok((
        detail,
        Seen {
            key,
            size: c.size,
            root: c.root,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlog::checkpoint::Checkpoint;
    use crate::tlog::entry::StatusRef;
    use crate::tlog::merkle::{consistency_proof, inclusion_proof, root};
    use crate::tlog::note::NoteSigner;
    use crate::tlog::proof::{ConsistencyProof, encode_hashes};

    const ORIGIN: &str = "issuer.example/log";

    fn issued(jwt: &str, i: i64) -> String {
        String::from_utf8(
            Entry::Issued {
                digest: Entry::credential_digest(&format!("{jwt}~")),
                jwt: Entry::jwt_digest(jwt),
                status: StatusRef { list: 1, index: i },
                achievement: "a".into(),
                at: 1,
            }
            .to_bytes(),
        )
        .unwrap()
    }

    /// A log of `n` issued entries (`jwt-<i>`), and the proof of entry `index`.
    fn served(signer: &NoteSigner, entries: &[String], index: u64, old: Option<u64>) -> LogProof {
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e.as_bytes())).collect();
        let note = Checkpoint {
            origin: ORIGIN.into(),
            size: leaves.len() as u64,
            root: root(&leaves),
            extensions: vec![],
        }
        .sign(signer)
        .unwrap();
        LogProof {
            index,
            entry: entries[index as usize].clone(),
            checkpoint: note,
            key: signer.verifier().to_vkey(),
            inclusion: encode_hashes(&inclusion_proof(&leaves, index).unwrap()),
            consistency: old.map(|old| ConsistencyProof {
                old_size: old,
                proof: encode_hashes(&consistency_proof(&leaves, old).unwrap()),
            }),
        }
    }

    fn log(n: i64) -> Vec<String> {
        (0..n).map(|i| issued(&format!("jwt-{i}"), i)).collect()
    }

    #[test]
    fn a_logged_badge_passes_and_the_log_must_only_grow() {
        let signer = NoteSigner::generate(ORIGIN).unwrap();
        let d3 = crate::b64::sha256("jwt-3");
        let (detail, seen) =
            check_proof(&served(&signer, &log(5), 3, None), ORIGIN, &d3, None).unwrap();
        assert!(
            detail.contains("entry 3") && detail.contains("5 entries"),
            "{detail}"
        );
        let passed = Check::pass(CHECK_TRANSPARENCY, detail.clone());
        assert_eq!(recorded_entry(&passed), Some(3));
        assert_eq!(
            recorded_entry(&Check::fail(CHECK_TRANSPARENCY, detail)),
            None
        );
        assert_eq!(seen.size, 5);

        // Grown, with a consistency proof from 5.
        let grown = served(&signer, &log(9), 3, Some(5));
        let (detail, seen9) = check_proof(&grown, ORIGIN, &d3, Some(&seen)).unwrap();
        assert!(
            detail.contains("consistent with the 5 entries seen before"),
            "{detail}"
        );
        assert_eq!(seen9.size, 9);

        // Grown without the proof.
        let bare = served(&signer, &log(9), 3, None);
        let e = check_proof(&bare, ORIGIN, &d3, Some(&seen)).unwrap_err();
        assert!(e.contains("no consistency proof from the 5 entries"), "{e}");

        // A fork: entry 1 rewritten, then grown: not an extension of the 5 seen.
        let mut forked = log(9);
        forked[1] = issued("jwt-other", 1);
        let e = check_proof(
            &served(&signer, &forked, 3, Some(5)),
            ORIGIN,
            &d3,
            Some(&seen),
        )
        .unwrap_err();
        assert!(e.starts_with("the issuer's log forked: its checkpoint of 9 entries does not extend the checkpoint of 5 entries seen before"), "{e}");
        // The same size, another root.
        let mut same = log(5);
        same[0] = issued("jwt-other", 0);
        let e =
            check_proof(&served(&signer, &same, 3, None), ORIGIN, &d3, Some(&seen)).unwrap_err();
        assert!(
            e.starts_with("the issuer's log forked: its checkpoint of 5 entries has root"),
            "{e}"
        );
        // Smaller.
        let e =
            check_proof(&served(&signer, &log(4), 3, None), ORIGIN, &d3, Some(&seen)).unwrap_err();
        assert!(e.contains("4 entries, fewer than the 5 seen before"), "{e}");
    }

    /// A checkpoint met again is taken from the ones verified; a note with any byte
    /// changed (a signature byte, here) or under another key is verified afresh, and
    /// refused.
    #[test]
    fn a_checkpoint_met_again_is_not_verified_again_but_a_changed_byte_is() {
        let signer = NoteSigner::generate(ORIGIN).unwrap();
        let d3 = crate::b64::sha256("jwt-3");
        let p = served(&signer, &log(5), 3, None);
        let (first, _) = check_proof(&p, ORIGIN, &d3, None).unwrap();
        let id = opened_id(&p.key, ORIGIN, &p.checkpoint);
        assert!(OPENED.lock().unwrap().contains_key(&id));
        assert_eq!(check_proof(&p, ORIGIN, &d3, None).unwrap().0, first);

        // The signature line with one byte of the signature changed.
        let mut forged = p.clone();
        let last = forged
            .checkpoint
            .trim_end()
            .rsplit('\n')
            .next()
            .unwrap()
            .to_owned();
        let sig_at = forged.checkpoint.rfind(&last).unwrap() + last.len() - 8;
        let was = forged.checkpoint.as_bytes()[sig_at];
        let now = if was == b'A' { "B" } else { "A" };
        forged.checkpoint.replace_range(sig_at..=sig_at, now);
        assert_ne!(forged.checkpoint, p.checkpoint);
        let e = check_proof(&forged, ORIGIN, &d3, None).unwrap_err();
        assert!(e.starts_with("the issuer's log checkpoint: "), "{e}");
        assert!(!OPENED.lock().unwrap().contains_key(&opened_id(
            &forged.key,
            ORIGIN,
            &forged.checkpoint
        )));

        // The genuine note, claimed under another key.
        let mut rekeyed = p.clone();
        rekeyed.key = NoteSigner::generate(ORIGIN).unwrap().verifier().to_vkey();
        let e = check_proof(&rekeyed, ORIGIN, &d3, None).unwrap_err();
        assert!(e.starts_with("the issuer's log checkpoint: "), "{e}");
    }

    #[test]
    fn proofs_of_another_badge_key_or_log_fail_precisely() {
        let signer = NoteSigner::generate(ORIGIN).unwrap();
        let d3 = crate::b64::sha256("jwt-3");
        let p = served(&signer, &log(5), 3, None);
        // Another badge's entry.
        let e = check_proof(&p, ORIGIN, &crate::b64::sha256("jwt-9"), None).unwrap_err();
        assert_eq!(
            e,
            "entry 3 of the issuer's log is not this badge's issuance"
        );
        // Another index claimed for the entry.
        let mut moved = p.clone();
        moved.index = 2;
        let e = check_proof(&moved, ORIGIN, &d3, None).unwrap_err();
        assert!(
            e.starts_with("entry 2 is not proven to be in the issuer's log of 5 entries"),
            "{e}"
        );
        // Another log's checkpoint.
        let e = check_proof(&p, "other.example/log", &d3, None).unwrap_err();
        assert!(e.contains("expected \"other.example/log\""), "{e}");
        // A key other than the one pinned.
        let (_, seen) = check_proof(&p, ORIGIN, &d3, None).unwrap();
        let other = NoteSigner::generate(ORIGIN).unwrap();
        let e =
            check_proof(&served(&other, &log(5), 3, None), ORIGIN, &d3, Some(&seen)).unwrap_err();
        assert!(
            e.contains("not the key") && e.contains("seen before"),
            "{e}"
        );
        // A checkpoint whose signature does not match its text.
        let mut bad = p.clone();
        bad.checkpoint = bad.checkpoint.replacen("\n5\n", "\n6\n", 1);
        assert!(check_proof(&bad, ORIGIN, &d3, None).is_err());
        // Malformed hashes.
        let mut bad = p.clone();
        bad.inclusion[0] = "x".into();
        let e = check_proof(&bad, ORIGIN, &d3, None).unwrap_err();
        assert_eq!(e, "proof hash 0 is not 32 bytes of standard base64");
    }

    #[test]
    fn logs_belong_to_web_issuers() {
        assert_eq!(
            log_of("https://issuer.example/"),
            Some((
                "https://issuer.example/log".into(),
                "issuer.example/log".into()
            ))
        );
        assert_eq!(
            log_of("http://127.0.0.1:8080"),
            Some((
                "http://127.0.0.1:8080/log".into(),
                "127.0.0.1:8080/log".into()
            ))
        );
        // A did:web's log is its URL's.
        assert_eq!(
            log_of("did:web:issuer.example"),
            log_of("https://issuer.example")
        );
        assert_eq!(
            log_of("did:web:issuer.example%3A8443:badges"),
            log_of("https://issuer.example:8443/badges")
        );
        assert_eq!(
            log_of("did:web:127.0.0.1%3A8080"),
            log_of("http://127.0.0.1:8080")
        );
        assert_eq!(log_of("did:web:"), None);
        assert_eq!(log_of("did:web:evil.example%2Fpath"), None);
        assert_eq!(log_of("did:jwk:eyJrdHkiOiJPS1AifQ"), None);
        assert_eq!(log_of("https://"), None);
    }

    #[test]
    fn a_witness_policy_counts_valid_cosignatures_of_its_keys_only() {
        use crate::tlog::witness::Cosigner;
        let log = NoteSigner::generate(ORIGIN).unwrap();
        let c = Checkpoint {
            origin: ORIGIN.into(),
            size: 3,
            root: [4; 32],
            extensions: vec![],
        };
        let note = c.sign(&log).unwrap();
        let w1 = Cosigner::from_seed("w1.example/w", &[1; 32]).unwrap();
        let w2 = Cosigner::from_seed("w2.example/w", &[2; 32]).unwrap();
        let w3 = Cosigner::from_seed("w3.example/w", &[3; 32]).unwrap();
        let keys: Vec<String> = [&w1, &w2, &w3]
            .iter()
            .map(|w| w.verifier().to_vkey())
            .collect();
        let text = c.to_text();
        let cosigned = format!("{note}{}{}", w1.cosign(&text, 10), w2.cosign(&text, 11));
        let two = WitnessPolicy::new(2, &keys).unwrap();
        assert_eq!(
            two.check(&cosigned),
            Ok("cosigned by w1.example/w, w2.example/w".into())
        );
        let all = WitnessPolicy::new(3, &keys).unwrap();
        assert_eq!(
            all.check(&cosigned).unwrap_err(),
            "the issuer's log checkpoint has 2 valid cosignature(s) from the witnesses \
             required (w1.example/w, w2.example/w, w3.example/w), fewer than the 3 required \
             (cosigned by w1.example/w, w2.example/w)"
        );
        // A cosignature of another checkpoint, or by a key not in the policy, counts not.
        let other = Checkpoint {
            size: 4,
            ..c.clone()
        }
        .to_text();
        let stale = format!("{note}{}", w1.cosign(&other, 10));
        assert!(two.check(&stale).unwrap_err().contains("has 0 valid"));
        let stranger = Cosigner::from_seed("w1.example/w", &[9; 32]).unwrap();
        let forged = format!("{note}{}{}", stranger.cosign(&text, 1), w2.cosign(&text, 1));
        assert!(two.check(&forged).unwrap_err().contains("has 1 valid"));
        // Impossible policies are refused when configured.
        assert!(WitnessPolicy::new(0, &keys).is_err());
        assert!(WitnessPolicy::new(4, &keys).is_err());
        assert!(
            WitnessPolicy::new(1, &[log.verifier().to_vkey()])
                .unwrap_err()
                .contains("not of type Ed25519 cosignature")
        );
    }

    /// An issuer's log served from memory as `NetworkSources` serves one: checkpoint, key
    /// and tiles, each request counted; `log_proof` counted too (it must not be asked).
    #[derive(Default)]
    struct TiledLog {
        entries: Mutex<Vec<String>>,
        signer: Option<NoteSigner>,
        /// A tile served with one byte changed.
        tampered: Option<crate::tlog::tile::Tile>,
        no_log: bool,
        asked: Mutex<Vec<String>>,
        memory: InMemory,
    }

    impl TiledLog {
        fn new(entries: Vec<String>) -> TiledLog {
            TiledLog {
                entries: Mutex::new(entries),
                signer: Some(NoteSigner::generate(ORIGIN).unwrap()),
                ..TiledLog::default()
            }
        }

        fn ask(&self, what: String) {
            self.asked.lock().unwrap().push(what);
        }

        fn asked(&self) -> Vec<String> {
            std::mem::take(&mut *self.asked.lock().unwrap())
        }

        fn leaves(&self) -> Vec<Hash> {
            let entries = self.entries.lock().unwrap();
            entries.iter().map(|e| leaf_hash(e.as_bytes())).collect()
        }

        /// What the wallet sends for entry `index`.
        fn named(&self, index: usize) -> LogEntryRef {
            LogEntryRef {
                index: index as u64,
                entry: self.entries.lock().unwrap()[index].clone(),
            }
        }
    }

    const LOG_URL: &str = "https://issuer.example/log";
    const ISS: &str = "https://issuer.example";

    impl super::super::Sources for TiledLog {
        async fn issuer_key(&self, _: &str, _: Option<&str>) -> Result<crate::keys::Jwk, String> {
            Err("not used".into())
        }
        async fn status_list_token(&self, _: &str) -> Result<String, String> {
            Err("not used".into())
        }
        async fn resource(&self, _: &str, _: &str) -> Result<super::super::Resource, String> {
            Err("not used".into())
        }
        fn checkpoints(&self) -> Option<&dyn CheckpointMemory> {
            Some(&self.memory)
        }
        async fn log_proof(
            &self,
            _: &str,
            digest: &str,
            _: Option<u64>,
        ) -> Result<LogAnswer, String> {
            self.ask(format!("proof/{digest}"));
            Err("the log's proof endpoint is down".into())
        }
        fn reads_log_tiles(&self) -> bool {
            true
        }
        async fn log_checkpoint(&self, log: &str, fresh: bool) -> Result<Option<String>, String> {
            assert_eq!(log, LOG_URL);
            self.ask(format!("checkpoint fresh={fresh}"));
            if self.no_log {
                return Ok(None);
            }
            let leaves = self.leaves();
            let note = Checkpoint {
                origin: ORIGIN.into(),
                size: leaves.len() as u64,
                root: root(&leaves),
                extensions: vec![],
            }
            .sign(self.signer.as_ref().unwrap())
            .unwrap();
            Ok(Some(note))
        }
        async fn log_key(&self, _: &str) -> Result<Option<String>, String> {
            self.ask("key".into());
            if self.no_log {
                return Ok(None);
            }
            Ok(Some(format!(
                "{}\n",
                self.signer.as_ref().unwrap().verifier().to_vkey()
            )))
        }
        async fn log_tile(
            &self,
            _: &str,
            tile: crate::tlog::tile::Tile,
        ) -> Result<Arc<crate::tlog::tiled::TileHashes>, String> {
            self.ask(tile.path());
            let bytes = tile.hashes(&self.leaves()).map_err(|e| e.to_string())?;
            let mut hashes = tile.parse_hashes(&bytes).map_err(|e| e.to_string())?;
            if self.tampered == Some(tile) {
                for h in &mut hashes {
                    h[0] ^= 1;
                }
            }
            Ok(Arc::new(crate::tlog::tiled::TileHashes::new(&hashes)))
        }
        fn forget_log_tiles(&self, _: &str) {
            self.ask("forget".into());
        }
    }

    fn jwt(i: usize) -> String {
        format!("jwt-{i}")
    }

    /// A badge the wallet names is proven from the checkpoint and tiles; the log is never
    /// asked about the badge; a wallet whose kept proof is older than the log (a stale
    /// wallet) still passes, and the log must keep extending what was seen.
    #[tokio::test]
    async fn a_named_entry_is_proven_from_tiles_without_asking_about_the_badge() {
        let served = TiledLog::new(log(300));
        let log = &served;
        let named = log.named(3);
        let c = check(log, ISS, &jwt(3), Some(&named)).await;
        assert_eq!(c.ok, Some(true), "{}", c.detail);
        assert!(
            c.detail.ends_with(
                "entry 3 (checkpoint of 300 entries), proven from the log's public tiles"
            ),
            "{}",
            c.detail
        );
        assert_eq!(recorded_entry(&c), Some(3));
        let asked = log.asked();
        assert_eq!(
            asked,
            [
                "key",
                "checkpoint fresh=false",
                "tile/0/000",
                "tile/0/001.p/44"
            ],
            "{asked:?}"
        );
        assert!(!asked.iter().any(|a| a.starts_with("proof/")));

        // The log grows; the same (stale) entry is proven in the larger tree, after the
        // consistency proof from the 300 seen.
        let more: Vec<String> = (300..700).map(|i| issued(&jwt(i), i as i64)).collect();
        log.entries.lock().unwrap().extend(more);
        let c = check(log, ISS, &jwt(3), Some(&named)).await;
        assert_eq!(c.ok, Some(true), "{}", c.detail);
        assert!(
            c.detail
                .contains("checkpoint of 700 entries, consistent with the 300 entries seen before"),
            "{}",
            c.detail
        );
        let asked = log.asked();
        assert_eq!(asked[0], "checkpoint fresh=false", "{asked:?}");
        assert!(
            !asked.contains(&"key".to_owned()),
            "the key is pinned: {asked:?}"
        );
    }

    /// The attacks: another badge's entry, the right entry at another index, an index past
    /// the log, a tampered tile, a forked log. Each fails, naming what failed.
    #[tokio::test]
    async fn named_entries_that_the_log_does_not_prove_fail_precisely() {
        let served = TiledLog::new(log(300));
        // Another badge's entry (its own index): not this badge's issuance.
        let c = check(&served, ISS, &jwt(3), Some(&served.named(4))).await;
        assert_eq!(c.ok, Some(false));
        assert_eq!(
            c.detail,
            "the wallet's log entry: entry 4 of the issuer's log is not this badge's issuance"
        );
        // This badge's entry, claimed at another badge's index.
        let moved = LogEntryRef {
            index: 4,
            ..served.named(3)
        };
        let c = check(&served, ISS, &jwt(3), Some(&moved)).await;
        assert_eq!(c.ok, Some(false));
        assert!(
            c.detail.starts_with(
                "the wallet's log entry: entry 4 is not proven to be in the issuer's log of 300 entries"
            ),
            "{}",
            c.detail
        );
        assert!(served.asked().contains(&"forget".to_owned()));
        // Past the end: a fresh checkpoint is asked for once, then refused.
        let past = LogEntryRef {
            index: 300,
            ..served.named(3)
        };
        let c = check(&served, ISS, &jwt(3), Some(&past)).await;
        assert_eq!(
            c.detail,
            "the wallet's log entry: entry 300 is past the end of the issuer's log \
             issuer.example/log, which has 300 entries"
        );
        let asked = served.asked();
        assert!(
            asked.contains(&"checkpoint fresh=true".to_owned()),
            "{asked:?}"
        );

        // A tampered tile.
        let tampered = TiledLog {
            tampered: Some(crate::tlog::tile::Tile {
                level: 0,
                index: 0,
                width: 256,
            }),
            ..TiledLog::new(log(300))
        };
        let c = check(&tampered, ISS, &jwt(3), Some(&tampered.named(3))).await;
        assert_eq!(c.ok, Some(false));
        assert!(c.detail.contains("entry 3 is not proven"), "{}", c.detail);

        // A fork: seen at 300, then entry 1 rewritten and the log grown.
        let forked = TiledLog::new(log(300));
        let c = check(&forked, ISS, &jwt(3), Some(&forked.named(3))).await;
        assert_eq!(c.ok, Some(true), "{}", c.detail);
        {
            let mut entries = forked.entries.lock().unwrap();
            entries[1] = issued("jwt-other", 1);
            entries.push(issued(&jwt(300), 300));
        }
        let c = check(&forked, ISS, &jwt(3), Some(&forked.named(3))).await;
        assert_eq!(c.ok, Some(false));
        assert!(
            c.detail.starts_with(
                "the issuer's log forked: its checkpoint of 301 entries does not extend the \
                 checkpoint of 300 entries seen before"
            ),
            "{}",
            c.detail
        );
        // The fork is not remembered: it keeps failing.
        let c = check(&forked, ISS, &jwt(3), Some(&forked.named(3))).await;
        assert_eq!(c.ok, Some(false), "{}", c.detail);
    }

    /// No log at all: not applicable, as on the proof path; a source that reads no tiles
    /// asks for the proof by digest.
    #[tokio::test]
    async fn without_a_log_or_tiles_the_check_behaves_as_before() {
        let none = TiledLog {
            no_log: true,
            ..TiledLog::new(log(3))
        };
        let c = check(&none, ISS, &jwt(1), Some(&none.named(1))).await;
        assert_eq!(c.ok, None);
        assert!(
            c.detail.contains("publishes no transparency log"),
            "{}",
            c.detail
        );
        // Without a named entry: the proof endpoint (down here) is asked.
        let served = TiledLog::new(log(3));
        let c = check(&served, ISS, &jwt(1), None).await;
        assert_eq!(c.ok, None);
        assert_eq!(
            served.asked(),
            [format!("proof/{}", crate::b64::sha256(jwt(1)))]
        );
    }

    #[test]
    fn the_kb_jwt_claim_is_read_strictly() {
        use crate::tlog::proof::{KB_LOG_ENTRY, MAX_ENTRY_BYTES};
        let claims = |v: serde_json::Value| v.as_object().unwrap().clone();
        assert_eq!(
            LogEntryRef::from_claims(&claims(serde_json::json!({}))),
            Ok(None)
        );
        let named = LogEntryRef {
            index: 7,
            entry: "{}".into(),
        };
        assert_eq!(
            LogEntryRef::from_claims(&claims(serde_json::json!({KB_LOG_ENTRY: named.clone()}))),
            Ok(Some(named))
        );
        let e = LogEntryRef::from_claims(&claims(serde_json::json!({KB_LOG_ENTRY: {"index": -1}})))
            .unwrap_err();
        assert!(
            e.starts_with("the KB-JWT's `log_entry` claim is not an index and an entry"),
            "{e}"
        );
        let big = serde_json::json!({KB_LOG_ENTRY: {"index": 1, "entry": "x".repeat(MAX_ENTRY_BYTES + 1)}});
        assert!(
            LogEntryRef::from_claims(&claims(big))
                .unwrap_err()
                .contains("more than 4096")
        );
    }
}
