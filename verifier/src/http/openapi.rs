//! The OpenAPI 3.1 document of the verifier, served at `GET /openapi.json`. Its paths come
//! from the `#[utoipa::path]` attributes of the handlers, registered in [`super::router`]
//! through `utoipa_axum::routes!`, so a route and its description cannot drift apart.

use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::OpenApi;

pub use kit::openapi::{OAuthError, Problem};

/// The tag of the verifier API (bearer token).
pub const API: &str = "api";
/// The tag of the QR images (public: they only carry the wallet link).
pub const QR: &str = "qr";
/// The tag of the OpenID4VP endpoints the wallet talks to.
pub const PROTOCOL: &str = "oid4vp";

/// `POST /api/templates`.
#[derive(Serialize, ToSchema)]
pub struct SaveTemplateDoc {
    /// Unique, 1 to 100 characters.
    pub name: String,
    /// `issuer`, optional `achievement_id`, `disclose` (required claims) and `optional`
    /// (claims the holder may decline): each `recipient_name`.
    #[schema(value_type = Object)]
    pub template: serde_json::Value,
}

/// `POST /api/requests`: exactly one of `dcql_query`, `template` and `template_id`.
#[derive(Serialize, ToSchema)]
pub struct CreateRequestDoc {
    /// A DCQL query (OpenID4VP 1.0 §6).
    #[schema(value_type = Option<Object>)]
    pub dcql_query: Option<serde_json::Value>,
    /// The Open Badge template: `issuer`, optional `achievement_id`, `disclose`,
    /// `optional`.
    #[schema(value_type = Option<Object>)]
    pub template: Option<serde_json::Value>,
    /// A saved template's id (`/api/templates`).
    pub template_id: Option<String>,
    /// `direct_post` (default) or `direct_post.jwt` (encrypted response; the default and
    /// the only one accepted under the `haip` profile).
    pub response_mode: Option<String>,
    /// `decentralized_identifier` (default), `x509_hash` (the default and the only one
    /// accepted under the `haip` profile), `x509_san_dns` or `redirect_uri`.
    pub client_id_prefix: Option<String>,
    /// `get` (default) or `post`.
    pub request_uri_method: Option<String>,
    /// Same-device flows: where the wallet sends the user after answering.
    pub redirect_uri: Option<String>,
    /// Where to post the signed result when it is ready.
    pub webhook_url: Option<String>,
    /// Same-device flows: a value derived from the browser session the request is made in
    /// (16 to 512 characters); the `response_code` then opens the result only with it.
    /// Required with `redirect_uri` under the `haip` profile.
    pub session_binding: Option<String>,
}

/// `POST /api/check` as JSON: exactly one of `credential` and `url`.
#[derive(Serialize, ToSchema)]
pub struct CheckRequestDoc {
    /// A compact SD-JWT VC or VC-JWT (string), or a JSON credential with an embedded
    /// Data Integrity proof (object).
    #[schema(value_type = Option<Object>)]
    pub credential: Option<serde_json::Value>,
    /// A wallet's public badge page (its `<link rel="alternate">` credential is checked),
    /// or a URL answering with a credential.
    pub url: Option<String>,
}

/// `POST /request/{id}` (`request_uri_method=post`).
#[derive(Serialize, ToSchema)]
pub struct WalletMetadataForm {
    pub wallet_metadata: Option<String>,
    pub wallet_nonce: Option<String>,
}

/// `POST /response` (`direct_post` or `direct_post.jwt`).
#[derive(Serialize, ToSchema)]
pub struct ResponseForm {
    /// `direct_post`: the VP Token (JSON).
    pub vp_token: Option<String>,
    /// `direct_post.jwt`: the encrypted response.
    pub response: Option<String>,
    pub state: Option<String>,
}

/// The document: info and tags; the paths and their schemas come from the router.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Akashi verifier",
        description = "The verifier API (bearer token, `application/problem+json` errors): \
                       create presentation requests and read their results; and the \
                       OpenID4VP endpoints the wallet talks to.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(Problem, OAuthError)),
    tags(
        (name = "api", description = "Verifier API: `Authorization: Bearer <API token>`"),
        (name = "qr", description = "QR codes of a request's wallet link"),
        (name = "oid4vp", description = "OpenID for Verifiable Presentations 1.0"),
    ),
)]
pub struct ApiDoc;

/// Completes the document built by the router: the API's security and problems.
pub fn finish(doc: &mut OpenApi) {
    kit::openapi::problem_api(doc, API, "The API token (VERIFIER_API_TOKEN)");
}
