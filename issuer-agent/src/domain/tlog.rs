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
use protocol::tlog::merkle;
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
        let size = store.tlog_size().await?;
        if let Some((s, _, note)) = self.last.lock().await.as_ref()
            && *s == size
        {
            return Ok(note.clone());
        }
        let leaves = Self::leaves(store, size).await?;
        self.signed(&leaves).await
    }

    /// The leaf hashes of the tree of `size`.
    async fn leaves(store: &Store, size: u64) -> Result<Vec<Hash>, AppError> {
        let leaves = store.tlog_leaf_hashes(0, size).await?;
        if leaves.len() as u64 != size {
            return Err(AppError::Internal(format!(
                "log has {} entries below its size {size}",
                leaves.len()
            )));
        }
        Ok(leaves)
    }

    /// The signed checkpoint of the tree of `leaves` (the last one again if the same tree:
    /// a proof must lead to the root of the very leaves it was computed from).
    async fn signed(&self, leaves: &[Hash]) -> Result<String, AppError> {
        let size = leaves.len() as u64;
        let root = merkle::root(leaves);
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
        let note = self.cosigned(note, leaves).await;
        *last = Some((size, root, note.clone()));
        Ok(note)
    }

    /// `note` with the cosignature of each witness that gives one (C2SP tlog-witness); a
    /// witness that refuses or cannot be reached is logged and left out.
    async fn cosigned(&self, mut note: String, leaves: &[Hash]) -> String {
        let Some(http) = &self.witness_http else {
            return note;
        };
        let mut lines = String::new();
        for w in &self.witnesses {
            match w.cosign(http, &note, leaves).await {
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
    /// Every proof is computed from all the leaf hashes (one query, 32 bytes per entry).
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
        let size = store.tlog_size().await?;
        let leaves = Self::leaves(store, size).await?;
        let checkpoint = self.signed(&leaves).await?;
        let entry = store
            .tlog_entries(index, index + 1)
            .await?
            .pop()
            .ok_or_else(|| AppError::Internal(format!("log entry {index} is missing")))?;
        let entry = String::from_utf8(entry)
            .map_err(|_| AppError::Internal(format!("log entry {index} is not UTF-8")))?;
        let inclusion = merkle::inclusion_proof(&leaves, index)
            .map_err(|e| AppError::Internal(format!("inclusion proof of {index}: {e}")))?;
        let consistency = match old_size {
            Some(old) if old > 0 && old <= size => Some(ConsistencyProof {
                old_size: old,
                proof: encode_hashes(
                    &merkle::consistency_proof(&leaves, old)
                        .map_err(|e| AppError::Internal(format!("consistency from {old}: {e}")))?,
                ),
            }),
            _ => None,
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
        let size = store.tlog_size().await?;
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
                let leaves: Vec<Hash> = store.tlog_leaf_hashes(start, end).await?;
                let shifted = Tile {
                    // The tile's hashes from the leaves it spans, as a tile at index 0.
                    index: 0,
                    ..t
                };
                shifted
                    .hashes(&leaves)
                    .map_err(|e| AppError::Internal(format!("tile {path}: {e}")))?
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
        leaves: &[Hash],
    ) -> Result<String, String> {
        let size = leaves.len() as u64;
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
                merkle::consistency_proof(leaves, old).map_err(|e| e.to_string())?
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
        let c = checkpoint::open(
            note.as_bytes(),
            log.origin(),
            std::slice::from_ref(log.verifier()),
        )
        .unwrap();
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
        let c2 = checkpoint::open(
            grown.as_bytes(),
            log.origin(),
            std::slice::from_ref(log.verifier()),
        )
        .unwrap();
        assert_eq!(c2.size, 301);
    }
}
