//! The issuance transparency log (issue 19): every credential issued and every status
//! change is appended (see `store::tlog` for the sequencer), and the log is published as
//! a signed C2SP checkpoint and C2SP tiles (`protocol::tlog`).
//!
//! Issued credentials are appended after they are signed and before the response that
//! delivers them is sent, so a credential that reaches anyone is in the log (a crash in
//! between loses an undelivered credential, never an entry). Status changes are appended
//! in the transaction that makes them.

use protocol::keys::SigningKey;
use protocol::tlog::Hash;
use protocol::tlog::checkpoint::Checkpoint;
use protocol::tlog::entry::{Entry, StatusRef};
use protocol::tlog::merkle::Tree;
use protocol::tlog::note::{NoteSigner, NoteVerifier};
use protocol::tlog::proof::{ConsistencyProof, LogProof, encode_hashes};
use protocol::tlog::tile::{self, Tile, TileResource};
use protocol::tlog::witness::{AddCheckpoint, CosignatureVerifier, cosigned_by};
use tokio::sync::Mutex;

use crate::App;
use crate::error::AppError;
use crate::store::{CredentialRow, Store};

/// The id of the log's Ed25519 key in the issuer's key table (sealed like the others).
pub const LOG_KEY_ID: &str = "tlog-ed25519-1";

/// The log: its origin, its signing key, its witnesses and the last checkpoint signed.
pub struct Log {
    origin: String,
    signer: NoteSigner,
    /// The witnesses asked to cosign each new checkpoint (`ISSUER_WITNESSES`).
    witnesses: Vec<WitnessRef>,
    /// The client witnesses are reached with (guarded; loopback only when configured).
    witness_http: Option<kit::fetch::Fetcher>,
    /// The last checkpoint signed, with its size and root: served again while the log has
    /// not grown.
    last: Mutex<Option<(u64, Hash, String)>>,
    /// The log's Merkle tree with its complete subtrees, read from the store once and then
    /// extended by the entries appended since (by any instance): a proof, a checkpoint or a
    /// tile costs O(log² n) hashes, not a read and a hash of every leaf as it did (about
    /// 64 bytes of memory per entry).
    tree: std::sync::Mutex<Tree>,
    /// Held while the kept tree is read from the store, so that concurrent requests of a
    /// fresh process read the log once, not once each.
    growing: Mutex<()>,
}

/// A tile or entry bundle, with whether it can be cached for good.
#[derive(Debug)]
pub struct TileBody {
    pub bytes: Vec<u8>,
    /// Full tiles never change; a partial one is replaced by a wider one as the log grows.
    pub immutable: bool,
}

impl Log {
    /// The log of the issuer at `public_url` (origin: the URL without its scheme, then
    /// `/log`), signing with the Ed25519 `key`.
    pub fn new(public_url: &str, key: &SigningKey) -> Result<Log, AppError> {
        let origin = format!(
            "{}/log",
            public_url
                .trim_end_matches('/')
                .split_once("://")
                .map_or(public_url, |(_, rest)| rest)
        );
        let secret = key.to_secret_bytes();
        let seed: [u8; 32] = match secret.split_first() {
            Some((2, seed)) => seed
                .try_into()
                .map_err(|_| AppError::Internal("log key: not an Ed25519 seed".into()))?,
            _ => return Err(AppError::Internal("log key: not an Ed25519 key".into())),
        };
        let signer = NoteSigner::from_seed(&origin, &seed)
            .map_err(|e| AppError::Config(format!("log origin {origin:?}: {e}")))?;
        Ok(Log {
            origin,
            signer,
            witnesses: Vec::new(),
            witness_http: None,
            last: Mutex::new(None),
            tree: std::sync::Mutex::new(Tree::new()),
            growing: Mutex::new(()),
        })
    }

