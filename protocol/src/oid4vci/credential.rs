//! Nonce (OpenID4VCI §7), Credential (§8), Deferred Credential (§9) and Notification (§11)
//! messages.
//!
//! Only the 1.0 shapes exist here: `proofs` (arrays) and `credentials[]`; the draft-era
//! singular `proof`/`credential`, `format` in requests and `c_nonce` in responses are
//! neither emitted nor read.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::oauth::ErrorCode;

/// Members of draft-era Credential Requests that 1.0 removed: a request carrying one is
/// refused by name ([`CredentialRequest::from_json`]) rather than half understood.
pub const DRAFT_PARAMETERS: [&str; 3] = ["proof", "format", "credential_definition"];

/// The Nonce Endpoint response (§7.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NonceResponse {
    /// The fresh nonce to put in key proofs.
    pub c_nonce: String,
}

/// A Credential Request (§8.2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// `proofs` (§8.2): exactly one proof type, with a non-empty array. A proof type this
/// library does not know is refused when parsing (the request could not be honoured).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Proofs {
    /// `jwt` proofs (Appendix F.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<Vec<String>>,
    /// `di_vp` proofs (Appendix F.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub di_vp: Option<Vec<Value>>,
    /// `attestation` proof (Appendix F.3): exactly one key attestation JWT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Vec<String>>,
}

/// `credential_response_encryption` in a request (§8.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialResponseEncryption {
    /// The public key to encrypt to.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub jwk: Value,
    /// JWE `enc`.
    pub enc: String,
    /// JWE `zip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
}

impl CredentialResponseEncryption {
    /// The key and `enc` to encrypt the Credential Response with (§8.2, §10): `jwk` a
    /// public P-256 key for `ECDH-ES` (no private part, `alg` absent or `ECDH-ES`, `use`
    /// absent or `enc`), `enc` A128GCM or A256GCM, no `zip` (none is supported). `Err`
    /// names the member and what is wrong.
    pub fn recipient(&self) -> Result<(crate::keys::Jwk, crate::jose::jwe::Enc), String> {
        let member = |m: &str, why: &str| format!("credential_response_encryption.{m}: {why}");
        if self.jwk.get("d").is_some() {
            return Err(member("jwk", "holds a private key (`d`)"));
        }
        let jwk = crate::keys::Jwk::from_value(&self.jwk)
            .map_err(|e| member("jwk", &format!("not a usable public key: {e}")))?;
        if jwk.kty != "EC" || jwk.crv != "P-256" {
            return Err(member(
                "jwk",
                &format!(
                    "kty {:?} crv {:?}: only EC P-256 keys (ECDH-ES) are supported",
                    jwk.kty, jwk.crv
                ),
            ));
        }
        if let Some(alg) = self.jwk.get("alg").and_then(Value::as_str)
            && alg != crate::jose::jwe::ALG_ECDH_ES
        {
            return Err(member(
                "jwk",
                &format!("alg {alg:?} is not supported (ECDH-ES)"),
            ));
        }
        if let Some(u) = self.jwk.get("use").and_then(Value::as_str)
            && u != "enc"
        {
            return Err(member("jwk", &format!("use {u:?} is not `enc`")));
        }
        let enc = crate::jose::jwe::Enc::parse(&self.enc).map_err(|_| {
            member(
                "enc",
                &format!("{:?} is not supported (A128GCM, A256GCM)", self.enc),
            )
        })?;
        if let Some(zip) = &self.zip {
            return Err(member(
                "zip",
                &format!("{zip:?}: no compression is supported"),
            ));
        }
        Ok((jwk, enc))
    }
}

