//! A monitor of an issuer's transparency log (`akashi monitor LOG_URL`): it fetches the
//! signed checkpoint (C2SP tlog-checkpoint), every entry bundle and every hash tile of its
//! tree (C2SP tlog-tiles), recomputes the tree and checks its root against the checkpoint,
//! checks that the tree extends the checkpoint it saw last ([`State`]), and counts what the
//! entries say was issued, revoked, suspended and reinstated, by achievement and by day.
//!
//! ```text
//! checkpoint --open with the log key--> size, root
//! tile/entries/* --leaf_hash--> leaves --root--> == checkpoint root?   (else: rewritten entry)
//! tile/0/*  == leaves?   tile/L/* == subtree roots?                      (else: tampered tile)
//! leaves[..seen.size] --root--> == seen.root?                            (else: fork)
//! entries --parse--> Report { by_achievement, by_day }
//! ```
//!
//! Every refusal is a [`MonitorError`] naming what failed: the tile path and hash index, the
//! entry index, the two roots of a fork. Fetches go through [`HttpGet`] (the services'
//! guarded client), so the SSRF and size rules of the caller apply.
//!
//! The report's JSON form ([`Report`], `--json`) is stable: fields are only ever added.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::checkpoint::{self, Checkpoint, CheckpointError};
use super::entry::Entry;
use super::merkle::root;
use super::note::{NoteError, NoteVerifier};
use super::tile::{self, Tile, TileError};
use super::witness::WitnessPolicy;
use super::{Hash, leaf_hash};
use crate::fetch::{FetchError, HttpGet};

/// The largest entry bundle read: 256 entries of the largest size a bundle can hold.
const MAX_BUNDLE_BYTES: usize = 256 * (2 + 65_535);
/// The largest tree a run reads: it keeps 32 bytes per entry (the leaf hashes) and the
/// achievement of each issued credential's status reference, not the entries.
pub const MAX_TREE_SIZE: u64 = 10_000_000;

/// Why a run of the monitor failed. Each variant names the check and the resource.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MonitorError {
    #[error("log URL {0:?} is not an http(s) URL")]
    BadLogUrl(String),
    #[error("fetching {url}: {source}")]
    Fetch { url: String, source: FetchError },
    #[error(
        "gap: {path} is missing (HTTP {status}) though the checkpoint's tree of {size} entries has it"
    )]
    Missing {
        path: String,
        status: u16,
        size: u64,
    },
    #[error("the log's key {url} is not a note verifier key: {source}")]
    BadServedKey { url: String, source: NoteError },
    #[error(
        "the log key given ({given}) is not the key pinned in the state file ({pinned}); remove the state file to pin another key"
    )]
    KeyChanged { pinned: String, given: String },
    #[error("the state file is of the log {state}, not of {url}")]
    OtherLog { state: String, url: String },
    #[error(
        "checkpoint is signed by an unknown key: it has no signature by the log key {expected} (signatures by: {signed_by})"
    )]
    UnknownKey { expected: String, signed_by: String },
    #[error(
        "checkpoint signature by {name} (key id {key_id:08x}) does not verify: the checkpoint was altered"
    )]
    BadSignature { name: String, key_id: u32 },
    #[error("checkpoint refused: {0}")]
    Checkpoint(CheckpointError),
    #[error("gap: {path} is {found} bytes, a tile of {width} hashes is {expected}")]
    ShortTile {
        path: String,
        width: u16,
        expected: usize,
        found: usize,
    },
    #[error(
        "gap: entry bundle {path} holds {found} entries, the tree has {expected} there (entries {first_missing} to {last} missing)"
    )]
    ShortBundle {
        path: String,
        expected: u16,
        found: usize,
        first_missing: u64,
        last: u64,
    },
    #[error("entry bundle {path} holds {found} entries, more than the {expected} of the tree")]
    LongBundle {
        path: String,
        expected: u16,
        found: usize,
    },
    #[error("entry bundle {path} is malformed: {source}")]
    BadBundle { path: String, source: TileError },
    #[error(
        "tampered tile: {path} hash {position} (covering entries {first} to {last}) is {found}, the log's entries give {expected}"
    )]
    TamperedTile {
        path: String,
        position: usize,
        first: u64,
        last: u64,
        found: String,
        expected: String,
    },
    #[error(
        "rewritten entry: entry {index} ({bundle} entry {position}) hashes to {found}, the signed tree has {expected}"
    )]
    RewrittenEntry {
        index: u64,
        bundle: String,
        position: usize,
        found: String,
        expected: String,
    },
    #[error(
        "the tree of the {size} entries served has root {computed}, the checkpoint says {signed}, and the hash tiles agree with neither"
    )]
    RootMismatch {
        size: u64,
        computed: String,
        signed: String,
    },
    #[error(
        "fork: the checkpoint seen before commits to {size} entries with root {seen}; the log now serves {now} for the same entries"
    )]
    Fork {
        size: u64,
        seen: String,
        now: String,
    },
    #[error("the checkpoint's tree has {size} entries, more than the {max} this monitor reads")]
    TreeTooLarge { size: u64, max: u64 },
    #[error("the log shrank: it now has {now} entries, the checkpoint seen before had {seen}")]
    Shrunk { seen: u64, now: u64 },
    #[error("entry {index} is not an Akashi log entry: {reason}")]
    BadEntry { index: u64, reason: String },
    #[error("state file {path}: {reason}")]
    StateFile { path: String, reason: String },
    /// Fewer witnesses than required (`--witness`, `--witness-quorum`) cosigned the
    /// checkpoint; the message names them.
    #[error("witnesses: {0}")]
    Cosignatures(String),
}