    /// Asks these witnesses (`<submission prefix>=<cosignature vkey>` each) to cosign each
    /// new checkpoint, through `http`.
    pub fn with_witnesses(
        mut self,
        specs: &[String],
        http: kit::fetch::Fetcher,
    ) -> Result<Log, AppError> {
        for spec in specs.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            let (url, key) = spec.split_once('=').ok_or_else(|| {
                AppError::Config(format!(
                    "ISSUER_WITNESSES entry {spec:?} is not <URL>=<witness key>"
                ))
            })?;
            let key = CosignatureVerifier::parse(key)
                .map_err(|e| AppError::Config(format!("ISSUER_WITNESSES key of {url}: {e}")))?;
            http.check_url(url)
                .map_err(|e| AppError::Config(format!("ISSUER_WITNESSES URL {url:?}: {e}")))?;
            self.witnesses.push(WitnessRef {
                url: url.trim_end_matches('/').to_owned(),
                key,
                size: std::sync::Mutex::new(0),
            });
        }
        self.witness_http = Some(http);
        Ok(self)
    }

    /// The checkpoint origin (also the key's name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The verifier key in Go's note form, for monitors and checkers.
    pub fn verifier(&self) -> &NoteVerifier {
        self.signer.verifier()
    }

    /// The entries of issued credentials: each as delivered, with its row.
    pub fn issued_entries(
        rows: &[CredentialRow],
        credentials: &[String],
        achievement: &str,
    ) -> Vec<Vec<u8>> {
        rows.iter()
            .zip(credentials)
            .map(|(row, credential)| {
                Entry::Issued {
                    digest: Entry::credential_digest(credential),
                    jwt: Entry::jwt_digest(credential),
                    status: StatusRef {
                        list: row.status_list,
                        index: row.status_idx,
                    },
                    achievement: achievement.to_owned(),
                    at: row.issued_at,
                }
                .to_bytes()
            })
            .collect()
    }

    /// The signed checkpoint of the log as it is now.
    pub async fn checkpoint(&self, store: &Store) -> Result<String, AppError> {
        let size = self.sync(store).await?;
        self.signed(size).await
    }

    /// Drops the kept tree: the next request reads it again from the store, as a restarted
    /// process does. (What an operator who rewrites the stored log under a running issuer
    /// would do to have it published; the journeys that play that operator call it.) Waits
    /// for a read of the tree in progress, which would otherwise put back what it read.
    pub async fn reload(&self) {
        let _no_reader = self.growing.lock().await;
        *self.tree() = Tree::new();
    }

    /// The kept tree, whatever a panicking holder left (every change to it is one push).
    fn tree(&self) -> std::sync::MutexGuard<'_, Tree> {
        self.tree
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The log's size now, with the kept tree brought to it: extended by the entries
    /// appended since (by any instance), or read again from the start when it disagrees
    /// with the store (a database restored from a backup, a log rolled back: the stored
    /// leaf at the tip, or the one the extension starts from, is not the kept one). One
    /// request at a time reads; the others wait for it, then find the tree ready.
    async fn sync(&self, store: &Store) -> Result<u64, AppError> {
        let (size, tip) = store.tlog_tip().await?;
        if self.fits(size, tip.as_ref()) {
            return Ok(size);
        }
        let _one_reader = self.growing.lock().await;
        if self.fits(size, tip.as_ref()) {
            return Ok(size);
        }
        let (have, last) = {
            let tree = self.tree();
            let have = tree.len();
            (have, have.checked_sub(1).and_then(|i| tree.leaf(i)))
        };
        // Extend from the last kept leaf, read again to check that the store still has it.
        if have < size
            && let Some(last) = last
        {
            let leaves = Self::read_leaves(store, have - 1, size).await?;
            if leaves[0] == last && leaves.last() == tip.as_ref() {
                let mut tree = self.tree();
                for leaf in &leaves[1..] {
                    tree.push(*leaf);
                }
                return Ok(size);
            }
        }
        let leaves = Self::read_leaves(store, 0, size).await?;
        if leaves.last() != tip.as_ref() {
            return Err(AppError::Internal(
                "the log's last entry changed while it was read".into(),
            ));
        }
        let mut tree = Tree::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        *self.tree() = tree;
        Ok(size)
    }

    /// Whether the kept tree has the stored log of `size` entries, whose last leaf is `tip`.
    fn fits(&self, size: u64, tip: Option<&Hash>) -> bool {
        match size.checked_sub(1) {
            None => true,
            Some(last) => self.tree().leaf(last).as_ref() == tip,
        }
    }

    /// The stored leaf hashes `[start, end)`, all of them.
    async fn read_leaves(store: &Store, start: u64, end: u64) -> Result<Vec<Hash>, AppError> {
        let leaves = store.tlog_leaf_hashes(start, end).await?;
        if leaves.len() as u64 != end - start {
            return Err(AppError::Internal(format!(
                "log has {} entries in {start}..{end}, below its size {end}",
                leaves.len()
            )));
        }
        Ok(leaves)
    }

    /// The signed checkpoint of the tree of the first `size` leaves, which the kept tree
    /// has (the last one again if the same tree: a proof must lead to the root of the very
    /// leaves it was computed from).
    async fn signed(&self, size: u64) -> Result<String, AppError> {
        let root = self
            .tree()
            .root(size)
            .map_err(|e| AppError::Internal(format!("log root of {size}: {e}")))?;
        let mut last = self.last.lock().await;
        if let Some((s, r, note)) = last.as_ref()
            && (*s, *r) == (size, root)
        {
            return Ok(note.clone());
        }
        let note = Checkpoint {
            origin: self.origin.clone(),
            size,
            root,
            extensions: vec![],
        }
        .sign(&self.signer)
        .map_err(|e| AppError::Internal(format!("signing the checkpoint: {e}")))?;
        let note = self.cosigned(note, size).await;
        *last = Some((size, root, note.clone()));
        Ok(note)
    }

    /// `note` with the cosignature of each witness that gives one (C2SP tlog-witness); a
    /// witness that refuses or cannot be reached is logged and left out.
    async fn cosigned(&self, mut note: String, size: u64) -> String {
        let Some(http) = &self.witness_http else {
            return note;
        };
        let mut lines = String::new();
        for w in &self.witnesses {
            match w.cosign(http, &note, self, size).await {
                Ok(line) => lines.push_str(&line),
                Err(e) => tracing::warn!(witness = %w.url, "no cosignature: {e}"),
            }
        }
        note.push_str(&lines);
        note
    }

    /// The proof that the credential whose issuer-signed JWT has base64url SHA-256
    /// `jwt_digest` is in the log: its entry, the checkpoint of the log as it is now, the
    /// inclusion proof, and the consistency proof from `old_size` when the log has at
    /// least that many entries (a client that saw more detects the rollback itself).
    ///
    /// The proofs come from the kept tree (O(log² n) hashes), extended first by the
    /// entries appended since it was last read.
    pub async fn proof(
        &self,
        store: &Store,
        jwt_digest: &str,
        old_size: Option<u64>,
    ) -> Result<LogProof, AppError> {
        let not_found = || AppError::NotFound("logged credential".into());
        // A digest is 43 base64url characters: anything else is no credential's.
        if jwt_digest.len() != 43
            || !jwt_digest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(not_found());
        }
        let index = store
            .tlog_issued_index(jwt_digest)
            .await?
            .ok_or_else(not_found)?;
        let size = self.sync(store).await?;
        let checkpoint = self.signed(size).await?;
        let entry = store
            .tlog_entries(index, index + 1)
            .await?
            .pop()
            .ok_or_else(|| AppError::Internal(format!("log entry {index} is missing")))?;
        let entry = String::from_utf8(entry)
            .map_err(|_| AppError::Internal(format!("log entry {index} is not UTF-8")))?;
        let (inclusion, consistency) = {
            let tree = self.tree();
            let inclusion = tree
                .inclusion_proof(index, size)
                .map_err(|e| AppError::Internal(format!("inclusion proof of {index}: {e}")))?;
            let consistency =
                match old_size {
                    Some(old) if old > 0 && old <= size => Some(ConsistencyProof {
                        old_size: old,
                        proof: encode_hashes(&tree.consistency_proof(old, size).map_err(|e| {
                            AppError::Internal(format!("consistency from {old}: {e}"))
                        })?),
                    }),
                    _ => None,
                };
            (inclusion, consistency)
        };
        Ok(LogProof {
            index,
            entry,
            checkpoint,
            key: self.verifier().to_vkey(),
            inclusion: encode_hashes(&inclusion),
            consistency,
        })
    }

    /// The tile or entry bundle at `path` (`tile/…`, C2SP or Go form), if the log has it.
    pub async fn tile(&self, store: &Store, path: &str) -> Result<TileBody, AppError> {
        let not_found = || AppError::NotFound("tile".into());
        let resource = TileResource::parse(path).map_err(|_| not_found())?;
        let (TileResource::Hashes(t) | TileResource::Entries(t)) = resource;
        let size = self.sync(store).await?;
        // The tile must exist in the tree: a full one, or a partial one no wider than the
        // tree's (any narrower partial tile is a tile of an earlier tree size).
        let have = Tile::in_tree(t.level, t.index, size).ok_or_else(not_found)?;
        if t.width > have.width {
            return Err(not_found());
        }
        let (start, end) = t.leaf_range().ok_or_else(not_found)?;
        let bytes = match resource {
            TileResource::Entries(_) => {
                let entries = store.tlog_entries(start, end).await?;
                tile::encode_bundle(entries.iter().map(Vec::as_slice))
                    .map_err(|e| AppError::Internal(format!("entry bundle: {e}")))?
            }
            TileResource::Hashes(_) => {
                // The tile's hashes are the kept subtrees of its height that it numbers.
                let first = t.index * tile::WIDTH;
                let height = 8 * u32::from(t.level);
                self.tree()
                    .nodes(height, first, first + u64::from(t.width))
                    .map(|nodes| nodes.concat())
                    .ok_or_else(|| AppError::Internal(format!("tile {path}: not in the tree")))?
            }
        };
        Ok(TileBody {
            bytes,
            immutable: t.is_full(),
        })
    }
}

