//! OpenID for Verifiable Presentations 1.0 (Final): wire types and checks shared by the
//! wallet and the verifier.
//!
//! * [`client_id`]: Client Identifier Prefixes (§5.9).
//! * [`request`]: the Authorization Request and its Request Object (§5, §5.1, RFC 9101).
//! * [`invocation`]: `openid4vp://` and https wallet links (§5, §5.10).
//! * [`response`]: `vp_token` and the `direct_post` form (§8.1, §8.2, §8.5).
//! * [`dcql`]: the Digital Credentials Query Language (§6, §7).
//! * [`dc_api`]: requests and answers over the W3C Digital Credentials API (Appendix A).

pub mod client_id;
pub mod dc_api;
pub mod dcql;
pub mod invocation;
pub mod request;
pub mod response;

pub use client_id::*;
pub use invocation::*;
pub use request::*;
pub use response::*;

#[cfg(test)]
mod tests;
