//! Presentation requests (OpenID4VP 1.0 §5): created from a DCQL query or the Open Badge
//! template ([`create`], [`query`]), served as a request object at `request_uri`
//! ([`request_object`]), answered once at the Response Endpoint and verified there
//! ([`response`]), and read back as a result ([`report`], [`result`]). [`Requests`]
//! ([`area`]) holds what these operations need: `app.requests.create(…)`.
//!
//! A request may ask for `direct_post.jwt` (OpenID4VP 1.0 §8.3, HAIP 1.0 §5): it then gets
//! an ephemeral P-256 key agreement key of its own, stored sealed, published in
//! `client_metadata.jwks`; the wallet's `response=<JWE>` finds the request by the JWE
//! `kid`, is decrypted, and goes through the same checks.
//!
//! A pending request may also be answered through the browser's Digital Credentials API
//! from the desk page ([`dc_api`]), through the same checks.

pub mod area;
pub mod create;
pub mod dc_api;
pub mod query;
pub mod report;
pub mod request_object;
pub mod response;
pub mod result;
pub mod served;
#[cfg(test)]
mod tests;

pub use area::Requests;
pub use create::{ClientPrefix, CreatedRequest, QR_PNG_SCALE, RequestOptions, RequestSpec};
pub use dc_api::DcApiOffer;
pub use query::{Disclose, OPEN_BADGE_VCT_PATH, TEMPLATE_QUERY_ID, Template, template_query};
pub use response::Answered;
pub use result::{RequestResult, ResultState, result_view};
