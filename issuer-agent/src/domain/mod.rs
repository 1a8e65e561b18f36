//! The issuer's domain: plain functions on [`crate::App`] taking plain types, called by the
//! HTTP handlers, the CLI and the tests alike.

pub mod achievements;
pub mod bounces;
pub mod console;
pub mod images;
pub mod import;
pub mod import_jobs;
pub mod issuance;
pub mod offers;
pub mod operations;
pub mod operator_accounts;
pub mod operators;
pub mod passkeys;
pub mod registrations;
pub mod settings;
pub mod tlog;
pub mod webauthn;
pub mod x509;

/// The name of a credential status value (0 valid, 1 revoked, 2 suspended).
pub fn status_name(status: i64) -> &'static str {
    match status {
        0 => "valid",
        1 => "revoked",
        2 => "suspended",
        _ => "unknown",
    }
}
