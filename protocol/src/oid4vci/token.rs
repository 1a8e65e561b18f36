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

impl AuthorizationDetail {
    /// An `openid_credential` detail asking for `configuration`, with nothing else.
    pub fn for_configuration(configuration: &str) -> Self {
        AuthorizationDetail {
            type_: AUTHORIZATION_DETAIL_TYPE.into(),
            credential_configuration_id: configuration.to_owned(),
            credential_identifiers: None,
            claims: None,
            locations: None,
        }
    }
}

/// The authorization detail type of OpenID4VCI (§5.1.1).
pub const AUTHORIZATION_DETAIL_TYPE: &str = "openid_credential";

/// The most authorization details one request may carry.
pub const MAX_AUTHORIZATION_DETAILS: usize = 16;

/// Why an `authorization_details` parameter (RFC 9396 §2) is refused; the OAuth error is
/// `invalid_authorization_details` (§5).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthorizationDetailsError {
    #[error("authorization_details is not a JSON array of objects: {0}")]
    NotJson(String),
    #[error("authorization_details is an empty array")]
    Empty,
    #[error(
        "authorization_details has {0} entries; at most {MAX_AUTHORIZATION_DETAILS} are accepted"
    )]
    TooMany(usize),
    #[error(
        "authorization_details[{index}] has type {found:?}; this server accepts only \"{AUTHORIZATION_DETAIL_TYPE}\""
    )]
    UnknownType { index: usize, found: String },
    #[error(
        "authorization_details[{0}] carries credential_identifiers, which only a token response may"
    )]
    IdentifiersInRequest(usize),
}

/// The `openid_credential` details of an authorization or token request's
/// `authorization_details` (a JSON array, §5.1.1): each must have that type and a
/// `credential_configuration_id`, and none may carry `credential_identifiers`. Which
/// configurations and `locations` are acceptable is the server's to check.
pub fn parse_authorization_details(
    text: &str,
) -> Result<Vec<AuthorizationDetail>, AuthorizationDetailsError> {
    let values: Vec<Value> = serde_json::from_str(text)
        .map_err(|e| AuthorizationDetailsError::NotJson(e.to_string()))?;
    if values.is_empty() {
        return Err(AuthorizationDetailsError::Empty);
    }
    if values.len() > MAX_AUTHORIZATION_DETAILS {
        return Err(AuthorizationDetailsError::TooMany(values.len()));
    }
    let mut details = Vec::with_capacity(values.len());
    for (index, value) in values.into_iter().enumerate() {
        let found = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if found != AUTHORIZATION_DETAIL_TYPE {
            return Err(AuthorizationDetailsError::UnknownType {
                index,
                found: found.to_owned(),
            });
        }
        let detail: AuthorizationDetail = serde_json::from_value(value)
            .map_err(|e| AuthorizationDetailsError::NotJson(format!("[{index}]: {e}")))?;
        if detail.credential_identifiers.is_some() {
            return Err(AuthorizationDetailsError::IdentifiersInRequest(index));
        }
        details.push(detail);
    }
    Ok(details)
}

#[cfg(test)]
mod authorization_details_tests {
    use super::*;

    #[test]
    fn openid_credential_details_parse_and_others_are_refused_by_name() {
        let ok = parse_authorization_details(
            r#"[{"type":"openid_credential","credential_configuration_id":"a","locations":["https://i.example"]}]"#,
        )
        .unwrap();
        assert_eq!(ok[0].credential_configuration_id, "a");
        assert_eq!(
            ok[0].locations.as_deref(),
            Some(&["https://i.example".to_owned()][..])
        );
        for (text, want) in [
            ("{}", "not a JSON array"),
            ("[]", "empty array"),
            ("[1]", "type \"\""),
            (
                r#"[{"type":"payment_initiation"}]"#,
                "\"payment_initiation\"",
            ),
            (
                r#"[{"type":"openid_credential"}]"#,
                "credential_configuration_id",
            ),
            (
                r#"[{"type":"openid_credential","credential_configuration_id":"a","credential_identifiers":["x"]}]"#,
                "only a token response",
            ),
        ] {
            let e = parse_authorization_details(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
        let many = format!(
            "[{}]",
            vec![r#"{"type":"openid_credential","credential_configuration_id":"a"}"#; 17].join(",")
        );
        assert_eq!(
            parse_authorization_details(&many),
            Err(AuthorizationDetailsError::TooMany(17))
        );
    }
}