/// The checkpoint a monitor saw last, kept between runs (`--state FILE`, mode 0600). The
/// key is pinned: a later checkpoint must be signed by it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The log's URL, as given.
    pub log: String,
    /// The log's verifier key, Go's note form.
    pub key: String,
    pub size: u64,
    /// Standard base64.
    pub root: String,
    /// The signed checkpoint itself: evidence, should the log ever fork.
    pub checkpoint: String,
    /// Unix seconds of the run that checked it.
    pub checked_at: i64,
}

impl State {
    /// Reads a state file; `None` when there is none yet.
    pub fn load(path: &Path) -> Result<Option<State>, MonitorError> {
        let err = |reason: String| MonitorError::StateFile {
            path: path.display().to_string(),
            reason,
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(err(e.to_string())),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| err(format!("not a monitor state: {e}")))
    }

    /// Writes the state file (mode 0600, replaced atomically).
    pub fn save(&self, path: &Path) -> Result<(), MonitorError> {
        let err = |reason: String| MonitorError::StateFile {
            path: path.display().to_string(),
            reason,
        };
        let json = serde_json::to_vec_pretty(self).map_err(|e| err(e.to_string()))?;
        crate::private_files::write(path, &json).map_err(|e| err(e.to_string()))
    }
}

/// Counts of what entries say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// `issued` entries.
    pub issued: u64,
    /// `status` entries with value 1.
    pub revoked: u64,
    /// `status` entries with value 2.
    pub suspended: u64,
    /// `status` entries with value 0 (valid again).
    pub reinstated: u64,
    /// `card` entries: card credentials (offline QR proofs) issued for badges.
    #[serde(default)]
    pub cards: u64,
}

impl Counts {
    fn add(&mut self, what: Counted) {
        match what {
            Counted::Issued => self.issued += 1,
            Counted::Revoked => self.revoked += 1,
            Counted::Suspended => self.suspended += 1,
            Counted::Reinstated => self.reinstated += 1,
            Counted::Card => self.cards += 1,
        }
    }
}

#[derive(Clone, Copy)]
enum Counted {
    Issued,
    Revoked,
    Suspended,
    Reinstated,
    Card,
}

/// The checkpoint a run started from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Previous {
    pub size: u64,
    /// Standard base64.
    pub root: String,
    /// Unix seconds.
    pub checked_at: i64,
}

