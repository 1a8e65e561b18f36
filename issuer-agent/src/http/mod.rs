//! Routes. Handlers parse, make one domain call and respond; errors map in
//! [`crate::error`].

mod admin;
mod oid4vci;
mod public;
mod registrations;
mod well_known;

use axum::Router;
use axum::routing::{get, post, put};

use crate::App;

pub fn router(app: App) -> Router {
    Router::new()
        .route(
            "/.well-known/openid-credential-issuer",
            get(well_known::credential_issuer),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(well_known::authorization_server),
        )
        .route("/.well-known/jwt-vc-issuer", get(well_known::jwt_vc_issuer))
        .route("/.well-known/did.json", get(well_known::did_document))
        .route("/vct/open-badge-v3", get(well_known::type_metadata))
        .route("/offers/{id}", get(oid4vci::offer))
        .route("/token", post(oid4vci::token))
        .route("/nonce", post(oid4vci::nonce))
        .route("/credential", post(oid4vci::credential))
        .route("/notification", post(oid4vci::notification))
        .route("/status/{list}", get(oid4vci::status_list))
        .route(
            "/status/{list}/{purpose}",
            get(oid4vci::bitstring_status_list),
        )
        .route(
            "/admin/achievements",
            post(admin::create_achievement).get(admin::list_achievements),
        )
        .route(
            "/admin/achievements/{id}",
            get(admin::achievement).patch(admin::update_achievement),
        )
        .route(
            "/admin/achievements/{id}/retire",
            post(admin::retire_achievement),
        )
        .route(
            "/admin/achievements/{id}/image",
            put(admin::put_achievement_image).layer(axum::extract::DefaultBodyLimit::max(
                crate::domain::images::MAX_IMAGE_BYTES + 1,
            )),
        )
        .route("/achievements/{id}", get(public::achievement))
        .route("/achievements/{id}/image", get(public::image))
        .route("/admin/offers", post(admin::create_offer))
        .route("/admin/offers/{id}", get(admin::offer))
        .route("/admin/credentials/{id}/status", post(admin::set_status))
        .route("/admin/audit", get(admin::audit))
        .route(
            "/admin/achievements/{id}/registrations",
            post(registrations::register),
        )
        .route("/admin/imports", post(registrations::import))
        .route("/admin/registrations", get(registrations::list))
        .route("/admin/registrations/{id}", get(registrations::show))
        .route(
            "/admin/registrations/{id}/resend",
            post(registrations::resend),
        )
        .route("/admin/outbox", get(registrations::outbox))
        .route("/invitations/callback", post(registrations::callback))
        .route("/dev/mailbox", get(registrations::mailbox))
        .route("/dev/mailbox/{id}", get(registrations::mailbox_message))
        .with_state(app)
}
