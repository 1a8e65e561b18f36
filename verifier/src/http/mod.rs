//! Routes. Handlers parse, make one domain call and respond; errors map in
//! [`crate::error`].

mod api;
mod oid4vp;
pub mod pages;

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
        .route(
            "/",
            get(|| async { axum::response::Redirect::to(pages::DESK_PATH) }),
        )
        .route(pages::DESK_PATH, get(pages::desk))
        .route("/desk/desk.js", get(pages::script))
        .route("/desk/login", post(pages::login))
        .route("/desk/logout", post(pages::logout))
        .route("/desk/requests", post(pages::create))
        .route("/desk/requests/{id}", get(pages::request_page))
        .route("/desk/requests/{id}/result", get(pages::result_part))
        .route("/desk/requests/{id}/events", get(pages::events))
        .with_state(app)
}