/// What a run found: the `--json` output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The log's URL.
    pub log: String,
    /// The checkpoints' origin line.
    pub origin: String,
    /// The log key the checkpoint verified under (Go's note form).
    pub key: String,
    /// Whether the key was taken from the log itself on this run (trust on first use).
    pub key_trusted_on_first_use: bool,
    /// The checkpoint's tree size: every entry below it was fetched and checked.
    pub size: u64,
    /// The checkpoint's root hash, standard base64.
    pub root: String,
    /// The checkpoint this run started from and found the log consistent with.
    pub previous: Option<Previous>,
    /// Over the whole log.
    pub totals: Counts,
    /// Entries at and after `previous.size` (all of them on a first run).
    pub new: Counts,
    /// By achievement id; a status change counts under the achievement of the badge it
    /// changes.
    pub by_achievement: BTreeMap<String, Counts>,
    /// By UTC day (`YYYY-MM-DD`) of the entry's `at`.
    pub by_day: BTreeMap<String, Counts>,
    /// Status changes of a credential the log has no `issued` entry for (logged before
    /// the log existed, or a credential minted silently), as `<list>/<index>`.
    pub status_without_issuance: Vec<String>,
    /// Card credentials for a badge the log has no `issued` entry for (a card minted for
    /// a badge that was never logged), as `<list>/<index>`.
    #[serde(default)]
    pub cards_without_issuance: Vec<String>,
    /// The witnesses given (`--witness`) whose cosignature of the checkpoint verified, with
    /// the time each cosigned; empty when none were given.
    #[serde(default)]
    pub cosigned_by: Vec<Cosignature>,
}

/// A witness's verified cosignature of the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cosignature {
    /// The witness's name, from its key.
    pub witness: String,
    /// When it cosigned, Unix seconds.
    pub timestamp: u64,
}

/// How the log key is known.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// Given (`--key`).
    Given(NoteVerifier),
    /// Taken from `<log>/key` on first use, then pinned in the state.
    FirstUse,
}

