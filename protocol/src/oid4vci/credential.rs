//! Nonce (OpenID4VCI §7), Credential (§8), Deferred Credential (§9) and Notification (§11)
//! messages.
//!
//! Only the 1.0 shapes exist here: `proofs` (arrays) and `credentials[]`; the draft-era
//! singular `proof`/`credential`, `format` in requests and `c_nonce` in responses are
//! neither emitted nor read.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::oauth::ErrorCode;

/// The Nonce Endpoint response (§7.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonceResponse {
    /// The fresh nonce to put in key proofs.
    pub c_nonce: String,
}

/// A Credential Request (§8.2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CredentialRequest {
    /// The configuration to issue; excludes `credential_identifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_configuration_id: Option<String>,
    /// The identifier from the Token Response; excludes `credential_configuration_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_identifier: Option<String>,
    /// Key proofs, one per key to bind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proofs: Option<Proofs>,
    /// Where to encrypt the response to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_response_encryption: Option<CredentialResponseEncryption>,
}

/// `proofs` (§8.2): exactly one proof type, with a non-empty array.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Proofs {
    /// `jwt` proofs (Appendix F.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jwt: Vec<String>,
    /// `di_vp` proofs (Appendix F.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub di_vp: Option<Vec<Value>>,
    /// `attestation` proof (Appendix F.3): exactly one key attestation JWT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Vec<String>>,
}

/// `credential_response_encryption` in a request (§8.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialResponseEncryption {
    /// The public key to encrypt to.
    pub jwk: Value,
    /// JWE `enc`.
    pub enc: String,
    /// JWE `zip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
}

/// Why a Credential Request is malformed (§8.3.1.2 `invalid_credential_request`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialRequestError {
    #[error("both `credential_configuration_id` and `credential_identifier` are present")]
    BothIdentifiers,
    #[error("neither `credential_configuration_id` nor `credential_identifier` is present")]
    NoIdentifier,
    #[error("`proofs` must hold exactly one proof type, found {0}")]
    ProofTypeCount(usize),
    #[error("`proofs.{0}` is empty")]
    EmptyProofs(&'static str),
    #[error("`proofs.attestation` must hold exactly one key attestation")]
    AttestationCount,
}

impl CredentialRequestError {
    /// The OAuth error code to answer with.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            CredentialRequestError::BothIdentifiers | CredentialRequestError::NoIdentifier => {
                ErrorCode::InvalidCredentialRequest
            }
            _ => ErrorCode::InvalidProof,
        }
    }
}

/// What a Credential Request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialTarget<'a> {
    /// By `credential_configuration_id`.
    Configuration(&'a str),
    /// By `credential_identifier`.
    Identifier(&'a str),
}

impl CredentialRequest {
    /// Checks the exclusive identifiers and the shape of `proofs`; returns the target.
    pub fn check(&self) -> Result<CredentialTarget<'_>, CredentialRequestError> {
        let target = match (
            &self.credential_configuration_id,
            &self.credential_identifier,
        ) {
            (Some(_), Some(_)) => return Err(CredentialRequestError::BothIdentifiers),
            (None, None) => return Err(CredentialRequestError::NoIdentifier),
            (Some(id), None) => CredentialTarget::Configuration(id),
            (None, Some(id)) => CredentialTarget::Identifier(id),
        };
        if let Some(proofs) = &self.proofs {
            proofs.check()?;
        }
        Ok(target)
    }
}

impl Proofs {
    /// `jwt` proofs only.
    pub fn jwt(proofs: Vec<String>) -> Self {
        Proofs {
            jwt: proofs,
            di_vp: None,
            attestation: None,
        }
    }

    /// Checks that exactly one proof type is present and non-empty.
    pub fn check(&self) -> Result<(), CredentialRequestError> {
        let count = usize::from(!self.jwt.is_empty())
            + usize::from(self.di_vp.is_some())
            + usize::from(self.attestation.is_some());
        if count != 1 {
            return Err(CredentialRequestError::ProofTypeCount(count));
        }
        if self.di_vp.as_ref().is_some_and(Vec::is_empty) {
            return Err(CredentialRequestError::EmptyProofs("di_vp"));
        }
        if self.attestation.as_ref().is_some_and(|a| a.len() != 1) {
            return Err(CredentialRequestError::AttestationCount);
        }
        Ok(())
    }
}

/// A Credential Response (§8.3) or Deferred Credential Response (§9.2).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CredentialResponse {
    /// Issued credentials (immediate issuance).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<IssuedCredential>,
    /// Deferred issuance: the id to poll the Deferred Credential Endpoint with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Deferred issuance: seconds to wait before polling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
    /// Id for the Notification Endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_id: Option<String>,
}

/// One issued credential (§8.3): a string (JWT, SD-JWT, mdoc) or an object (`ldp_vc`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IssuedCredential {
    /// The credential in its format's encoding.
    pub credential: Value,
}

/// A Deferred Credential Request (§9.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeferredCredentialRequest {
    /// From the Credential Response.
    pub transaction_id: String,
    /// Where to encrypt the response to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_response_encryption: Option<CredentialResponseEncryption>,
}

/// A Notification Request (§11.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRequest {
    /// From the Credential Response.
    pub notification_id: String,
    /// What happened to the credential.
    pub event: NotificationEvent,
    /// Human-readable detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_description: Option<String>,
}

/// `event` of a Notification Request (§11.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationEvent {
    /// Stored by the wallet.
    CredentialAccepted,
    /// Not stored, for a reason other than the user's choice.
    CredentialFailure,
    /// Refused or deleted by the user.
    CredentialDeleted,
}
