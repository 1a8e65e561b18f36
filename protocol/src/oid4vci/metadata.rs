//! Credential Issuer Metadata (OpenID4VCI §12.2.4) and the RFC 8414 subset of
//! Authorization Server Metadata the pre-authorized flow needs (§12.3).
//!
//! `credential_configurations_supported` is an order-preserving map, so wallets show the
//! configurations in the order the issuer lists them.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Credential Issuer Metadata (§12.2.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialIssuerMetadata {
    /// The Credential Issuer Identifier; equals the identifier the metadata URL was built from.
    pub credential_issuer: String,
    /// Authorization servers the issuer relies on; absent ⇒ the issuer is its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_servers: Option<Vec<String>>,
    /// The Credential Endpoint.
    pub credential_endpoint: String,
    /// The Nonce Endpoint (§7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce_endpoint: Option<String>,
    /// The Deferred Credential Endpoint (§9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred_credential_endpoint: Option<String>,
    /// The Notification Endpoint (§11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_endpoint: Option<String>,
    /// Encryption of Credential Requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_request_encryption: Option<CredentialRequestEncryption>,
    /// Encryption of Credential Responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_response_encryption: Option<CredentialResponseEncryptionMetadata>,
    /// Batch issuance: how many proofs one request may carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_credential_issuance: Option<BatchCredentialIssuance>,
    /// How to show the issuer, per locale.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<Display>,
    /// The credentials offered, by configuration id, in the issuer's order.
    pub credential_configurations_supported: IndexMap<String, CredentialConfiguration>,
    /// The metadata signed by the issuer (§12.2.3, [`super::signed_metadata`]): a JWT whose
    /// values take precedence over the plain ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_metadata: Option<String>,
}

/// `credential_request_encryption` (§12.2.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialRequestEncryption {
    /// JWK Set of the issuer's encryption keys.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub jwks: Value,
    /// Supported JWE `enc` values.
    pub enc_values_supported: Vec<String>,
    /// Supported JWE `zip` values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_values_supported: Option<Vec<String>>,
    /// Whether requests must be encrypted.
    pub encryption_required: bool,
}

/// `credential_response_encryption` in issuer metadata (§12.2.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialResponseEncryptionMetadata {
    /// Supported JWE `alg` values.
    pub alg_values_supported: Vec<String>,
    /// Supported JWE `enc` values.
    pub enc_values_supported: Vec<String>,
    /// Supported JWE `zip` values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_values_supported: Option<Vec<String>>,
    /// Whether responses must be encrypted.
    pub encryption_required: bool,
}

/// `batch_credential_issuance` (§12.2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchCredentialIssuance {
    /// Maximum number of credentials per request; at least 2.
    pub batch_size: u32,
}

/// A `display` entry, of the issuer or of a credential (§12.2.4).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Display {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// BCP 47 language tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Logo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<Logo>,
    /// Description (credential display only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// CSS colour of the card background (credential display only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
    /// Background image (credential display only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_image: Option<Image>,
    /// CSS colour of the card text (credential display only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_color: Option<String>,
}

/// A `logo` (§12.2.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Logo {
    /// Where the image is (https or data: URI).
    pub uri: String,
    /// Alternative text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
}

/// A `background_image` (§12.2.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Image {
    /// Where the image is.
    pub uri: String,
}

/// One entry of `credential_configurations_supported` (§12.2.4, format profiles Appendix A).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialConfiguration {
    /// The format identifier: `dc+sd-jwt`, `ldp_vc`, `jwt_vc_json`, …
    pub format: String,
    /// OAuth scope that requests this configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Holder binding methods (`jwk`, `did:key`, …); present iff binding is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cryptographic_binding_methods_supported: Option<Vec<String>>,
    /// Algorithms or cryptosuites the credential is signed with (format-specific strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_signing_alg_values_supported: Option<Vec<String>>,
    /// Accepted key proof types; present iff binding methods are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_types_supported: Option<ProofTypesSupported>,
    /// Display and claim descriptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_metadata: Option<CredentialMetadata>,
    /// SD-JWT VC type (`dc+sd-jwt`, Appendix A.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vct: Option<String>,
    /// ISO mdoc document type (`mso_mdoc`, Appendix A.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctype: Option<String>,
    /// W3C VC `@context` and `type` (Appendix A.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_definition: Option<CredentialDefinition>,
}

/// `proof_types_supported` (§12.2.4).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProofTypesSupported {
    /// The `jwt` proof type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<ProofTypeMetadata>,
    /// The `di_vp` proof type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub di_vp: Option<ProofTypeMetadata>,
    /// The `attestation` proof type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<ProofTypeMetadata>,
}

/// One proof type's requirements (§12.2.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProofTypeMetadata {
    /// Accepted signing algorithms of the proof.
    pub proof_signing_alg_values_supported: Vec<String>,
    /// Key attestation requirements, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub key_attestations_required: Option<serde_json::Map<String, Value>>,
}

/// `credential_metadata` (§12.2.4).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialMetadata {
    /// How to show the credential, per locale.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<Display>,
    /// Descriptions of claims.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<ClaimDescription>,
}

/// A claim description (§12.2.4, Appendix B.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimDescription {
    /// Claims path pointer (strings, non-negative integers, `null`).
    pub path: Vec<Value>,
    /// Whether the issuer always includes the claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandatory: Option<bool>,
    /// Display names per locale.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<ClaimDisplay>,
}

/// A claim's display name (§12.2.4).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimDisplay {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// BCP 47 language tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// `credential_definition` of W3C formats (Appendix A.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialDefinition {
    /// JSON-LD contexts (`ldp_vc`, `jwt_vc_json-ld`).
    #[serde(rename = "@context", default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<Value>>,
    /// VC types.
    #[serde(rename = "type")]
    pub type_: Vec<String>,
}

/// Authorization Server Metadata (RFC 8414 §2), the members OpenID4VCI uses (§12.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizationServerMetadata {
    /// The AS issuer identifier.
    pub issuer: String,
    /// The Token Endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// The Authorization Endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// The PAR endpoint (RFC 9126).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// Supported grant types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// Supported response types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types_supported: Option<Vec<String>>,
    /// Client authentication methods of the Token Endpoint (`none` for public clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Supported PKCE methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Supported DPoP algorithms (RFC 9449).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// Whether the Token Endpoint accepts pre-authorized codes without client authentication
    /// (OpenID4VCI §12.3; default false).
    #[serde(
        rename = "pre-authorized_grant_anonymous_access_supported",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_authorized_grant_anonymous_access_supported: Option<bool>,
    /// Whether authorization requests must be pushed (RFC 9126 §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    /// Whether the authorization response carries `iss` (RFC 9207 §3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// The `scope` values of the credential configurations (RFC 8414 §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// The authorization details types accepted (RFC 9396 §10): `openid_credential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_details_types_supported: Option<Vec<String>>,
}