/// One run: fetch, check and count. `previous` is the state of the last run (its key is
/// used when `key` is [`KeySource::FirstUse`]); the returned state is to be saved. With
/// `witnesses`, the checkpoint must carry as many valid cosignatures as the policy asks.
pub async fn run(
    http: &dyn HttpGet,
    log_url: &str,
    key: KeySource,
    witnesses: Option<&WitnessPolicy>,
    previous: Option<&State>,
    now: i64,
) -> Result<(Report, State), MonitorError> {
    let log = log_url.trim_end_matches('/').to_owned();
    if !(log.starts_with("https://") || log.starts_with("http://"))
        || url::Url::parse(&log).is_err()
    {
        return Err(MonitorError::BadLogUrl(log_url.chars().take(200).collect()));
    }
    if let Some(p) = previous
        && p.log.trim_end_matches('/') != log
    {
        return Err(MonitorError::OtherLog {
            state: p.log.clone(),
            url: log,
        });
    }
    let pinned = previous
        .map(|p| {
            NoteVerifier::parse(&p.key).map_err(|e| MonitorError::StateFile {
                path: "(state)".into(),
                reason: format!("pinned key: {e}"),
            })
        })
        .transpose()?;
    let (verifier, first_use) = match (key, pinned) {
        (KeySource::Given(given), Some(pinned)) if given != pinned => {
            return Err(MonitorError::KeyChanged {
                pinned: pinned.to_vkey(),
                given: given.to_vkey(),
            });
        }
        (KeySource::Given(given), _) => (given, false),
        (KeySource::FirstUse, Some(pinned)) => (pinned, false),
        (KeySource::FirstUse, None) => {
            let url = format!("{log}/key");
            let text = fetch(http, &url, "text/plain", 4096).await?;
            let text = String::from_utf8_lossy(&text);
            let v =
                NoteVerifier::parse(text.trim()).map_err(|source| MonitorError::BadServedKey {
                    url: url.clone(),
                    source,
                })?;
            (v, true)
        }
    };

    // 1. The checkpoint, under the log key.
    let note = fetch(
        http,
        &format!("{log}/checkpoint"),
        "text/plain",
        super::note::MAX_NOTE_BYTES,
    )
    .await?;
    let cp = open_checkpoint(&note, &verifier)?;
    let note_text = String::from_utf8_lossy(&note);
    let cosigned_by = match witnesses {
        Some(policy) => {
            policy
                .check(&note_text)
                .map_err(MonitorError::Cosignatures)?;
            policy
                .cosignatures(&note_text)
                .into_iter()
                .map(|(witness, timestamp)| Cosignature { witness, timestamp })
                .collect()
        }
        None => Vec::new(),
    };
    if let Some(p) = previous
        && p.size > cp.size
    {
        return Err(MonitorError::Shrunk {
            seen: p.size,
            now: cp.size,
        });
    }
    if cp.size > MAX_TREE_SIZE {
        return Err(MonitorError::TreeTooLarge {
            size: cp.size,
            max: MAX_TREE_SIZE,
        });
    }

    // 2. Every entry and every level-0 hash, from the bundles and tiles of the tree.
    // Entries are hashed and counted bundle by bundle, and not kept; what they say is
    // reported only if the tree checks out.
    let mut leaves: Vec<Hash> = Vec::with_capacity(cp.size as usize);
    let mut tile_leaves: Vec<Hash> = Vec::with_capacity(cp.size as usize);
    let mut tally = Tally::new(previous.map_or(0, |p| p.size));
    let mut index = 0u64;
    while let Some(t) = Tile::in_tree(0, index, cp.size) {
        let (start, _) = t.leaf_range().unwrap_or((0, 0));
        let path = t.entries_path();
        let bundle = fetch_tile(http, &log, &path, MAX_BUNDLE_BYTES, cp.size).await?;
        let got = tile::decode_bundle(&bundle).map_err(|source| MonitorError::BadBundle {
            path: path.clone(),
            source,
        })?;
        match got.len().cmp(&usize::from(t.width)) {
            std::cmp::Ordering::Less => {
                return Err(MonitorError::ShortBundle {
                    path,
                    expected: t.width,
                    found: got.len(),
                    first_missing: start + got.len() as u64,
                    last: start + u64::from(t.width) - 1,
                });
            }
            std::cmp::Ordering::Greater => {
                return Err(MonitorError::LongBundle {
                    path,
                    expected: t.width,
                    found: got.len(),
                });
            }
            std::cmp::Ordering::Equal => {}
        }
        for (k, e) in got.iter().enumerate() {
            leaves.push(leaf_hash(e));
            tally.add(start + k as u64, e);
        }
        tile_leaves.extend(fetch_hashes(http, &log, t, cp.size).await?);
        index += 1;
    }

    // 3. The root: from the entries, else tell a rewritten entry from a forged tree.
    if root(&leaves) != cp.root {
        if root(&tile_leaves) == cp.root
            && let Some(i) = (0..leaves.len()).find(|&i| leaves[i] != tile_leaves[i])
        {
            let t = i as u64 / tile::WIDTH;
            let bundle = Tile::in_tree(0, t, cp.size)
                .map(|t| t.entries_path())
                .unwrap_or_default();
            return Err(MonitorError::RewrittenEntry {
                index: i as u64,
                bundle,
                position: i % tile::WIDTH as usize,
                found: STANDARD.encode(leaves[i]),
                expected: STANDARD.encode(tile_leaves[i]),
            });
        }
        return Err(MonitorError::RootMismatch {
            size: cp.size,
            computed: STANDARD.encode(root(&leaves)),
            signed: STANDARD.encode(cp.root),
        });
    }
    // 4. Every hash tile agrees with the entries.
    for (i, (got, want)) in tile_leaves.iter().zip(&leaves).enumerate() {
        if got != want {
            let t = Tile::in_tree(0, i as u64 / tile::WIDTH, cp.size);
            return Err(MonitorError::TamperedTile {
                path: t.map(|t| t.path()).unwrap_or_default(),
                position: i % tile::WIDTH as usize,
                first: i as u64,
                last: i as u64,
                found: STANDARD.encode(got),
                expected: STANDARD.encode(want),
            });
        }
    }
    for t in Tile::all_in_tree(cp.size)
        .into_iter()
        .filter(|t| t.level > 0)
    {
        let got = fetch_hashes(http, &log, t, cp.size).await?;
        let want = t.hashes(&leaves).map_err(|e| MonitorError::BadBundle {
            path: t.path(),
            source: e,
        })?;
        let (start, _) = t.leaf_range().unwrap_or((0, 0));
        let span = tile::WIDTH.pow(u32::from(t.level));
        for (position, (g, w)) in got.iter().zip(want.chunks_exact(32)).enumerate() {
            if g.as_slice() != w {
                let first = start + position as u64 * span;
                return Err(MonitorError::TamperedTile {
                    path: t.path(),
                    position,
                    first,
                    last: first + span - 1,
                    found: STANDARD.encode(g),
                    expected: STANDARD.encode(w),
                });
            }
        }
    }

    // 5. The tree extends the one seen before.
    if let Some(p) = previous {
        let now_root = STANDARD.encode(root(&leaves[..p.size as usize]));
        if now_root != p.root {
            return Err(MonitorError::Fork {
                size: p.size,
                seen: p.root.clone(),
                now: now_root,
            });
        }
    }

    // 6. What the entries say.
    if let Some(e) = tally.error {
        return Err(e);
    }
    let root_b64 = STANDARD.encode(cp.root);
    let report = Report {
        log: log.clone(),
        origin: cp.origin.clone(),
        key: verifier.to_vkey(),
        key_trusted_on_first_use: first_use,
        size: cp.size,
        root: root_b64.clone(),
        previous: previous.map(|p| Previous {
            size: p.size,
            root: p.root.clone(),
            checked_at: p.checked_at,
        }),
        totals: tally.totals,
        new: tally.new,
        by_achievement: tally.by_achievement,
        by_day: tally.by_day,
        status_without_issuance: tally.status_without_issuance,
        cards_without_issuance: tally.cards_without_issuance,
        cosigned_by,
    };
    let state = State {
        log,
        key: verifier.to_vkey(),
        size: cp.size,
        root: root_b64,
        checkpoint: note_text.into_owned(),
        checked_at: now,
    };
    Ok((report, state))
}

