//! The OpenAPI 3.1 document of the issuer, served at `GET /openapi.json`. Its paths come
//! from the `#[utoipa::path]` attributes of the handlers, registered in [`super::router`]
//! through `utoipa_axum::routes!`, so a route and its description cannot drift apart.

use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// The tag of the admin API.
pub const ADMIN: &str = "admin";
/// The tag of the OpenID4VCI protocol endpoints.
pub const PROTOCOL: &str = "oid4vci";
/// The tag of metadata and public documents.
pub const METADATA: &str = "metadata";

pub use kit::openapi::{OAuthError, Problem};

/// `GET /admin/achievements`.
#[derive(Serialize, ToSchema)]
pub struct AchievementList {
    pub achievements: Vec<crate::domain::achievements::AchievementView>,
}

/// An issued credential of an offer.
#[derive(Serialize, ToSchema)]
pub struct OfferCredential {
    pub id: String,
    /// The credential configuration (`openbadge_sd_jwt`, `openbadge_jwt_vc`, …).
    pub configuration: String,
    pub status_list: String,
    pub status_idx: i64,
    /// `valid`, `revoked` or `suspended`.
    pub status: String,
    pub issued_at: i64,
    pub expires_at: Option<i64>,
}

/// `GET /admin/offers/{id}`.
#[derive(Serialize, ToSchema)]
pub struct OfferState {
    pub offer_id: String,
    pub achievement_id: String,
    pub recipient_name: String,
    pub recipient_email: String,
    /// `offered`, `redeemed`, `issued` or `expired`.
    pub state: String,
    pub expires_at: i64,
    pub redeemed_at: Option<i64>,
    pub tx_code_failures: i64,
    /// The operator's decision when the achievement needs approval: `approved`,
    /// `rejected`, or none yet.
    pub decision: Option<String>,
    pub credentials: Vec<OfferCredential>,
}

/// The answer of `POST /admin/credentials/{id}/status`.
#[derive(Serialize, ToSchema)]
pub struct StatusSet {
    pub id: String,
    pub status: String,
    /// Every credential of the badge that now has this status (the same offer's other
    /// formats and batch keys), `id` first.
    pub credentials: Vec<String>,
}

/// One audit log entry.
#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub at: i64,
    pub action: String,
    pub subject: String,
    /// The entry's details (JSON when it was recorded as JSON).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// `GET /admin/audit`.
#[derive(Serialize, ToSchema)]
pub struct AuditLog {
    pub entries: Vec<AuditEntry>,
}

/// A registration in a list.
#[derive(Serialize, ToSchema)]
pub struct RegistrationItem {
    pub id: String,
    pub achievement_id: String,
    pub name: String,
    pub email: String,
    pub locale: String,
    pub created_at: i64,
    pub wallet_registered_at: Option<i64>,
}

/// `GET /admin/registrations`: a page; `next` is the `after` cursor of the next one.
#[derive(Serialize, ToSchema)]
pub struct RegistrationPage {
    pub registrations: Vec<RegistrationItem>,
    pub next: Option<String>,
}

/// `POST /admin/achievements/{id}/registrations`: the registration and what was done.
#[derive(Serialize, ToSchema)]
pub struct RegistrationOutcome {
    #[serde(flatten)]
    pub registration: crate::domain::registrations::RegistrationView,
    pub outcome: crate::domain::registrations::Registered,
}

/// One record of a JSON import: a registration, with its achievement when the import
/// names none (`?achievement_id=`).
#[derive(ToSchema)]
pub struct ImportRecord {
    #[serde(flatten)]
    pub registration: crate::domain::registrations::NewRegistration,
    pub achievement_id: Option<String>,
}

/// The document: info and tags; the paths and their schemas come from the router.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Akashi issuer agent",
        description = "The issuer's admin API (bearer token, `application/problem+json` errors), \
                       its OpenID4VCI endpoints and its metadata documents.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(Problem, OAuthError)),
    tags(
        (name = "admin", description = "Admin API: `Authorization: Bearer <admin token>`"),
        (name = "oid4vci", description = "OpenID for Verifiable Credential Issuance 1.0"),
        (name = "metadata", description = "Metadata and public documents"),
    ),
)]
pub struct ApiDoc;

/// `GET /log/tile/{path}`, served on a wildcard route (`path` holds slashes), so written
/// here rather than by the handler's attribute.
fn log_tiles(doc: &mut OpenApi) {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ContentBuilder, ObjectBuilder, Required, ResponseBuilder, Type};
    let bytes = ContentBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).format(
            Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )),
        )))
        .build();
    let op = OperationBuilder::new()
        .tag(METADATA)
        .operation_id(Some("log_tile"))
        .description(Some(
            "A tile of the log's Merkle tree or a bundle of its entries (C2SP tlog-tiles): \
             `<L>/<N>[.p/<W>]`, Go's `8/<L>/<N>[.p/<W>]`, or `entries/<N>[.p/<W>]`. Full \
             tiles never change and are cached for a year.",
        ))
        .parameter(
            ParameterBuilder::new()
                .name("path")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("The tile's path below `/log/tile/`"))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        )
        .response(
            "200",
            ResponseBuilder::new()
                .description("The tile's hashes (32 bytes each) or the entry bundle")
                .content("application/octet-stream", bytes),
        )
        .response(
            "404",
            ResponseBuilder::new().description("The log has no such tile"),
        )
        .build();
    doc.paths
        .add_path_operation("/log/tile/{path}", vec![HttpMethod::Get], op);
}

/// Completes the document built by the router: the admin API's security and problems.
pub fn finish(doc: &mut OpenApi) {
    kit::openapi::problem_api(doc, ADMIN, "The admin token (ISSUER_ADMIN_TOKEN)");
    log_tiles(doc);
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, description) in [
        ("access_token", "The access token of `POST /token`"),
        ("invitation", "The invitation of the registration email"),
    ] {
        components.add_security_scheme(
            name,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            ),
        );
    }
}
