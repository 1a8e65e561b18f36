//! A minimal C2SP tlog-witness (<https://c2sp.org/tlog-witness>), `akashi witness`: it
//! serves `POST /add-checkpoint`, checks each checkpoint with the logs' keys and against the
//! checkpoint it cosigned last for that log (`protocol::tlog::witness`), and cosigns with
//! its own Ed25519 key. Its state, the latest checkpoint cosigned per log origin, is a JSON
//! file (mode 0600) replaced atomically before each answer, under one lock with the check,
//! so two requests never roll a log back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use protocol::tlog::proof::{decode_hashes, encode_hashes};
use protocol::tlog::witness::{
    AddCheckpoint, Latest, MAX_REQUEST_BYTES, SIZE_CONTENT_TYPE, Witness, WitnessError,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

/// Why the witness could not start or keep its state.
#[derive(Debug, thiserror::Error)]
pub enum WitnessStateError {
    #[error("witness state {path}: {reason}")]
    State { path: String, reason: String },
    #[error("witness key {path}: {reason}")]
    Key { path: String, reason: String },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    /// Per log origin: the size and root (standard base64) cosigned last.
    logs: BTreeMap<String, StoredLatest>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredLatest {
    size: u64,
    root: String,
}

/// The witness service: its key and logs, and its state file.
#[derive(Debug)]
pub struct WitnessService {
    witness: Witness,
    path: PathBuf,
    state: Mutex<Stored>,
    clock: protocol::clock::Clock,
}

impl WitnessService {
    /// The witness keeping its state in `path` (read if it exists).
    pub fn open(
        witness: Witness,
        path: &Path,
        clock: protocol::clock::Clock,
    ) -> Result<WitnessService, WitnessStateError> {
        let err = |reason: String| WitnessStateError::State {
            path: path.display().to_string(),
            reason,
        };
        let state = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Stored::default(),
            Err(e) => return Err(err(e.to_string())),
        };
        Ok(WitnessService {
            witness,
            path: path.to_owned(),
            state: Mutex::new(state),
            clock,
        })
    }

    pub fn witness(&self) -> &Witness {
        &self.witness
    }

    /// One `add-checkpoint`: the cosignature line, or the refusal.
    pub async fn add_checkpoint(&self, body: &[u8]) -> Result<String, AddError> {
        let request = AddCheckpoint::parse(body)?;
        let origin = Witness::origin_of(&request)?.to_owned();
        let mut state = self.state.lock().await;
        let latest = match state.logs.get(&origin) {
            Some(l) => Some(Latest {
                size: l.size,
                root: decode_hashes(std::slice::from_ref(&l.root))
                    .ok()
                    .and_then(|r| r.first().copied())
                    .ok_or_else(|| AddError::State(format!("root of {origin} is not a hash")))?,
            }),
            None => None,
        };
        let now = u64::try_from(self.clock.now()).unwrap_or(0);
        let (new, line) = self.witness.add_checkpoint(&request, latest, now)?;
        let previous = state.logs.insert(
            origin.clone(),
            StoredLatest {
                size: new.size,
                root: encode_hashes(&[new.root]).concat(),
            },
        );
        let json =
            serde_json::to_vec_pretty(&*state).map_err(|e| AddError::State(e.to_string()))?;
        if let Err(e) = protocol::private_files::write(&self.path, &json) {
            // Not persisted: not cosigned, and the state stays what the file says.
            match previous {
                Some(p) => state.logs.insert(origin, p),
                None => state.logs.remove(&origin),
            };
            return Err(AddError::State(e.to_string()));
        }
        Ok(line)
    }

    /// The router: `POST /add-checkpoint`.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/add-checkpoint", post(add_checkpoint))
            .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
            .with_state(self)
    }
}

/// Why a checkpoint was not cosigned.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error(transparent)]
    Refused(#[from] WitnessError),
    #[error("the witness could not keep its state: {0}")]
    State(String),
}

