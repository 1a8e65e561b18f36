//! Routes. Handlers parse, make one domain call and respond; errors map to HTTP in
//! [`error`], once.
//!
//! - [`api`]: the verifier API (bearer token), described by [`openapi`];
//! - [`oid4vp`]: the OpenID4VP endpoints the wallet talks to;
//! - [`pages`]: the desk and the public `/check` page, with their web concerns:
//!   [`session`] (desk sessions), [`csrf`] (form tokens).

mod api;
pub mod csrf;
pub mod error;
pub mod metrics;
mod oid4vp;
pub mod openapi;
pub mod pages;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::pages::{check, desk, offline, request};
use crate::app::App;

/// The routes described by the OpenAPI document (the desk's pages are not).
fn described() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(oid4vp::did_document))
        .routes(routes!(oid4vp::request_object, oid4vp::request_object_post))
        .routes(routes!(oid4vp::response))
        .routes(routes!(api::create_request))
        .routes(routes!(api::result))
        .routes(routes!(api::save_template, api::templates))
        .routes(routes!(api::template, api::delete_template))
        .routes(routes!(api::qr_svg))
        .routes(routes!(api::qr_png))
        .routes(routes!(api::check_api))
}

/// The OpenAPI document of the verifier.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = described().split_for_parts();
    openapi::finish(&mut doc);
    doc
}

pub fn router(app: App) -> Router {
    let (router, mut doc) = described().split_for_parts();
    openapi::finish(&mut doc);
    let doc = Arc::new(doc);
    router
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .route(
            "/",
            get(|| async { axum::response::Redirect::to(pages::DESK_PATH) }),
        )
        .route("/x509/dev-ca.pem", get(oid4vp::dev_ca_pem))
        .route(pages::DESK_PATH, get(desk::desk))
        .route(pages::STYLE_PATH, get(pages::style))
        .route(pages::DESK_SCRIPT_PATH, get(request::script))
        .route("/desk/login", post(desk::login))
        .route("/desk/logout", post(desk::logout))
        .route("/desk/requests", post(desk::create))
        .route("/desk/requests/{id}", get(request::request_page))
        .route("/desk/requests/{id}/result", get(request::result_part))
        .route("/desk/requests/{id}/events", get(request::events))
        .route(
            "/desk/requests/{id}/dc-api",
            get(pages::dc_api::request).post(pages::dc_api::answer),
        )
        .route(
            &format!("{}/{{lang}}", pages::LANG_PATH),
            get(pages::switch::set_lang),
        )
        .route("/r/{id}", get(pages::answer::answer_page))
        .route("/r/{id}/qr.svg", get(pages::answer::qr_svg))
        .route(check::CHECK_PATH, get(check::page).post(check::submit))
        .route(check::CHECK_SCRIPT_PATH, get(check::script))
        .route(offline::OFFLINE_PATH, get(offline::page))
        .route(offline::OFFLINE_SCRIPT_PATH, get(offline::script))
        .route(offline::OFFLINE_WORKER_PATH, get(offline::worker))
        .route(offline::SNAPSHOT_PATH, get(offline::snapshot))
        .route(
            offline::VERIFY_PATH,
            post(offline::verify).layer(DefaultBodyLimit::max(offline::VERIFY_BODY_LIMIT)),
        )
        // Phone photos: the upload's own limit (a larger body gets a translated 413 page).
        .route(
            "/check/upload",
            post(check::upload).layer(DefaultBodyLimit::max(check::UPLOAD_BODY_LIMIT)),
        )
        .route(
            "/check/frame",
            post(check::frame).layer(DefaultBodyLimit::max(check::UPLOAD_BODY_LIMIT)),
        )
        .fallback(pages::no_such_page)
        // Error pages made without the request at hand are written in the reader's language.
        .layer(axum::middleware::from_fn(pages::localized_errors))
        .with_state(app)
}
