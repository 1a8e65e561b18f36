//! The verifier's domain: presentation requests and their responses ([`requests`]), the
//! verification pipeline ([`checks`]) and its network sources ([`sources`]), and the
//! desk pages' sessions and CSRF tokens ([`desk`]).

pub use shared::verify as checks;
pub use shared::verify::network as sources;
pub use shared::verify::{image_digest, standalone};

pub mod check_input;
pub mod checking;
pub mod desk;
pub mod requests;
pub mod templates;
pub mod webhooks;
pub mod x509;
