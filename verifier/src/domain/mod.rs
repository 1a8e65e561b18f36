//! The verifier's domain: presentation requests and their responses ([`requests`]), the
//! verification pipeline ([`checks`]) and its network sources ([`sources`]).

pub mod checks;
pub mod requests;
pub mod sources;
