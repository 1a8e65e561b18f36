//! The network behind the verification pipeline: issuer keys (JWT VC Issuer Metadata or
//! DID, through [`IssuerKeyResolver`]; X.509 trust anchors for `x5c`) and status lists, all fetched through the
//! guarded [`Fetcher`]: every URL comes from a credential a stranger presented. Issuers'
//! transparency logs too (`GET <iss>/log/proof/…`, `protocol::tlog::proof`), with the last
//! checkpoint seen per issuer kept in [`NetworkSources::checkpoints`].

use crate::fetch::Fetcher;
use protocol::issuer_key::IssuerKeyResolver;
use protocol::keys::Jwk;
use protocol::x509::TrustAnchors;

use std::sync::Arc;
use std::time::{Duration, Instant};

use protocol::cache::TtlCache;
use protocol::tlog::tile::Tile;
use protocol::tlog::tiled::TileHashes;

use protocol::tlog::proof::{LogProof, MAX_PROOF_BYTES, PROOF_PATH};
use protocol::verify::transparency::{CheckpointMemory, LogAnswer, WitnessPolicy};
use protocol::verify::{Resource, Sources};

/// The media type of a Status List Token (draft-ietf-oauth-status-list §5.1).
pub const STATUSLIST_JWT_MEDIA_TYPE: &str = "application/statuslist+jwt";

#[derive(Clone, Debug)]
pub struct NetworkSources {
    pub keys: IssuerKeyResolver,
    pub fetcher: Fetcher,
    /// The same guard with room for badge images and pages ([`RESOURCE_MAX_BYTES`]).
    pub resources: Fetcher,
    /// `VERIFIER_X509_TRUST_ANCHORS`: what an issuer's `x5c` chain must lead to.
    pub x509_anchors: TrustAnchors,
    /// The last checkpoint of each issuer's log seen (the `transparency` check).
    pub checkpoints: Arc<dyn CheckpointMemory>,
    /// The cosignatures a checkpoint must carry (`VERIFIER_WITNESSES`); `None`: none.
    pub witnesses: Option<Arc<WitnessPolicy>>,
    /// What is kept of issuers' logs read as C2SP tiles (a verifier proves a badge whose
    /// wallet names its entry from them); `None`: logs are only asked for proofs.
    pub log_reads: Option<Arc<LogReads>>,
}

/// Issuers' log checkpoints (a few seconds) and tiles (immutable: a full one for a day, a
/// partial one, which a growing log soon replaces, for a minute), bounded in number.
#[derive(Debug)]
pub struct LogReads {
    checkpoints: TtlCache<String, String, Instant>,
    tiles: TtlCache<(String, Tile), Arc<TileHashes>, Instant>,
}

impl Default for LogReads {
    fn default() -> Self {
        LogReads {
            checkpoints: TtlCache::new(LogReads::LOGS_MAX),
            tiles: TtlCache::new(LogReads::TILES_MAX),
        }
    }
}

impl LogReads {
    /// How long a checkpoint is used before it is fetched again: the verifier's view of a
    /// log is at most this old (a badge past its end makes it fetch at once).
    pub const CHECKPOINT_FOR: Duration = Duration::from_secs(5);
    /// Logs whose checkpoint is kept.
    pub const LOGS_MAX: usize = 1024;
    /// Tiles kept (a full one with its subtrees is about 16 KiB: at most 32 MiB).
    pub const TILES_MAX: usize = 2048;
    /// Largest checkpoint read (a signed note with a hundred cosignatures is under it), so
    /// the kept checkpoints take at most 16 MiB whatever the logs serve.
    pub const CHECKPOINT_MAX_BYTES: usize = 16 * 1024;
    const FULL_TILE_FOR: Duration = Duration::from_secs(24 * 3600);
    const PARTIAL_TILE_FOR: Duration = Duration::from_secs(60);
}

