//! The authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636, and OpenID4VCI §5.1's
//! `issuer_state`), pushed (RFC 9126) or sent in the query, and the answers: the pushed
//! request's `request_uri` and the authorization response with `iss` (RFC 9207).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `request_uri` prefix of pushed requests (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// The grant type of the authorization code flow.
pub const GRANT_TYPE_AUTHORIZATION_CODE: &str = "authorization_code";
/// The grant type of refresh tokens (RFC 6749 §6).
pub const GRANT_TYPE_REFRESH_TOKEN: &str = "refresh_token";

/// An authorization request's parameters (query or pushed form).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizationRequest {
    /// Always `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Space-separated `scope` values of the issuer's credential configurations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_method: Option<String>,
    /// From the offer's `authorization_code` grant (OpenID4VCI §4.1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_state: Option<String>,
    /// RFC 9396; this issuer asks for `scope`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_details: Option<String>,
    /// RFC 9449 §10: the thumbprint of the key the code is to be bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// A pushed request's reference (RFC 9126 §4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_uri: Option<String>,
}

/// Why an authorization request could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthorizationRequestError {
    #[error("parameter {0} is repeated")]
    Repeated(String),
    #[error("parameter {0} is longer than 4096 characters")]
    TooLong(String),
    #[error("`{member}`: {reason}")]
    Malformed { member: String, reason: String },
}

impl AuthorizationRequest {
    /// Parses `application/x-www-form-urlencoded` parameters (a pushed body or a query). A
    /// parameter sent twice is refused (RFC 6749 §3.1); unknown ones are ignored.
    pub fn from_form(body: &[u8]) -> Result<Self, AuthorizationRequestError> {
        let mut members = serde_json::Map::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            let name = name.into_owned();
            if members.contains_key(&name) {
                return Err(AuthorizationRequestError::Repeated(name));
            }
            if value.len() > 4096 {
                return Err(AuthorizationRequestError::TooLong(name));
            }
            members.insert(name, Value::String(value.into_owned()));
        }
        // Every member is an optional string, so only a repeated or oversized one fails.
        serde_json::from_value(Value::Object(members)).map_err(|e| {
            AuthorizationRequestError::Malformed {
                member: "request".into(),
                reason: e.to_string(),
            }
        })
    }

    /// The parameters as a form body (for a pushed request or a query).
    pub fn to_form(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if let Ok(Value::Object(map)) = serde_json::to_value(self) {
            for (k, v) in map {
                if let Value::String(v) = v {
                    out.append_pair(&k, &v);
                }
            }
        }
        out.finish()
    }
}

/// The pushed authorization response (RFC 9126 §2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushedAuthorizationResponse {
    pub request_uri: String,
    /// Seconds the `request_uri` stays usable.
    pub expires_in: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_round_trip_and_repeats_refused() {
        let req = AuthorizationRequest {
            response_type: Some("code".into()),
            client_id: Some("wallet".into()),
            redirect_uri: Some("https://w.example/cb?x=1&y=2".into()),
            scope: Some("a b".into()),
            state: Some("s".into()),
            ..AuthorizationRequest::default()
        };
        let form = req.to_form();
        assert_eq!(
            AuthorizationRequest::from_form(form.as_bytes()).unwrap(),
            req
        );
        assert_eq!(
            AuthorizationRequest::from_form(b"state=a&state=b"),
            Err(AuthorizationRequestError::Repeated("state".into()))
        );
        let long = format!("state={}", "a".repeat(5000));
        assert_eq!(
            AuthorizationRequest::from_form(long.as_bytes()),
            Err(AuthorizationRequestError::TooLong("state".into()))
        );
    }
}