/// A witness the log asks to cosign: its submission prefix, its key, and the size it
/// cosigned last as far as this process knows (a 409 tells the truth).
struct WitnessRef {
    url: String,
    key: CosignatureVerifier,
    size: std::sync::Mutex<u64>,
}

impl WitnessRef {
    /// One `add-checkpoint` exchange (again once, from the size a 409 names); the
    /// cosignature line, checked with the witness's key.
    async fn cosign(
        &self,
        http: &kit::fetch::Fetcher,
        note: &str,
        log: &Log,
        size: u64,
    ) -> Result<String, String> {
        let mut old = self.size.lock().map(|s| *s).unwrap_or(0);
        for _ in 0..2 {
            if old > size {
                return Err(format!(
                    "the witness cosigned a larger tree ({old} entries)"
                ));
            }
            let proof = if old == 0 {
                Vec::new()
            } else {
                log.tree()
                    .consistency_proof(old, size)
                    .map_err(|e| e.to_string())?
            };
            let body = AddCheckpoint {
                old,
                proof,
                checkpoint: note.to_owned(),
            }
            .to_body();
            let r = http
                .post_bytes(
                    &format!("{}/add-checkpoint", self.url),
                    "text/plain; charset=utf-8",
                    &[],
                    body.into_bytes(),
                )
                .await
                .map_err(|e| e.to_string())?;
            match r.status {
                200 => {
                    let text = String::from_utf8_lossy(&r.body);
                    let line = text
                        .lines()
                        .map(|l| format!("{l}\n"))
                        .find(|l| {
                            !cosigned_by(&format!("{note}{l}"), std::slice::from_ref(&self.key))
                                .is_empty()
                        })
                        .ok_or("the answer has no valid cosignature by the witness's key")?;
                    if let Ok(mut s) = self.size.lock() {
                        *s = size;
                    }
                    return Ok(line);
                }
                409 => {
                    old = String::from_utf8_lossy(&r.body)
                        .trim()
                        .parse()
                        .map_err(|_| "409 without the witness's size".to_owned())?;
                }
                status => return Err(format!("HTTP {status}: {}", r.snippet())),
            }
        }
        Err("the witness's size changed twice".into())
    }
}