impl NetworkSources {
    /// `GET <log>/<name>` (`checkpoint`, `key`): small UTF-8 text, at most
    /// [`LogReads::CHECKPOINT_MAX_BYTES`]; `None` when the log serves none (404).
    async fn log_text(&self, log: &str, name: &str) -> Result<Option<String>, String> {
        let url = format!("{log}/{name}");
        match self.fetcher.get(&url, "text/plain").await {
            Ok(fetched) if fetched.body.len() > LogReads::CHECKPOINT_MAX_BYTES => Err(format!(
                "{url}: the {name} is {} bytes, more than {}",
                fetched.body.len(),
                LogReads::CHECKPOINT_MAX_BYTES
            )),
            Ok(fetched) => String::from_utf8(fetched.body.to_vec())
                .map(Some)
                .map_err(|_| format!("{url}: the {name} is not UTF-8 text")),
            Err(crate::fetch::FetchError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(format!("{url}: {e}")),
        }
    }
}

/// Largest badge image, badge page or Bitstring Status List credential read.
pub const RESOURCE_MAX_BYTES: usize = 2 * 1024 * 1024;

impl Sources for NetworkSources {
    async fn issuer_key(&self, iss: &str, kid: Option<&str>) -> Result<Jwk, String> {
        self.keys.resolve(iss, kid).await.map_err(|e| e.to_string())
    }

    async fn status_list_token(&self, uri: &str) -> Result<String, String> {
        let fetched = self
            .fetcher
            .get(uri, STATUSLIST_JWT_MEDIA_TYPE)
            .await
            .map_err(|e| e.to_string())?;
        let media_type = fetched
            .content_type
            .as_deref()
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase());
        if media_type.as_deref() != Some(STATUSLIST_JWT_MEDIA_TYPE) {
            return Err(format!(
                "Content-Type is {:?}, expected {STATUSLIST_JWT_MEDIA_TYPE}",
                fetched.content_type
            ));
        }
        String::from_utf8(fetched.body.to_vec())
            .map_err(|_| "the Status List Token is not UTF-8 text".to_owned())
    }

    async fn resource(&self, url: &str, accept: &str) -> Result<Resource, String> {
        match self.resources.get(url, accept).await {
            Ok(fetched) => Ok(Resource {
                status: fetched.status,
                media_type: fetched
                    .content_type
                    .as_deref()
                    .and_then(|c| c.split(';').next())
                    .map(|c| c.trim().to_ascii_lowercase()),
                body: fetched.body.to_vec(),
            }),
            Err(crate::fetch::FetchError::Status { status, .. }) => Ok(Resource {
                status,
                ..Resource::default()
            }),
            Err(e) => Err(e.to_string()),
        }
    }

    fn x509_anchors(&self) -> Option<&TrustAnchors> {
        Some(&self.x509_anchors)
    }

    fn checkpoints(&self) -> Option<&dyn CheckpointMemory> {
        Some(self.checkpoints.as_ref())
    }

    fn witness_policy(&self) -> Option<&WitnessPolicy> {
        self.witnesses.as_deref()
    }

    fn reads_log_tiles(&self) -> bool {
        self.log_reads.is_some()
    }

    async fn log_checkpoint(&self, log: &str, fresh: bool) -> Result<Option<String>, String> {
        let now = Instant::now();
        let kept = self.log_reads.as_ref().filter(|_| !fresh);
        if let Some(note) = kept.and_then(|r| r.checkpoints.get(log, now)) {
            return Ok(Some(note));
        }
        let Some(note) = self.log_text(log, "checkpoint").await? else {
            return Ok(None);
        };
        if let Some(reads) = &self.log_reads {
            let until = now + LogReads::CHECKPOINT_FOR;
            reads
                .checkpoints
                .put(log.to_owned(), note.clone(), until, now);
        }
        Ok(Some(note))
    }

    async fn log_key(&self, log: &str) -> Result<Option<String>, String> {
        self.log_text(log, "key").await
    }

    async fn log_tile(&self, log: &str, tile: Tile) -> Result<Arc<TileHashes>, String> {
        let now = Instant::now();
        let key = (log.to_owned(), tile);
        if let Some(hashes) = self.log_reads.as_ref().and_then(|r| r.tiles.get(&key, now)) {
            return Ok(hashes);
        }
        let fetched = self
            .fetcher
            .get(
                &format!("{log}/{}", tile.path()),
                "application/octet-stream",
            )
            .await
            .map_err(|e| e.to_string())?;
        let hashes = Arc::new(TileHashes::new(
            &tile
                .parse_hashes(&fetched.body)
                .map_err(|e| e.to_string())?,
        ));
        if let Some(reads) = &self.log_reads {
            let keep = if tile.is_full() {
                LogReads::FULL_TILE_FOR
            } else {
                LogReads::PARTIAL_TILE_FOR
            };
            reads.tiles.put(key, hashes.clone(), now + keep, now);
        }
        Ok(hashes)
    }