/// A monitor following one log from checkpoint to checkpoint: it remembers the last
/// state that checked out (and keeps it in `state_path`, when given), and saves a new one
/// only when the log checked out, so a fork never replaces the checkpoint it forks from
/// and keeps failing.
#[derive(Debug)]
pub struct Follower {
    log: String,
    key: KeySource,
    witnesses: Option<WitnessPolicy>,
    state_path: Option<std::path::PathBuf>,
    previous: Option<State>,
}

impl Follower {
    /// A follower of `log_url`, starting from the state in `state_path` if it has one.
    pub fn new(
        log_url: &str,
        key: KeySource,
        state_path: Option<&Path>,
    ) -> Result<Follower, MonitorError> {
        let previous = match state_path {
            Some(p) => State::load(p)?,
            None => None,
        };
        Ok(Follower {
            log: log_url.to_owned(),
            key,
            witnesses: None,
            state_path: state_path.map(Path::to_path_buf),
            previous,
        })
    }

    /// Requires the checkpoint's cosignatures by `policy` on every run.
    pub fn with_witnesses(mut self, policy: WitnessPolicy) -> Follower {
        self.witnesses = Some(policy);
        self
    }

    /// One run: see [`run`].
    pub async fn check(&mut self, http: &dyn HttpGet, now: i64) -> Result<Report, MonitorError> {
        let (report, state) = run(
            http,
            &self.log,
            self.key.clone(),
            self.witnesses.as_ref(),
            self.previous.as_ref(),
            now,
        )
        .await?;
        if let Some(p) = &self.state_path {
            state.save(p)?;
        }
        self.previous = Some(state);
        Ok(report)
    }
}

fn open_checkpoint(note: &[u8], verifier: &NoteVerifier) -> Result<Checkpoint, MonitorError> {
    checkpoint::open(note, verifier.name(), std::slice::from_ref(verifier)).map_err(|e| match e {
        CheckpointError::Note(NoteError::NoKnownSignature(signed_by)) => MonitorError::UnknownKey {
            expected: verifier.to_vkey(),
            signed_by,
        },
        CheckpointError::Note(NoteError::BadSignature { name, key_id }) => {
            MonitorError::BadSignature { name, key_id }
        }
        other => MonitorError::Checkpoint(other),
    })
}

