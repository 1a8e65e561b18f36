//! The issuer's Prometheus endpoint, `GET /metrics` on `ISSUER_METRICS_LISTEN` alone (the
//! public listener has no such route): the process, the requests per route, credentials
//! issued by format, status changes, the outbox (this instance's deliveries, the shared
//! table's depth) and the database pools.

use axum::Router;
use kit::metrics::Exposition;

use crate::App;
use crate::store::OUTBOX;

/// The metrics listener's router.
pub fn router(app: App) -> Router {
    kit::metrics::router(move || {
        let app = app.clone();
        async move { render(&app).await }
    })
}

/// One scrape's text.
pub async fn render(app: &App) -> String {
    let mut exp = Exposition::new();
    kit::metrics::write_process(&mut exp, "issuer-agent");
    app.metrics.http.write(&mut exp);
    app.metrics.issued.write(
        &mut exp,
        "akashi_issuer_credentials_issued_total",
        "Credentials issued, by format (each credential of a batch counts).",
    );
    app.metrics.status_changes.write(
        &mut exp,
        "akashi_issuer_status_changes_total",
        "Badge status changes (revocations, suspensions, reinstatements), by the status set.",
    );
    let depth = match OUTBOX.depth(&app.store.db).await {
        Ok(depth) => Some(depth),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: reading the outbox depth failed");
            None
        }
    };
    app.metrics.outbox.write(&mut exp, "issuer", depth);
    kit::metrics::pool::write(&mut exp, &app.store.db);
    exp.finish()
}
