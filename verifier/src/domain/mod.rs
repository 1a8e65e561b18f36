//! The verifier's domain: presentation requests and their responses ([`requests`]), the
//! verification pipeline ([`checks`]) and its network sources ([`sources`]), and the
//! desk pages' sessions and CSRF tokens ([`desk`]).

pub mod checks;
pub mod desk;
pub mod requests;
pub mod sources;
pub mod templates;
pub mod webhooks;
pub mod x509;
