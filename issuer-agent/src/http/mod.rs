//! Routes. Handlers parse, make one domain call and respond; errors map in
//! [`crate::error`].

mod admin;
mod oid4vci;
mod well_known;

use axum::Router;
use axum::routing::{get, post};

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
        .route("/admin/offers", post(admin::create_offer))
        .route("/admin/offers/{id}", get(admin::offer))
        .route("/admin/credentials/{id}/status", post(admin::set_status))
        .route("/admin/audit", get(admin::audit))
        .with_state(app)
}
