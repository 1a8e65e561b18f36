//! Akashi verifier: an OpenID4VP 1.0 verifier for Open Badges presented as SD-JWT VC
//! (`dc+sd-jwt`).
//!
//! It creates presentation requests from a DCQL query or the Open Badge template, shows
//! them as `openid4vp://` links and QR codes, serves the signed request object
//! (`client_id` `decentralized_identifier:<did:web>`), accepts the wallet's `direct_post`
//! response once, verifies it check by check ([`protocol::verify`]) and reports every check
//! and its outcome on the result endpoint.
//!
//! The service is a library: [`serve`] runs it on any listener, so the one-command launcher
//! and the end-to-end tests start it in-process on port 0.
//!
//! Layers, each using only the ones below it: [`http`] (routes, pages, sessions and CSRF,
//! and the one mapping of errors to HTTP in [`http::error`]) -> [`domain`] (areas held by
//! [`App`]: `app.requests`, `app.templates`, `app.webhooks`, `app.badge_check`; errors
//! in [`error`]) -> [`store`]. [`app`] wires them up; [`cli`] and [`config`] are the
//! command line. Pages are askama templates (`templates/`) with their style and scripts
//! in `static/`.

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod metrics;
pub mod store;

use tokio::net::TcpListener;

pub use app::{App, Inner, Startup, TOKEN_MAX_FAILURES, TOKEN_WINDOW};
pub use config::Config;
pub use domain::requests::{
    CreatedRequest, Disclose, RequestResult, RequestSpec, ResultState, Template,
};

/// How often due webhook retries are looked for.
const WEBHOOK_TICK: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs the verifier on `listener` until `shutdown` resolves.
///
/// Meanwhile, once a minute, requests whose results are older than the retention
/// (`result_ttl` after they expired) and desk sessions past their end are deleted, and
/// every few seconds due webhook deliveries are retried.
///
/// Its metrics are served on `VERIFIER_METRICS_LISTEN` when that is set.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let metrics = kit::serve::listen_metrics(app.config.service.metrics_listen.as_deref()).await?;
    serve_with(app, listener, metrics, shutdown).await
}

/// [`serve`] with the metrics listener bound by the caller (`None`: no metrics endpoint,
/// and requests are not counted).
pub async fn serve_with(
    app: App,
    listener: TcpListener,
    metrics: Option<TcpListener>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let janitor = kit::serve::spawn_every(std::time::Duration::from_secs(60), {
        let app = app.clone();
        move || {
            let app = app.clone();
            async move {
                if let Err(e) = app.requests.purge_expired().await {
                    tracing::warn!(error = %e, "deleting expired results failed");
                }
                if let Err(e) = app.purge_expired_desk_sessions().await {
                    tracing::warn!(error = %e, "deleting expired desk sessions failed");
                }
            }
        }
    });
    let webhooks = kit::serve::spawn_every(WEBHOOK_TICK, {
        let app = app.clone();
        move || {
            let app = app.clone();
            async move {
                if let Err(e) = app.webhooks.deliver_due().await {
                    tracing::warn!(error = %e, "webhook deliveries failed");
                }
            }
        }
    });
    // Results stored by other instances sharing the database wake this one's desk pages.
    let results = tokio::spawn({
        let (store, results) = (app.store.clone(), app.results.clone());
        async move { store.listen_results(results).await }
    });
    // `/health` and `/ready` beside the service's routes (counted like them), the drain on
    // the stop signal, and the client address behind the configured proxies.
    let service = app.config.service.clone();
    let readiness = kit::lifecycle::Readiness::default();
    let routes = |app: App| {
        let probes = kit::lifecycle::probes(app.store.db.clone(), readiness.clone());
        http::router(app).merge(probes)
    };
    let (router, metrics) = match metrics {
        Some(metrics) => (
            kit::metrics::http::observe(routes(app.clone()), &app.metrics.http),
            Some(kit::serve::spawn_metrics(
                http::metrics::router(app),
                metrics,
            )),
        ),
        None => (routes(app), None),
    };
    let router = kit::serve::behind_proxies(router, &service.trusted_proxies);
    let shutdown = kit::lifecycle::drain_after(
        shutdown,
        readiness,
        std::time::Duration::from_secs(service.drain_seconds),
    );
    let served = kit::serve::serve(router, listener, shutdown).await;
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    janitor.abort();
    webhooks.abort();
    results.abort();
    served
}
