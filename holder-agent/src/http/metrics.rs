//! The wallet's Prometheus endpoint, `GET /metrics` on `WALLET_METRICS_LISTEN` alone (the
//! public listener has no such route): the process, the requests per route, the account
//! emails' outbox (this instance's deliveries, the shared table's depth) and the database
//! pools.

use axum::Router;
use kit::metrics::Exposition;

use crate::App;
use crate::store::MAIL_OUTBOX;

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
    kit::metrics::write_process(&mut exp, "holder-agent");
    app.metrics.http.write(&mut exp);
    let depth = match MAIL_OUTBOX.depth(&app.store.db).await {
        Ok(depth) => Some(depth),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: reading the outbox depth failed");
            None
        }
    };
    app.metrics.outbox.write(&mut exp, "wallet", depth);
    kit::metrics::pool::write(&mut exp, &app.store.db);
    exp.finish()
}