async fn add_checkpoint(State(w): State<Arc<WitnessService>>, body: Bytes) -> Response {
    let text = |status: StatusCode, content_type: &'static str, body: String| {
        let mut r = (status, body).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        r
    };
    match w.add_checkpoint(&body).await {
        Ok(line) => text(StatusCode::OK, "text/plain; charset=utf-8", line),
        Err(AddError::Refused(WitnessError::SizeConflict { latest, .. })) => text(
            StatusCode::CONFLICT,
            SIZE_CONTENT_TYPE,
            format!("{latest}\n"),
        ),
        Err(AddError::Refused(e)) => text(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            "text/plain; charset=utf-8",
            format!("{e}\n"),
        ),
        Err(e @ AddError::State(_)) => {
            tracing::error!("witness: {e}");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                "the witness could not keep its state\n".into(),
            )
        }
    }
}

/// The witness's Ed25519 seed from `path` (base64url), created mode 0600 when missing.
pub fn load_or_create_seed(path: &Path) -> Result<[u8; 32], WitnessStateError> {
    let err = |reason: String| WitnessStateError::Key {
        path: path.display().to_string(),
        reason,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => protocol::b64::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| err("not 32 bytes of base64url".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use std::io::Write;
            let text = protocol::b64::random(32);
            let seed: [u8; 32] = protocol::b64::decode(&text)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| err("random seed".into()))?;
            protocol::private_files::create_new(path)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .map_err(|e| err(e.to_string()))?;
            Ok(seed)
        }
        Err(e) => Err(err(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::tlog::checkpoint::Checkpoint;
    use protocol::tlog::note::NoteSigner;
    use protocol::tlog::witness::Cosigner;

    fn service(path: &Path, log: &NoteSigner) -> WitnessService {
        WitnessService::open(
            Witness {
                cosigner: Cosigner::from_seed("w.example/w", &[3; 32]).unwrap(),
                logs: vec![log.verifier().clone()],
            },
            path,
            protocol::clock::Clock::system(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn the_state_survives_a_restart_and_a_stale_size_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let log = NoteSigner::from_seed("log.example/log", &[1; 32]).unwrap();
        let note = Checkpoint {
            origin: "log.example/log".into(),
            size: 1,
            root: protocol::tlog::leaf_hash(b"one"),
            extensions: vec![],
        }
        .sign(&log)
        .unwrap();
        let w = service(&path, &log);
        let line = w
            .add_checkpoint(format!("old 0\n\n{note}").as_bytes())
            .await
            .unwrap();
        assert!(line.starts_with("\u{2014} w.example/w "), "{line}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Restarted, it remembers size 1: old 0 is stale (409 with the size).
        let w = service(&path, &log);
        assert!(matches!(
            w.add_checkpoint(format!("old 0\n\n{note}").as_bytes())
                .await,
            Err(AddError::Refused(WitnessError::SizeConflict {
                old: 0,
                latest: 1
            }))
        ));
        // A state it cannot write: refused, not cosigned, and not remembered.
        let other = NoteSigner::from_seed("other.example/log", &[2; 32]).unwrap();
        let gone = dir.path().join("missing-dir").join("state.json");
        let w = WitnessService::open(
            Witness {
                cosigner: Cosigner::from_seed("w.example/w", &[3; 32]).unwrap(),
                logs: vec![other.verifier().clone()],
            },
            &gone,
            protocol::clock::Clock::system(),
        )
        .unwrap();
        let note = Checkpoint {
            origin: "other.example/log".into(),
            size: 1,
            root: [0; 32],
            extensions: vec![],
        }
        .sign(&other)
        .unwrap();
        let body = format!("old 0\n\n{note}");
        assert!(matches!(
            w.add_checkpoint(body.as_bytes()).await,
            Err(AddError::State(_))
        ));
        assert!(matches!(
            w.add_checkpoint(body.as_bytes()).await,
            Err(AddError::State(_))
        ));
    }

    #[test]
    fn the_seed_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.key");
        let seed = load_or_create_seed(&path).unwrap();
        assert_eq!(load_or_create_seed(&path).unwrap(), seed);
        std::fs::write(&path, "short").unwrap();
        assert!(load_or_create_seed(&path).is_err());
    }
}
