//! The issuer's domain: plain functions on [`crate::App`] taking plain types, called by the
//! HTTP handlers, the CLI and the tests alike.

pub mod issuance;
pub mod offers;
