//! The Authorization Response (OpenID4VP §8.1) and its `direct_post` form (§8.2), and the
//! error response (§8.5).
//!
//! `vp_token` is a JSON object from credential query id to an array of presentations; in a
//! form it travels as a JSON string. With `direct_post.jwt` the form has a single
//! `response` parameter holding the JWE (§8.3).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::form_urlencoded;

use crate::oauth::ErrorCode;

/// A successful Authorization Response (§8.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationResponse {
    /// Presentations per credential query id.
    pub vp_token: BTreeMap<String, Vec<Value>>,
    /// The request's `state`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// An error Authorization Response (§8.5, RFC 6749 §4.1.2.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationErrorResponse {
    /// The error code.
    pub error: ErrorCode,
    /// Human-readable text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// The request's `state`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// What the Response Endpoint answers the wallet (§8.2), both ways: `200` with `{}`, or with
/// `redirect_uri` for a same-device request (the wallet MUST follow it); `400` with an OAuth
/// `error` otherwise. Akashi's verifier answers a presentation it received and verified but
/// did not accept with `400`, `invalid_request`, an `error_description` saying why in plain
/// English, and `failed_checks` (an extension: the names of the checks that failed, for the
/// wallet to word in its holder's language; other wallets ignore it) — and still the
/// same-device `redirect_uri`, where the verifier's page shows the result.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResponseEndpointAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// `invalid_request` when the presentation was not accepted (or the response refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why, in plain English (RFC 6749 §5.2: printable ASCII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// The names of the verifier's checks that failed (`status`, `issuer_signature`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_checks: Vec<String>,
}

/// What a `direct_post` / `direct_post.jwt` body holds.
#[derive(Clone, Debug, PartialEq)]
pub enum DirectPostBody {
    /// `vp_token=…&state=…`.
    Response(AuthorizationResponse),
    /// `error=…&error_description=…&state=…`.
    Error(AuthorizationErrorResponse),
    /// `response=<JWE>` (`direct_post.jwt`); decrypt, then read the payload as JSON.
    Encrypted(String),
}

/// Why a response form was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResponseError {
    #[error("response form repeats the `{0}` parameter")]
    RepeatedParameter(String),
    #[error("response form has none of `vp_token`, `error`, `response`")]
    Empty,
    #[error("response form mixes `vp_token`, `error` and `response`")]
    Mixed,
    #[error("`vp_token` is not a JSON object of arrays: {0}")]
    BadVpToken(String),
}

impl AuthorizationResponse {
    /// The form pairs: `vp_token` as a JSON string, then `state`.
    #[expect(clippy::expect_used, reason = "JSON serialises")]
    pub fn to_form(&self) -> Vec<(String, String)> {
        let mut pairs = vec![(
            "vp_token".to_owned(),
            serde_json::to_string(&self.vp_token).expect("JSON serialises"),
        )];
        if let Some(state) = &self.state {
            pairs.push(("state".to_owned(), state.clone()));
        }
        pairs
    }

    /// The `application/x-www-form-urlencoded` body.
    pub fn to_form_string(&self) -> String {
        form_string(self.to_form())
    }
}

impl AuthorizationErrorResponse {
    /// The form pairs.
    pub fn to_form(&self) -> Vec<(String, String)> {
        let mut pairs = vec![("error".to_owned(), self.error.as_str().to_owned())];
        if let Some(d) = &self.error_description {
            pairs.push(("error_description".to_owned(), d.clone()));
        }
        if let Some(state) = &self.state {
            pairs.push(("state".to_owned(), state.clone()));
        }
        pairs
    }

    /// The `application/x-www-form-urlencoded` body.
    pub fn to_form_string(&self) -> String {
        form_string(self.to_form())
    }
}

fn form_string(pairs: Vec<(String, String)>) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

impl DirectPostBody {
    /// Parses the form pairs of a `direct_post` body.
    pub fn from_form<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, ResponseError> {
        let mut map: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in pairs {
            let k = k.as_ref();
            if map.insert(k.to_owned(), v.as_ref().to_owned()).is_some() {
                return Err(ResponseError::RepeatedParameter(k.to_owned()));
            }
        }
        let state = map.remove("state");
        match (
            map.remove("vp_token"),
            map.remove("error"),
            map.remove("response"),
        ) {
            (Some(vp), None, None) => {
                let vp_token: BTreeMap<String, Vec<Value>> = serde_json::from_str(&vp)
                    .map_err(|e| ResponseError::BadVpToken(e.to_string()))?;
                Ok(DirectPostBody::Response(AuthorizationResponse {
                    vp_token,
                    state,
                }))
            }
            (None, Some(error), None) => Ok(DirectPostBody::Error(AuthorizationErrorResponse {
                error: ErrorCode::parse(&error),
                error_description: map.remove("error_description"),
                state,
            })),
            (None, None, Some(jwe)) => Ok(DirectPostBody::Encrypted(jwe)),
            (None, None, None) => Err(ResponseError::Empty),
            _ => Err(ResponseError::Mixed),
        }
    }

    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn from_form_str(body: &str) -> Result<Self, ResponseError> {
        Self::from_form(form_urlencoded::parse(body.as_bytes()))
    }
}
