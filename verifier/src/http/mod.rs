//! Routes. Handlers parse, make one domain call and respond; errors map in
//! [`crate::error`].

mod api;
mod oid4vp;

use axum::Router;
use axum::routing::{get, post};

use crate::App;

pub fn router(app: App) -> Router {
    Router::new()
        .route("/.well-known/did.json", get(oid4vp::did_document))
        .route(
            "/request/{id}",
            get(oid4vp::request_object).post(oid4vp::request_object_post),
        )
        .route("/response", post(oid4vp::response))
        .route("/api/requests", post(api::create_request))
        .route("/api/requests/{id}/result", get(api::result))
        .route("/api/requests/{id}/qr.svg", get(api::qr_svg))
        .route("/api/requests/{id}/qr.png", get(api::qr_png))
        .with_state(app)
}
