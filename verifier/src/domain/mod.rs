//! The verifier's domain: presentation requests and their responses ([`requests`]), saved
//! request templates ([`templates`]), the check of a badge handed in without a wallet
//! ([`badge_check`]), the signed result webhooks ([`webhooks`]) and the X.509 identity of
//! `x509_*` requests ([`x509`]). Verification itself is [`protocol::verify`]; its network
//! sources are [`kit::network_sources`].
//!
//! Each area is a struct holding what it needs ([`requests::Requests`],
//! [`templates::Templates`], [`webhooks::Webhooks`], [`badge_check::BadgeCheck`]);
//! [`crate::app::App`] holds one of each. They return [`crate::error::Error`] and know
//! nothing of HTTP.

pub mod badge_check;
pub mod requests;
pub mod templates;
pub mod webhooks;
pub mod x509;
