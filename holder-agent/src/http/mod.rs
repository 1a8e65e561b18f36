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
        .fallback(pages::unknown_route)
        .with_state(app)
}
