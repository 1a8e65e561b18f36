//! OpenID for Verifiable Credential Issuance 1.0 (Final): wire types and checks shared by
//! the issuer agent and the wallet.
//!
//! * [`offer`]: Credential Offer (§4.1) and the links that carry it.
//! * [`metadata`]: Credential Issuer Metadata (§12.2) and Authorization Server Metadata
//!   (RFC 8414, §12.3), and the well-known URL rule (§12.2.2).
//! * [`token`]: Token Request and Response for the pre-authorized code grant (§6).
//! * [`credential`]: Nonce (§7), Credential (§8), Deferred (§9) and Notification (§11).
//! * [`proof`]: `jwt` key proofs (§8.2.1.1, Appendix F.1).
//! * [`key_attestation`]: key attestations (Appendix D).
//! * [`signed_metadata`]: signed Credential Issuer Metadata (§12.2.3).

pub mod credential;
pub mod key_attestation;
pub mod metadata;
pub mod offer;
pub mod proof;
pub mod signed_metadata;
pub mod token;

pub use credential::*;
pub use metadata::*;
pub use offer::*;
pub use proof::*;
pub use token::*;

use url::Url;

/// Why a well-known URL could not be built from an identifier.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WellKnownError {
    #[error("identifier is not a URL: {0}")]
    NotAUrl(#[from] url::ParseError),
    #[error("identifier must use https (or http on a loopback host), found {0:?}")]
    NotHttps(String),
    #[error("identifier must not have a query or fragment")]
    QueryOrFragment,
}

/// The well-known URL of an identifier: `/.well-known/<suffix>` inserted between the host
/// and the path (OpenID4VCI §12.2.2, RFC 8414 §3.1):
/// `https://h/tenant` → `https://h/.well-known/openid-credential-issuer/tenant`.
pub fn well_known_url(issuer: &str, suffix: &str) -> Result<Url, WellKnownError> {
    let mut url = Url::parse(issuer)?;
    if !is_secure_origin(&url) {
        return Err(WellKnownError::NotHttps(issuer.to_owned()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(WellKnownError::QueryOrFragment);
    }
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!(
        "/.well-known/{}{}",
        suffix.trim_matches('/'),
        path
    ));
    Ok(url)
}

/// The well-known suffix of Credential Issuer Metadata (§12.2.2).
pub const WELL_KNOWN_CREDENTIAL_ISSUER: &str = "openid-credential-issuer";
/// The well-known suffix of Authorization Server Metadata (RFC 8414 §3).
pub const WELL_KNOWN_OAUTH_AUTHORIZATION_SERVER: &str = "oauth-authorization-server";

/// `https`, or `http` on a loopback host (local development and tests).
pub(crate) fn is_secure_origin(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_insertion() {
        let u = well_known_url("https://h.example/tenant", WELL_KNOWN_CREDENTIAL_ISSUER).unwrap();
        assert_eq!(
            u.as_str(),
            "https://h.example/.well-known/openid-credential-issuer/tenant"
        );
        let u = well_known_url("https://h.example", WELL_KNOWN_CREDENTIAL_ISSUER).unwrap();
        assert_eq!(
            u.as_str(),
            "https://h.example/.well-known/openid-credential-issuer"
        );
        let u = well_known_url(
            "https://h.example/a/b/",
            WELL_KNOWN_OAUTH_AUTHORIZATION_SERVER,
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "https://h.example/.well-known/oauth-authorization-server/a/b"
        );
        let u = well_known_url("http://127.0.0.1:8080", WELL_KNOWN_CREDENTIAL_ISSUER).unwrap();
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:8080/.well-known/openid-credential-issuer"
        );
        assert!(matches!(
            well_known_url("http://h.example", "x"),
            Err(WellKnownError::NotHttps(_))
        ));
        assert_eq!(
            well_known_url("https://h.example/?a=1", "x"),
            Err(WellKnownError::QueryOrFragment)
        );
        assert!(matches!(
            well_known_url("nope", "x"),
            Err(WellKnownError::NotAUrl(_))
        ));
    }
}

#[cfg(test)]
mod spec_tests;
