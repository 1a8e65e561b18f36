//! The verifier's domain: presentation requests and their responses ([`requests`]), the
//! verification pipeline ([`checks`]) and its network sources ([`sources`]), and the
//! desk pages' sessions and CSRF tokens ([`desk`]).

pub use kit::network_sources as sources;
pub use protocol::verify as checks;
pub use protocol::verify::{image_digest, standalone};

pub mod check_input;
pub mod checking;
pub mod desk;
pub mod requests;
pub mod templates;
pub mod webhooks;
pub mod x509;
