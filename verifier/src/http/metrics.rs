//! The verifier's Prometheus endpoint, `GET /metrics` on `VERIFIER_METRICS_LISTEN` alone
//! (the public listener has no such route): the process, the requests per route,
//! presentations by verdict and the database pools.

use axum::Router;
use kit::metrics::Exposition;

use crate::App;

/// The metrics listener's router.
pub fn router(app: App) -> Router {
    kit::metrics::router(move || {
        let app = app.clone();
        async move { render(&app) }
    })
}

/// One scrape's text.
pub fn render(app: &App) -> String {
    let mut exp = Exposition::new();
    kit::metrics::write_process(&mut exp, "verifier");
    app.metrics.http.write(&mut exp);
    app.metrics.presentations.write(
        &mut exp,
        "akashi_verifier_presentations_total",
        "Responses received at the OpenID4VP Response Endpoint, by verdict (refused: unknown state, replay or late, not verified).",
    );
    kit::metrics::pool::write(&mut exp, &app.store.db);
    exp.finish()
}
