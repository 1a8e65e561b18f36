//! The transparency log over HTTP, as C2SP tlog-tiles says: `GET /log/checkpoint` (the
//! signed checkpoint, mutable: cached for seconds) and `GET /log/tile/…` (tiles and entry
//! bundles; full ones immutable, cached for a year); and `GET /log/key`, the log's
//! verifier key in Go's note form, for monitors to pin on first use (trust in it must
//! come from elsewhere: whoever serves the log can serve another key). And
//! `GET /log/proof/{digest}[?old=N]`: a badge's entry with its inclusion proof against the
//! current checkpoint, keyed by the base64url SHA-256 of the badge's issuer-signed JWT (what
//! wallets and verifiers hold; `protocol::tlog::proof`), with a consistency proof from the
//! size `old` the client saw last.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::App;
use crate::error::AppError;
use crate::http::openapi::{METADATA, Problem};
use protocol::tlog::proof::LogProof;

/// `GET /log/checkpoint`.
#[utoipa::path(get, path = "/log/checkpoint", tag = METADATA,
    responses((status = 200, description = "The log's signed checkpoint (C2SP tlog-checkpoint, a C2SP signed note)", body = String, content_type = "text/plain")))]
pub async fn checkpoint(State(app): State<App>) -> Result<Response, AppError> {
    let note = app.tlog.checkpoint(&app.store).await?;
    let mut r = note.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=5"),
    );
    Ok(r)
}

/// `GET /log/tile/{path}`: `tile/<L>/<N>[.p/<W>]`, Go's `tile/8/<L>/<N>[.p/<W>]`, or
/// `tile/entries/<N>[.p/<W>]`.
pub async fn tile(State(app): State<App>, Path(path): Path<String>) -> Result<Response, AppError> {
    let body = app.tlog.tile(&app.store, &format!("tile/{path}")).await?;
    let mut r = body.bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if body.immutable {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=60"
        }),
    );
    Ok(r)
}

/// `GET /log/key`.
#[utoipa::path(get, path = "/log/key", tag = METADATA,
    responses((status = 200, description = "The log's verifier key in Go's note form (`<origin>+<key id>+<base64 key>`)", body = String, content_type = "text/plain")))]
pub async fn key(State(app): State<App>) -> Response {
    let mut r = format!("{}\n", app.tlog.verifier().to_vkey()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The query of `GET /log/proof/{digest}`.
#[derive(Debug, serde::Deserialize)]
pub struct ProofQuery {
    /// The tree size the client saw last: a consistency proof from it is included.
    pub old: Option<u64>,
}

/// `GET /log/proof/{digest}`.
#[utoipa::path(get, path = "/log/proof/{digest}", tag = METADATA,
    params(("digest" = String, Path, description = "base64url SHA-256 of the badge's issuer-signed JWT (the compact text before the first `~`)"),
        ("old" = Option<u64>, Query, description = "The tree size the client saw last: a consistency proof from it is included when the log has at least that many entries")),
    responses((status = 200, description = "The badge's log entry, the current signed checkpoint, the inclusion proof (RFC 9162 §2.1.3) and the consistency proof from `old` (§2.1.4)", body = LogProof),
        (status = 400, description = "`old` is not a number"),
        (status = 404, description = "No issued credential with this digest is logged", body = Problem, content_type = "application/problem+json")))]
pub async fn proof(
    State(app): State<App>,
    Path(digest): Path<String>,
    Query(q): Query<ProofQuery>,
) -> Result<Response, AppError> {
    let proof = app.tlog.proof(&app.store, &digest, q.old).await?;
    let mut r = Json(proof).into_response();
    // The proof is against the checkpoint of the moment: as mutable as the checkpoint.
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=5"),
    );
    Ok(r)
}