    fn forget_log_tiles(&self, log: &str) {
        if let Some(reads) = &self.log_reads {
            reads.tiles.remove_where(|(l, _)| l == log);
            reads.checkpoints.remove_where(|l| l == log);
        }
    }

    async fn log_proof(
        &self,
        log: &str,
        jwt_digest: &str,
        old_size: Option<u64>,
    ) -> Result<LogAnswer, String> {
        let mut url = format!("{log}/{PROOF_PATH}/{jwt_digest}");
        if let Some(old) = old_size {
            url.push_str(&format!("?old={old}"));
        }
        match self.fetcher.get(&url, "application/json").await {
            Ok(fetched) => {
                if fetched.body.len() > MAX_PROOF_BYTES {
                    return Err(format!(
                        "the proof is {} bytes, more than {MAX_PROOF_BYTES}",
                        fetched.body.len()
                    ));
                }
                let proof: LogProof = serde_json::from_slice(&fetched.body)
                    .map_err(|e| format!("the proof is not the expected JSON: {e}"))?;
                Ok(LogAnswer::Proof(Box::new(proof)))
            }
            // No entry for the badge, or no log at all: the checkpoint tells which.
            Err(crate::fetch::FetchError::Status { status: 404, .. }) => {
                match self
                    .fetcher
                    .get(&format!("{log}/checkpoint"), "text/plain")
                    .await
                {
                    Ok(_) => Ok(LogAnswer::NotLogged),
                    Err(crate::fetch::FetchError::Status { status: 404, .. }) => {
                        Ok(LogAnswer::NoLog)
                    }
                    Err(e) => Err(format!("{log}/checkpoint: {e}")),
                }
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::FetchPolicy;
    use protocol::did::DidResolver;
    use protocol::verify::transparency::InMemory;

    fn sources(policy: FetchPolicy) -> NetworkSources {
        let fetcher = Fetcher::new(policy).unwrap();
        NetworkSources {
            keys: IssuerKeyResolver::new(fetcher.clone(), DidResolver::new(fetcher.clone())),
            resources: fetcher.clone(),
            fetcher,
            x509_anchors: TrustAnchors::default(),
            checkpoints: Arc::new(InMemory::default()),
            witnesses: None,
            log_reads: Some(Arc::default()),
        }
    }

    /// The issuer's log is fetched through the guard: never plain http, never a private
    /// or loopback address, whatever URL a badge's issuer leads to.
    #[tokio::test]
    async fn log_proofs_go_through_the_guarded_fetcher() {
        let s = sources(FetchPolicy::default());
        let digest = protocol::b64::sha256("jwt");
        for (log, refused) in [
            ("http://issuer.example/log", "must use https"),
            ("https://127.0.0.1/log", "forbidden address"),
            ("https://169.254.169.254/log", "forbidden address"),
            ("https://10.0.0.1/log", "forbidden address"),
        ] {
            let e = s.log_proof(log, &digest, Some(3)).await.unwrap_err();
            assert!(e.contains(refused), "{log}: {e}");
        }
    }

    /// A log answering with more than a proof's worth of bytes is refused.
    #[tokio::test]
    async fn an_oversized_or_malformed_proof_is_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route(
                "/big/log/proof/{d}",
                axum::routing::get(|| async { "x".repeat(MAX_PROOF_BYTES + 1) }),
            )
            .route(
                "/bad/log/proof/{d}",
                axum::routing::get(|| async { "{\"index\": \"zero\"}" }),
            )
            .route(
                "/logged/log/checkpoint",
                axum::routing::get(|| async { "a checkpoint\n" }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let s = sources(FetchPolicy {
            allow_loopback: true,
            max_bytes: 1024 * 1024,
            ..FetchPolicy::default()
        });
        let digest = protocol::b64::sha256("jwt");
        let e = s
            .log_proof(&format!("{base}/big/log"), &digest, None)
            .await
            .unwrap_err();
        assert!(e.contains("more than 65536"), "{e}");
        let e = s
            .log_proof(&format!("{base}/bad/log"), &digest, None)
            .await
            .unwrap_err();
        assert!(e.contains("not the expected JSON"), "{e}");
        // No log at all: 404 on the proof and on the checkpoint.
        let answer = s
            .log_proof(&format!("{base}/none/log"), &digest, None)
            .await
            .unwrap();
        assert_eq!(answer, LogAnswer::NoLog);
        // A log without this badge: 404 on the proof, a checkpoint served.
        let answer = s
            .log_proof(&format!("{base}/logged/log"), &digest, None)
            .await
            .unwrap();
        assert_eq!(answer, LogAnswer::NotLogged);
    }

    /// Checkpoints are kept a few seconds (unless asked fresh), tiles until they expire or a
    /// failed proof drops them; a tile of the wrong size is refused; a log that is not
    /// there is `None`, not an error; and tiles, like proofs, go through the guard.
    #[tokio::test]
    async fn log_reads_are_kept_checked_and_guarded() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits: Arc<[AtomicUsize; 3]> = Arc::default();
        let (h1, h2, h3) = (hits.clone(), hits.clone(), hits.clone());
        let app = axum::Router::new()
            .route(
                "/log/checkpoint",
                axum::routing::get(move || async move {
                    h1[0].fetch_add(1, Ordering::SeqCst);
                    "a checkpoint\n"
                }),
            )
            .route(
                "/log/tile/0/000",
                axum::routing::get(move || async move {
                    h2[1].fetch_add(1, Ordering::SeqCst);
                    vec![7u8; 32 * 256]
                }),
            )
            .route(
                "/log/tile/0/001.p/3",
                axum::routing::get(move || async move {
                    h3[2].fetch_add(1, Ordering::SeqCst);
                    vec![7u8; 32 * 2]
                }),
            )
            .route("/log/key", axum::routing::get(|| async { "k+1+AAAA\n" }))
            .route(
                "/big/log/checkpoint",
                axum::routing::get(|| async { "x".repeat(LogReads::CHECKPOINT_MAX_BYTES + 1) }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let s = sources(FetchPolicy {
            allow_loopback: true,
            max_bytes: 1024 * 1024,
            ..FetchPolicy::default()
        });
        let log = format!("{base}/log");
        assert!(s.reads_log_tiles());
        for _ in 0..3 {
            let note = s.log_checkpoint(&log, false).await.unwrap();
            assert_eq!(note.as_deref(), Some("a checkpoint\n"));
        }
        assert_eq!(hits[0].load(Ordering::SeqCst), 1);
        s.log_checkpoint(&log, true).await.unwrap();
        assert_eq!(hits[0].load(Ordering::SeqCst), 2);

        let full = Tile {
            level: 0,
            index: 0,
            width: 256,
        };
        for _ in 0..3 {
            assert_eq!(s.log_tile(&log, full).await.unwrap().width(), 256);
        }
        assert_eq!(hits[1].load(Ordering::SeqCst), 1);
        s.forget_log_tiles(&log);
        s.log_tile(&log, full).await.unwrap();
        assert_eq!(hits[1].load(Ordering::SeqCst), 2);

        // Served with 2 hashes where its name says 3.
        let short = Tile {
            level: 0,
            index: 1,
            width: 3,
        };
        let e = s.log_tile(&log, short).await.unwrap_err();
        assert!(e.contains("96"), "{e}");

        assert_eq!(
            s.log_key(&log).await.unwrap().as_deref(),
            Some("k+1+AAAA\n")
        );
        let e = s
            .log_checkpoint(&format!("{base}/big/log"), false)
            .await
            .unwrap_err();
        assert!(e.contains("more than 16384"), "{e}");
        let none = format!("{base}/none/log");
        assert_eq!(s.log_checkpoint(&none, false).await.unwrap(), None);
        assert_eq!(s.log_key(&none).await.unwrap(), None);

        let guarded = sources(FetchPolicy::default());
        let e = guarded
            .log_tile("https://127.0.0.1/log", full)
            .await
            .unwrap_err();
        assert!(e.contains("forbidden address"), "{e}");
        let e = guarded
            .log_checkpoint("https://10.0.0.1/log", false)
            .await
            .unwrap_err();
        assert!(e.contains("forbidden address"), "{e}");
    }
}