async fn fetch(
    http: &dyn HttpGet,
    url: &str,
    accept: &str,
    limit: usize,
) -> Result<Vec<u8>, MonitorError> {
    let got = http
        .get(url, accept)
        .await
        .map_err(|source| MonitorError::Fetch {
            url: url.to_owned(),
            source,
        })?;
    if got.body.len() > limit {
        return Err(MonitorError::Fetch {
            url: url.to_owned(),
            source: FetchError::TooLarge { limit },
        });
    }
    Ok(got.body.to_vec())
}

/// A tile or bundle of the tree of `size`; a 404 is a gap.
async fn fetch_tile(
    http: &dyn HttpGet,
    log: &str,
    path: &str,
    limit: usize,
    size: u64,
) -> Result<Vec<u8>, MonitorError> {
    match fetch(
        http,
        &format!("{log}/{path}"),
        "application/octet-stream",
        limit,
    )
    .await
    {
        Err(MonitorError::Fetch {
            source: FetchError::Status { status, .. },
            ..
        }) if status == 404 || status == 410 => Err(MonitorError::Missing {
            path: path.to_owned(),
            status,
            size,
        }),
        other => other,
    }
}

async fn fetch_hashes(
    http: &dyn HttpGet,
    log: &str,
    t: Tile,
    size: u64,
) -> Result<Vec<Hash>, MonitorError> {
    let path = t.path();
    let bytes = fetch_tile(http, log, &path, 32 * tile::WIDTH as usize, size).await?;
    t.parse_hashes(&bytes).map_err(|e| match e {
        TileError::WrongSize {
            width,
            expected,
            found,
        } => MonitorError::ShortTile {
            path: path.clone(),
            width,
            expected,
            found,
        },
        source => MonitorError::BadBundle {
            path: path.clone(),
            source,
        },
    })
}

