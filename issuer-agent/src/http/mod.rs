//! Routes. Handlers parse, make one domain call and respond; errors map in
//! [`crate::error`]. Every route but the development mailbox and the console's pages
//! (`console/`, HTML for people, not an API) is registered through
//! `utoipa_axum::routes!`, which takes its path and method from the handler's
//! `#[utoipa::path]`: the router and `GET /openapi.json` come from one list.

mod admin;
mod authorize;
mod bounces;
mod console;
pub mod error;
mod extract;
pub mod metrics;
mod oid4vci;
pub mod openapi;
mod public;
mod registrations;
mod tlog;
mod well_known;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;

/// The routes described by the OpenAPI document.
fn described() -> OpenApiRouter<App> {
    let image_upload = OpenApiRouter::new()
        .routes(routes!(admin::put_achievement_image))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::domain::images::MAX_IMAGE_BYTES + 1,
        ));
    let bounce_upload = OpenApiRouter::new()
        .routes(routes!(bounces::bounce))
        .layer(axum::extract::DefaultBodyLimit::max(bounces::BODY_LIMIT));
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(well_known::credential_issuer))
        .routes(routes!(well_known::authorization_server))
        .routes(routes!(well_known::jwt_vc_issuer))
        .routes(routes!(well_known::did_document))
        .routes(routes!(well_known::type_metadata))
        .routes(routes!(oid4vci::offer))
        .routes(routes!(oid4vci::token))
        .routes(routes!(authorize::par))
        .routes(routes!(authorize::authorize))
        .routes(routes!(authorize::callback))
        .routes(routes!(oid4vci::nonce))
        .routes(routes!(oid4vci::credential))
        .routes(routes!(oid4vci::deferred_credential))
        .routes(routes!(oid4vci::notification))
        .routes(routes!(oid4vci::status_list))
        .routes(routes!(oid4vci::status_lists))
        .routes(routes!(oid4vci::card))
        .routes(routes!(oid4vci::bitstring_status_list))
        .routes(routes!(oid4vci::did_bitstring_status_list))
        .routes(routes!(tlog::checkpoint))
        .routes(routes!(tlog::key))
        .routes(routes!(tlog::proof))
        .routes(routes!(admin::create_achievement, admin::list_achievements))
        .routes(routes!(admin::achievement, admin::update_achievement))
        .routes(routes!(admin::retire_achievement))
        .merge(image_upload)
        .routes(routes!(public::achievement))
        .routes(routes!(public::image))
        .routes(routes!(admin::create_offer))
        .routes(routes!(admin::offer))
        .routes(routes!(admin::approve_offer))
        .routes(routes!(admin::reject_offer))
        .routes(routes!(admin::set_status))
        .routes(routes!(admin::audit))
        .routes(routes!(registrations::register))
        .routes(routes!(registrations::import))
        .routes(routes!(registrations::list))
        .routes(routes!(registrations::show))
        .routes(routes!(registrations::resend))
        .routes(routes!(registrations::outbox))
        .routes(routes!(registrations::callback))
        .routes(routes!(bounces::open_invitation))
        .merge(bounce_upload)
}

/// The OpenAPI document of the issuer.
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
        .route("/x509/dev-ca.pem", get(well_known::dev_ca_pem))
        .route("/dev/mailbox", get(registrations::mailbox))
        .route("/dev/mailbox/{id}", get(registrations::mailbox_message))
        // The transparency log's tiles (C2SP tlog-tiles): a wildcard path, described in
        // the OpenAPI document by `openapi::finish`.
        .route("/log/tile/{*path}", get(tlog::tile))
        .merge(console::router())
        .with_state(app)
}