/// Why a Credential Request is malformed (§8.3.1.2); [`Self::error_code`] picks the code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialRequestError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("`{0}` is not an OpenID4VCI 1.0 request parameter")]
    DraftParameter(&'static str),
    /// A member has the wrong type or a required one is missing; `member` is its path
    /// (`proofs.jwt[0]`, `credential_response_encryption.enc`) or `body`.
    #[error("`{member}`: {reason}")]
    Malformed { member: String, reason: String },
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
    /// The OAuth error code to answer with: `invalid_proof` for `proofs`,
    /// `invalid_encryption_parameters` for `credential_response_encryption`,
    /// `invalid_credential_request` for the rest.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            CredentialRequestError::NotJson(_)
            | CredentialRequestError::DraftParameter(_)
            | CredentialRequestError::BothIdentifiers
            | CredentialRequestError::NoIdentifier => ErrorCode::InvalidCredentialRequest,
            CredentialRequestError::Malformed { member, .. } => {
                match member.split(['.', '[']).next().unwrap_or_default() {
                    "proofs" => ErrorCode::InvalidProof,
                    "credential_response_encryption" => ErrorCode::InvalidEncryptionParameters,
                    _ => ErrorCode::InvalidCredentialRequest,
                }
            }
            CredentialRequestError::ProofTypeCount(_)
            | CredentialRequestError::EmptyProofs(_)
            | CredentialRequestError::AttestationCount => ErrorCode::InvalidProof,
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
    /// Parses a Credential Request body: JSON, no draft-era member ([`DRAFT_PARAMETERS`]),
    /// every member of its type. Members this version does not define are ignored, as
    /// OAuth endpoints do (RFC 6749 §3.1); a malformed one is named in the error. Run
    /// [`Self::check`] next.
    pub fn from_json(body: &[u8]) -> Result<Self, CredentialRequestError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| CredentialRequestError::NotJson(e.to_string()))?;
        let Some(members) = value.as_object() else {
            // serde would read an array as the struct's members in order.
            return Err(CredentialRequestError::Malformed {
                member: "body".into(),
                reason: "must be a JSON object".into(),
            });
        };
        if let Some(draft) = DRAFT_PARAMETERS.iter().find(|d| members.contains_key(**d)) {
            return Err(CredentialRequestError::DraftParameter(draft));
        }
        serde_path_to_error::deserialize(value).map_err(|e| {
            let (member, reason) = member_at_fault(&e);
            CredentialRequestError::Malformed { member, reason }
        })
    }

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

/// The member a serde error points at (its path, or the missing member's name, or `body`)
/// and the parser's reason: what a refusal of a malformed request names.
pub fn member_at_fault<E: std::fmt::Display>(
    e: &serde_path_to_error::Error<E>,
) -> (String, String) {
    let reason = e.inner().to_string();
    let path = e.path().to_string();
    let member = if path != "." {
        path
    } else {
        reason
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .unwrap_or("body")
            .to_owned()
    };
    (member, reason)
}

impl Proofs {
    /// `jwt` proofs only.
    pub fn jwt(proofs: Vec<String>) -> Self {
        Proofs {
            jwt: Some(proofs),
            di_vp: None,
            attestation: None,
        }
    }

    /// Checks that exactly one proof type is present and non-empty.
    pub fn check(&self) -> Result<(), CredentialRequestError> {
        let count = usize::from(self.jwt.is_some())
            + usize::from(self.di_vp.is_some())
            + usize::from(self.attestation.is_some());
        if count != 1 {
            return Err(CredentialRequestError::ProofTypeCount(count));
        }
        if self.jwt.as_ref().is_some_and(Vec::is_empty) {
            return Err(CredentialRequestError::EmptyProofs("jwt"));
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedCredential {
    /// The credential in its format's encoding.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: Value,
}

/// A Deferred Credential Request (§9.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeferredCredentialRequest {
    /// From the Credential Response.
    pub transaction_id: String,
    /// Where to encrypt the response to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_response_encryption: Option<CredentialResponseEncryption>,
}

/// A Notification Request (§11.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotificationEvent {
    /// Stored by the wallet.
    CredentialAccepted,
    /// Not stored, for a reason other than the user's choice.
    CredentialFailure,
    /// Refused or deleted by the user.
    CredentialDeleted,
}