/// The UTC day of Unix seconds `at`.
fn day(at: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(at).ok()?;
    let d = t.date();
    Some(format!(
        "{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    ))
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC` (the seconds themselves past the year 9999).
fn utc_time(at: u64) -> String {
    let Some(t) = i64::try_from(at)
        .ok()
        .and_then(|a| time::OffsetDateTime::from_unix_timestamp(a).ok())
    else {
        return format!("{at} s");
    };
    let d = t.date();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        d.year(),
        u8::from(d.month()),
        d.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// What the entries say, counted as they are fetched; the first entry that is not an
/// Akashi entry is kept as the run's error (reported after the tree's checks, which name
/// a rewritten entry more precisely).
struct Tally {
    new_from: u64,
    totals: Counts,
    new: Counts,
    by_achievement: BTreeMap<String, Counts>,
    by_day: BTreeMap<String, Counts>,
    status_without_issuance: Vec<String>,
    cards_without_issuance: Vec<String>,
    /// The achievement (an index into `achievements`) of each issued status reference.
    achievement_of: HashMap<(i64, i64), usize>,
    achievements: Vec<String>,
    achievement_index: HashMap<String, usize>,
    error: Option<MonitorError>,
}

impl Tally {
    fn new(new_from: u64) -> Tally {
        Tally {
            new_from,
            totals: Counts::default(),
            new: Counts::default(),
            by_achievement: BTreeMap::new(),
            by_day: BTreeMap::new(),
            status_without_issuance: Vec::new(),
            cards_without_issuance: Vec::new(),
            achievement_of: HashMap::new(),
            achievements: Vec::new(),
            achievement_index: HashMap::new(),
            error: None,
        }
    }

    fn add(&mut self, index: u64, bytes: &[u8]) {
        if self.error.is_none()
            && let Err(reason) = self.try_add(index, bytes)
        {
            self.error = Some(MonitorError::BadEntry { index, reason });
        }
    }

    fn try_add(&mut self, index: u64, bytes: &[u8]) -> Result<(), String> {
        let entry = Entry::parse(bytes).map_err(|e| e.to_string())?;
        let (what, at, achievement) = match entry {
            Entry::Issued {
                status,
                achievement,
                at,
                ..
            } => {
                let next = self.achievements.len();
                let a = *self
                    .achievement_index
                    .entry(achievement.clone())
                    .or_insert(next);
                if a == next {
                    self.achievements.push(achievement);
                }
                self.achievement_of.insert((status.list, status.index), a);
                (Counted::Issued, at, Some(a))
            }
            Entry::Card { status, at, .. } => {
                let a = self
                    .achievement_of
                    .get(&(status.list, status.index))
                    .copied();
                if a.is_none() {
                    self.cards_without_issuance
                        .push(format!("{}/{}", status.list, status.index));
                }
                (Counted::Card, at, a)
            }
            Entry::Status { status, value, at } => {
                let what = match value {
                    0 => Counted::Reinstated,
                    1 => Counted::Revoked,
                    2 => Counted::Suspended,
                    v => {
                        return Err(format!(
                            "status value {v} is none of 0 (valid), 1 (revoked), 2 (suspended)"
                        ));
                    }
                };
                let a = self
                    .achievement_of
                    .get(&(status.list, status.index))
                    .copied();
                if a.is_none() {
                    self.status_without_issuance
                        .push(format!("{}/{}", status.list, status.index));
                }
                (what, at, a)
            }
        };
        let day = day(at).ok_or_else(|| format!("`at` {at} is not a time"))?;
        self.totals.add(what);
        if index >= self.new_from {
            self.new.add(what);
        }
        if let Some(a) = achievement {
            self.by_achievement
                .entry(self.achievements[a].clone())
                .or_default()
                .add(what);
        }
        self.by_day.entry(day).or_default().add(what);
        Ok(())
    }
}

impl Report {
    /// The human form: what was checked, then the counts.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "log        {} (origin {})", self.log, self.origin);
        let _ = writeln!(
            s,
            "key        {}{}",
            self.key,
            if self.key_trusted_on_first_use {
                " (trusted on first use: compare it with one the issuer publishes elsewhere)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "checkpoint {} entries, root {}: the signature, every entry bundle and every tile check out",
            self.size, self.root
        );
        if !self.cosigned_by.is_empty() {
            let by: Vec<String> = self
                .cosigned_by
                .iter()
                .map(|c| format!("{} (at {})", c.witness, utc_time(c.timestamp)))
                .collect();
            let _ = writeln!(s, "cosigned   by {}", by.join(", "));
        }
        match &self.previous {
            Some(p) => {
                let _ = writeln!(
                    s,
                    "consistent with the checkpoint seen before ({} entries): {} new",
                    p.size,
                    self.size - p.size.min(self.size)
                );
            }
            None => {
                let _ = writeln!(s, "first run: no earlier checkpoint to compare with");
            }
        }
        let line = |s: &mut String, name: &str, c: &Counts| {
            let _ = writeln!(
                s,
                "  {name:<40} {:>8} {:>8} {:>9} {:>10} {:>6}",
                c.issued, c.revoked, c.suspended, c.reinstated, c.cards
            );
        };
        let head = |s: &mut String, title: &str| {
            let _ = writeln!(
                s,
                "\n{title:<42} {:>8} {:>8} {:>9} {:>10} {:>6}",
                "issued", "revoked", "suspended", "reinstated", "cards"
            );
        };
        head(&mut s, "totals");
        line(&mut s, "all entries", &self.totals);
        line(&mut s, "new since the last run", &self.new);
        head(&mut s, "by achievement");
        for (a, c) in &self.by_achievement {
            line(&mut s, a, c);
        }
        head(&mut s, "by day (UTC)");
        for (d, c) in &self.by_day {
            line(&mut s, d, c);
        }
        if !self.status_without_issuance.is_empty() {
            let shown: Vec<&str> = self
                .status_without_issuance
                .iter()
                .take(20)
                .map(String::as_str)
                .collect();
            let _ = writeln!(
                s,
                "\n{} status change(s) of credentials the log has no issuance of: {}{}",
                self.status_without_issuance.len(),
                shown.join(", "),
                if self.status_without_issuance.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            );
        }
        if !self.cards_without_issuance.is_empty() {
            let shown: Vec<&str> = self
                .cards_without_issuance
                .iter()
                .take(20)
                .map(String::as_str)
                .collect();
            let _ = writeln!(
                s,
                "\n{} card(s) issued for badges the log has no issuance of: {}{}",
                self.cards_without_issuance.len(),
                shown.join(", "),
                if self.cards_without_issuance.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            );
        }
        s
    }
}

#[cfg(test)]
mod tests;
