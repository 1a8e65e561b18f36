//! The issuer's domain: plain functions on [`crate::App`] taking plain types, called by the
//! HTTP handlers, the CLI and the tests alike.

pub mod achievements;
pub mod authorization;
pub mod bounces;
pub mod card;
pub mod console;
pub mod images;
pub mod import;
pub mod import_jobs;
pub mod issuance;
pub mod kept;
pub mod key_attestation;
pub mod offers;
pub mod oidc;
pub mod operations;
pub mod operator_accounts;
pub mod operators;
pub mod passkeys;
pub mod registrations;
pub mod settings;
pub mod signed_metadata;
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

/// An access token as a request presented it.
#[derive(Debug, Clone)]
pub struct Presented {
    pub token: String,
    /// `Authorization: DPoP` rather than `Bearer`.
    pub dpop_scheme: bool,
    /// The `DPoP` header, if any.
    pub proof: Option<String>,
}

/// The wallet attestation headers of a request (OpenID4VCI Appendix E), as sent.
#[derive(Debug, Clone, Default)]
pub struct ClientAttestation {
    /// `OAuth-Client-Attestation`.
    pub attestation: Option<String>,
    /// `OAuth-Client-Attestation-PoP`.
    pub pop: Option<String>,
}