impl App {
    /// The log entries of credentials just signed, and the digests of their issuer-signed
    /// JWTs, as [`crate::store::Store::issue_credentials`] appends them.
    pub(crate) fn log_of_issued(
        rows: &[CredentialRow],
        credentials: &[String],
        achievement: &str,
    ) -> (Vec<Vec<u8>>, Vec<Option<String>>) {
        let entries = Log::issued_entries(rows, credentials, achievement);
        let digests = credentials.iter().map(|c| Entry::jwt_digest(c)).collect();
        (entries, digests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::tlog::checkpoint;
    use protocol::tlog::merkle::{inclusion_proof, verify_inclusion};

    /// `note` opened as a checkpoint of `log`, its signature checked.
    fn opened(log: &Log, note: &str) -> checkpoint::Checkpoint {
        checkpoint::open(
            note.as_bytes(),
            log.origin(),
            std::slice::from_ref(log.verifier()),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn checkpoint_and_tiles_commit_to_the_stored_entries() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::tests::test_store(dir.path()).await;
        let key = SigningKey::generate(protocol::keys::Alg::EdDSA);
        let log = Log::new("https://issuer.example/", &key).unwrap();
        assert_eq!(log.origin(), "issuer.example/log");
        let entries: Vec<Vec<u8>> = (0..300u32).map(|i| i.to_be_bytes().to_vec()).collect();
        store.append_tlog(&entries, 1).await.unwrap();

        let note = log.checkpoint(&store).await.unwrap();
        let c = opened(&log, &note);
        assert_eq!(c.size, 300);
        let leaves: Vec<Hash> = entries
            .iter()
            .map(|e| protocol::tlog::leaf_hash(e))
            .collect();
        let proof = inclusion_proof(&leaves, 277).unwrap();
        verify_inclusion(&leaves[277], 277, 300, &proof, &c.root).unwrap();

        let full = log.tile(&store, "tile/0/000").await.unwrap();
        assert!(full.immutable);
        assert_eq!(full.bytes.len(), 8192);
        assert_eq!(&full.bytes[..32], &leaves[0]);
        let partial = log.tile(&store, "tile/8/0/001.p/44").await.unwrap();
        assert!(!partial.immutable);
        assert_eq!(&partial.bytes[32 * 43..], &leaves[299]);
        let narrower = log.tile(&store, "tile/0/001.p/10").await.unwrap();
        assert_eq!(narrower.bytes, partial.bytes[..320]);
        let level1 = log.tile(&store, "tile/1/000.p/1").await.unwrap();
        assert_eq!(level1.bytes, protocol::tlog::merkle::root(&leaves[..256]));
        let bundle = log.tile(&store, "tile/entries/001.p/44").await.unwrap();
        assert_eq!(tile::decode_bundle(&bundle.bytes).unwrap(), entries[256..]);

        // Tiles the tree does not have, and hostile paths.
        for path in [
            "tile/0/001.p/45",
            "tile/0/001",
            "tile/0/002.p/1",
            "tile/1/000",
            "tile/2/000.p/1",
            "tile/0/../000",
            "tile/entries/001",
        ] {
            assert!(
                matches!(log.tile(&store, path).await, Err(AppError::NotFound(_))),
                "{path} served"
            );
        }
        // The same checkpoint while the log has not grown; a new one when it has.
        assert_eq!(log.checkpoint(&store).await.unwrap(), note);
        store.append_tlog(&[b"one more".to_vec()], 2).await.unwrap();
        let grown = log.checkpoint(&store).await.unwrap();
        let c2 = opened(&log, &grown);
        assert_eq!(c2.size, 301);
    }

    /// Two instances on one database, each with its own kept tree, as the log grows under
    /// them: every proof either gives is checked from scratch against the checkpoint it
    /// carries, the consistency proof against the root of the leaves themselves.
    #[tokio::test]
    async fn proofs_from_the_kept_tree_hold_as_the_log_grows_under_two_instances() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::tests::test_store(dir.path()).await;
        let key = SigningKey::generate(protocol::keys::Alg::EdDSA);
        let (a, b) = (
            Log::new("https://issuer.example/", &key).unwrap(),
            Log::new("https://issuer.example/", &key).unwrap(),
        );
        let mut leaves: Vec<Hash> = Vec::new();
        let mut digests = Vec::new();
        let mut seen = 0u64;
        for round in 0..6u32 {
            // A few plain entries, then one credential's.
            let plain: Vec<Vec<u8>> = (0..round * 37)
                .map(|i| format!("entry {round} {i}").into_bytes())
                .collect();
            store.append_tlog(&plain, 1).await.unwrap();
            leaves.extend(plain.iter().map(|e| protocol::tlog::leaf_hash(e)));
            let entry = format!("credential {round}").into_bytes();
            let digest = protocol::b64::sha256(format!("jwt {round}"));
            let idx = store
                .append_tlog_credential(&entry, &digest, 1)
                .await
                .unwrap();
            assert_eq!(idx, leaves.len() as u64);
            leaves.push(protocol::tlog::leaf_hash(&entry));
            digests.push((digest, idx, entry));
            let size = leaves.len() as u64;
            for (log, old) in [(&a, Some(seen)), (&b, None)] {
                for (digest, idx, entry) in &digests {
                    let p = log.proof(&store, digest, old).await.unwrap();
                    let c = opened(log, &p.checkpoint);
                    assert_eq!(
                        (c.size, c.root),
                        (size, protocol::tlog::merkle::root(&leaves))
                    );
                    assert_eq!((p.index, p.entry.as_bytes()), (*idx, entry.as_slice()));
                    let path = protocol::tlog::proof::decode_hashes(&p.inclusion).unwrap();
                    verify_inclusion(&leaves[*idx as usize], *idx, size, &path, &c.root).unwrap();
                    match (old, p.consistency) {
                        (Some(old), Some(cons)) if old > 0 => {
                            assert_eq!(cons.old_size, old);
                            let hashes = protocol::tlog::proof::decode_hashes(&cons.proof).unwrap();
                            protocol::tlog::merkle::verify_consistency(
                                old,
                                size,
                                &protocol::tlog::merkle::root(&leaves[..old as usize]),
                                &c.root,
                                &hashes,
                            )
                            .unwrap();
                        }
                        (Some(0) | None, None) => {}
                        (old, cons) => panic!("asked from {old:?}, got {cons:?}"),
                    }
                }
            }
            seen = size;
        }
        // A digest the log does not have, and one that is no digest at all.
        let unknown = protocol::b64::sha256("never issued");
        assert!(matches!(
            a.proof(&store, &unknown, None).await,
            Err(AppError::NotFound(_))
        ));
        assert!(matches!(
            a.proof(&store, "../../etc", None).await,
            Err(AppError::NotFound(_))
        ));
    }

    /// The root of the stored leaves, read straight from the store.
    async fn stored_root(store: &Store) -> Hash {
        let size = store.tlog_size().await.unwrap();
        protocol::tlog::merkle::root(&store.tlog_leaf_hashes(0, size).await.unwrap())
    }

    async fn signed_root(log: &Log, store: &Store) -> (u64, Hash) {
        let note = log.checkpoint(store).await.unwrap();
        let c = opened(log, &note);
        (c.size, c.root)
    }

    /// Deletes the stored entries from `n` on and sets the log's size to `n`.
    async fn roll_back(store: &Store, n: i64) {
        kit::with_db_write!(&store.db, |pool| {
            sqlx::query("DELETE FROM tlog_entries WHERE idx >= $1")
                .bind(n)
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("UPDATE tlog_head SET size = $1 WHERE id = 1")
                .bind(n)
                .execute(pool)
                .await
                .unwrap();
        });
    }

    /// A database put back to an earlier state under a running issuer (restored from a
    /// backup, the last entries rolled back, then others in their place): the kept tree
    /// notices at the tip and is read again, so what the log signs is what the store holds.
    #[tokio::test]
    async fn the_kept_tree_follows_a_store_rolled_back_under_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::tests::test_store(dir.path()).await;
        let key = SigningKey::generate(protocol::keys::Alg::EdDSA);
        let log = Log::new("https://issuer.example/", &key).unwrap();
        let entries: Vec<Vec<u8>> = (0..20u32).map(|i| i.to_be_bytes().to_vec()).collect();
        store.append_tlog(&entries, 1).await.unwrap();
        assert_eq!(
            signed_root(&log, &store).await,
            (20, stored_root(&store).await)
        );

        // Rolled back by three: the kept tree's prefix still fits.
        roll_back(&store, 17).await;
        assert_eq!(
            signed_root(&log, &store).await,
            (17, stored_root(&store).await)
        );
        // Other entries in their place, as many: the tip differs, read again.
        let others = [b"x".to_vec(), b"y".to_vec(), b"z".to_vec()];
        store.append_tlog(&others, 2).await.unwrap();
        assert_eq!(
            signed_root(&log, &store).await,
            (20, stored_root(&store).await)
        );
        // One rolled back and two others: the extension's first leaf differs, read again.
        roll_back(&store, 19).await;
        let more = [b"other".to_vec(), b"more".to_vec()];
        store.append_tlog(&more, 3).await.unwrap();
        assert_eq!(
            signed_root(&log, &store).await,
            (21, stored_root(&store).await)
        );
        // Emptied, then one entry.
        roll_back(&store, 0).await;
        assert_eq!(
            signed_root(&log, &store).await,
            (0, protocol::tlog::merkle::empty_root())
        );
        store.append_tlog(&[b"first".to_vec()], 4).await.unwrap();
        assert_eq!(
            signed_root(&log, &store).await,
            (1, stored_root(&store).await)
        );
    }
}
