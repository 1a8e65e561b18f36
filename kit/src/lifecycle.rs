//! A service's life behind a load balancer: the probes every service answers (`GET /health`:
//! the process serves; `GET /ready`: it should be sent requests, i.e. its database answers
//! and it is not draining), the stop signals (SIGTERM, SIGINT) and the drain that follows
//! one: `/ready` turns 503 at once, the listener stays open for the drain period so the
//! balancer's health checks see it and stop sending, then axum's graceful shutdown finishes
//! the requests in flight.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::db::Db;

/// How long `/ready` waits for the database before it answers 503.
pub const READY_DB_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether the service is draining (stop signal received): shared by the probes and the
/// shutdown future.
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    draining: Arc<AtomicBool>,
}

impl Readiness {
    /// From now on `/ready` answers 503 `draining`.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// Why `/ready` answered 503.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    #[error("draining: a stop signal was received, the service is finishing its requests")]
    Draining,
    #[error("the database did not answer within {0:?}")]
    DatabaseTimeout(Duration),
    #[error("the database refused a query: {0}")]
    Database(String),
}

/// Whether the service is ready: not draining, and its database answers `SELECT 1` within
/// [`READY_DB_TIMEOUT`].
pub async fn ready(db: &Db, readiness: &Readiness) -> Result<(), NotReady> {
    if readiness.is_draining() {
        return Err(NotReady::Draining);
    }
    match tokio::time::timeout(READY_DB_TIMEOUT, db.ping()).await {
        Err(_) => Err(NotReady::DatabaseTimeout(READY_DB_TIMEOUT)),
        Ok(Err(e)) => Err(NotReady::Database(e.to_string())),
        Ok(Ok(())) => Ok(()),
    }
}

/// The routes `GET /health` and `GET /ready`, to merge into a service's router. Both answer
/// JSON (`{"status": "ok"}`, or 503 `{"status": "unavailable", "reason": …}`), never
/// cached.
pub fn probes(db: Db, readiness: Readiness) -> Router {
    Router::new()
        .route("/health", get(|| async { probe(Ok(())) }))
        .route(
            "/ready",
            get(move || {
                let (db, readiness) = (db.clone(), readiness.clone());
                async move { probe(ready(&db, &readiness).await) }
            }),
        )
}

fn probe(result: Result<(), NotReady>) -> Response {
    let mut r = match result {
        Ok(()) => (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unavailable", "reason": e.to_string()})),
        )
            .into_response(),
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Resolves on SIGTERM (what service managers and `kill` send) or SIGINT (Ctrl-C): the stop
/// signal of a service run from its command line.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `stop`, then the drain: marks `readiness` draining and waits `drain` before resolving
/// (the shutdown future given to axum, which then closes the listener and finishes the
/// requests in flight).
pub async fn drain_after(
    stop: impl Future<Output = ()> + Send + 'static,
    readiness: Readiness,
    drain: Duration,
) {
    stop.await;
    readiness.start_draining();
    if !drain.is_zero() {
        tracing::info!(
            seconds = drain.as_secs(),
            "stop signal: draining (/ready answers 503), then finishing open requests"
        );
        tokio::time::sleep(drain).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite(dir: &std::path::Path) -> Db {
        static NONE: sqlx::migrate::Migrator = sqlx::migrate::Migrator::DEFAULT;
        let migrations = crate::db::Migrations {
            sqlite: &NONE,
            postgres: &NONE,
        };
        let url = format!("sqlite://{}/probe.db", dir.display());
        Db::connect(&url, &migrations, None).await.unwrap()
    }

    #[tokio::test]
    async fn ready_until_draining_then_not() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(dir.path()).await;
        let readiness = Readiness::default();
        assert_eq!(ready(&db, &readiness).await, Ok(()));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let stopped = tokio::spawn(drain_after(
            async move {
                let _ = rx.await;
            },
            readiness.clone(),
            Duration::from_millis(50),
        ));
        assert_eq!(ready(&db, &readiness).await, Ok(()));
        tx.send(()).unwrap();
        // Draining begins at the signal, before the drain period is over.
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(ready(&db, &readiness).await, Err(NotReady::Draining));
        assert!(!stopped.is_finished(), "the drain period is still running");
        stopped.await.unwrap();
    }

    #[tokio::test]
    async fn a_closed_database_is_not_ready() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(dir.path()).await;
        db.close().await;
        let e = ready(&db, &Readiness::default()).await.unwrap_err();
        assert!(matches!(e, NotReady::Database(_)), "{e:?}");
    }
}
