//! Token Request and Response (OpenID4VCI §6, RFC 6749 §4.1.3 and §5.1).
//!
//! The request is form-encoded; these types work with any serde form codec (axum `Form`,
//! reqwest `.form()`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::offer::PreAuthorizedCode;

/// A Token Request (§6.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRequest {
    /// `urn:ietf:params:oauth:grant-type:pre-authorized_code` or `authorization_code`.
    pub grant_type: String,
    /// The code from the offer (pre-authorized grant).
    #[serde(
        rename = "pre-authorized_code",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_authorized_code: Option<PreAuthorizedCode>,
    /// The Transaction Code; sent iff the offer had `tx_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<String>,
    /// The authorization code (authorization code grant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The redirect URI of the authorization request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// The PKCE verifier (RFC 7636).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verifier: Option<String>,
    /// The client, when an authentication method needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Authorization details as a JSON string (RFC 9396).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_details: Option<String>,
    /// The refresh token (refresh token grant, RFC 6749 §6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Why a Token Request body was refused (RFC 6749 §5.2 `invalid_request`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenRequestError {
    #[error("parameter {0} is repeated")]
    Repeated(String),
    /// A required parameter is missing (`member` names it) or one is malformed.
    #[error("`{member}`: {reason}")]
    Malformed { member: String, reason: String },
}

impl TokenRequestError {
    /// The OAuth error code to answer with.
    pub fn error_code(&self) -> crate::oauth::ErrorCode {
        crate::oauth::ErrorCode::InvalidRequest
    }
}

impl TokenRequest {
    /// Parses an `application/x-www-form-urlencoded` Token Request. A parameter sent twice
    /// is refused (RFC 6749 §3.2); parameters this type does not name are ignored.
    pub fn from_form(body: &[u8]) -> Result<Self, TokenRequestError> {
        let mut members = serde_json::Map::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            let name = name.into_owned();
            if members.contains_key(&name) {
                return Err(TokenRequestError::Repeated(name));
            }
            members.insert(name, Value::String(value.into_owned()));
        }
        serde_path_to_error::deserialize(Value::Object(members)).map_err(|e| {
            let (member, reason) = super::credential::member_at_fault(&e);
            TokenRequestError::Malformed { member, reason }
        })
    }

    /// A pre-authorized code Token Request.
    pub fn pre_authorized(code: PreAuthorizedCode, tx_code: Option<String>) -> Self {
        TokenRequest {
            grant_type: super::offer::GRANT_TYPE_PRE_AUTHORIZED_CODE.into(),
            pre_authorized_code: Some(code),
            tx_code,
            code: None,
            redirect_uri: None,
            code_verifier: None,
            client_id: None,
            authorization_details: None,
            refresh_token: None,
        }
    }
}

/// A successful Token Response (§6.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    /// The access token for the Credential Endpoint.
    pub access_token: String,
    /// `Bearer` or `DPoP`.
    pub token_type: String,
    /// Lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// Granted scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Credential identifiers per configuration (REQUIRED when authorization details were used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_details: Option<Vec<AuthorizationDetail>>,
}

/// An `openid_credential` authorization detail (§5.1.1, §6.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizationDetail {
    /// Always `openid_credential`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The configuration requested.
    pub credential_configuration_id: String,
    /// The identifiers to use in Credential Requests (token response only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_identifiers: Option<Vec<String>>,
    /// Requested claims (claims description objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<Value>>,
    /// The issuer identifier, when `authorization_servers` is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locations: Option<Vec<String>>,
}

/// The authorization detail type of OpenID4VCI (§5.1.1).
pub const AUTHORIZATION_DETAIL_TYPE: &str = "openid_credential";
