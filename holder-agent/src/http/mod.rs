//! The wallet's web layer: the JSON API ([`api`]) and the pages people use ([`pages`]).
//! Handlers parse, make one domain call and respond; [`error`] is the one place that turns
//! the wallet's errors into HTTP responses.

pub mod api;
pub mod error;
pub mod metrics;
pub mod pages;

use axum::Router;

use crate::App;

pub fn router(app: App) -> Router {
    Router::new()
        .merge(api::router())
        .merge(pages::router())
        .merge(pages::present::router())
        .merge(pages::card::router())
        .route(
            crate::wallet::provider_x509::DEV_CA_PATH,
            axum::routing::get(provider_dev_ca),
        )
        .fallback(pages::unknown_route)
        .with_state(app)
}

/// The wallet provider's development CA (PEM), for the issuers that should trust this
/// wallet's key attestations (`ISSUER_KEY_ATTESTATION_X509_ANCHORS`); 404 without one.
async fn provider_dev_ca(
    axum::extract::State(app): axum::extract::State<App>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match app.provider_x509.as_ref().and_then(|x| x.dev_ca_pem()) {
        Some(pem) => (
            [(axum::http::header::CONTENT_TYPE, "application/x-pem-file")],
            pem,
        )
            .into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, "no development CA\n").into_response(),
    }
}
