//! The verifier's domain: presentation requests and their responses ([`requests`]), the
//! verification pipeline ([`checks`]) and its network sources ([`sources`]), and the
//! desk pages' sessions and CSRF tokens ([`desk`]).

pub mod check_input;
pub mod checking;
pub mod checks;
pub mod desk;
pub mod image_digest;
pub mod requests;
pub mod sources;
pub mod standalone;
pub mod templates;
pub mod webhooks;
pub mod x509;
