//! The Authorization Request (OpenID4VP §5.1–§5.2) and its signed Request Object
//! (§5.8, RFC 9101), with the parameter rules of §5 and §8.2.
//!
//! [`decode_request_object`] checks the type and parses the claims; the caller resolves
//! the key the client id names and calls [`Jws::verify`](crate::jose::Jws::verify), then
//! [`check_client_id`] against the `client_id` of the invocation URI.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::client_id::ClientId;
use super::dcql::{DcqlQuery, InvalidQuery};
use crate::jose::{self, JoseError, Jws};
use crate::keys::Signer;
use crate::oauth::ErrorCode;

/// The `typ` of a Request Object (§5.8 via RFC 9101 §10.8).
pub const TYP_REQUEST_OBJECT: &str = "oauth-authz-req+jwt";
/// The static `aud` of a Request Object for wallets without published metadata (§5.8).
pub const SELF_ISSUED_AUDIENCE: &str = "https://self-issued.me/v2";

/// `response_mode` (§8, OAuth Response Modes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResponseMode {
    /// Form POST to `response_uri` (§8.2).
    #[serde(rename = "direct_post")]
    DirectPost,
    /// Encrypted form POST to `response_uri` (§8.3).
    #[serde(rename = "direct_post.jwt")]
    DirectPostJwt,
    /// Parameters in the redirect URI fragment (the OAuth default for `vp_token`).
    #[default]
    #[serde(rename = "fragment")]
    Fragment,
    /// Parameters in the redirect URI query.
    #[serde(rename = "query")]
    Query,
    /// Digital Credentials API (Appendix A).
    #[serde(rename = "dc_api")]
    DcApi,
    /// Digital Credentials API, encrypted.
    #[serde(rename = "dc_api.jwt")]
    DcApiJwt,
}

impl ResponseMode {
    /// Whether the response goes to `response_uri` by POST.
    pub fn is_direct_post(self) -> bool {
        matches!(self, ResponseMode::DirectPost | ResponseMode::DirectPostJwt)
    }
}

/// An Authorization Request: the claims of a Request Object or the plain parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The client, prefix included.
    pub client_id: ClientId,
    /// `vp_token` (or `vp_token id_token`, `code`).
    pub response_type: String,
    /// How the response is returned (absent ⇒ `fragment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_mode: Option<ResponseMode>,
    /// Where `direct_post*` responses go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_uri: Option<Url>,
    /// Where fragment/query responses go; absent with `direct_post*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<Url>,
    /// The nonce presentations are bound to.
    pub nonce: String,
    /// Opaque verifier state, echoed in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The DCQL query; excludes `scope`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dcql_query: Option<DcqlQuery>,
    /// A scope standing for a pre-agreed query; excludes `dcql_query`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Verifier metadata passed by value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<ClientMetadata>,
    /// base64url JSON transaction data objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_data: Option<Vec<String>>,
    /// Attestations about the verifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier_info: Option<Vec<Value>>,
    /// Request Object audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Request Object issuer (ignored by wallets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Echo of the wallet's `wallet_nonce` (`request_uri_method=post`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_nonce: Option<String>,
    /// Request Object expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Request Object issuance time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

/// `client_metadata` (§5.1): the only members OpenID4VP defines for it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientMetadata {
    /// JWK Set with the keys to encrypt the response to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// Accepted JWE `enc` values (default `A128GCM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_response_enc_values_supported: Option<Vec<String>>,
    /// Accepted formats and algorithms, per format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vp_formats_supported: Option<serde_json::Map<String, Value>>,
}

/// Why an Authorization Request or Request Object was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RequestError {
    #[error("both `dcql_query` and `scope` are present")]
    QueryAndScope,
    #[error("neither `dcql_query` nor `scope` is present")]
    NoQuery,
    #[error("`dcql_query`: {0}")]
    Dcql(#[from] InvalidQuery),
    #[error("`response_type` {0:?} is not supported (vp_token is)")]
    UnsupportedResponseType(String),
    #[error("`response_mode` {0:?} needs `response_uri`")]
    MissingResponseUri(ResponseMode),
    #[error("`response_uri` must be https, found {0}")]
    InsecureResponseUri(String),
    #[error("`redirect_uri` must be absent with `response_mode` {0:?}")]
    RedirectUriWithDirectPost(ResponseMode),
    #[error("`nonce` is empty or has characters outside [A-Za-z0-9-._~]")]
    BadNonce,
    #[error("`state` has characters outside [A-Za-z0-9-._~]")]
    BadState,
    #[error("`state` is required when a credential query waives holder binding")]
    StateRequired,
    #[error("request object: {0}")]
    Jose(JoseError),
    #[error("request object claims are not an Authorization Request: {0}")]
    BadClaims(String),
    #[error("request object `client_id` {found:?} differs from the request's {expected:?}")]
    ClientIdMismatch { expected: String, found: String },
}

impl RequestError {
    /// The error code the wallet reports (§8.5).
    pub fn error_code(&self) -> ErrorCode {
        ErrorCode::InvalidRequest
    }
}

fn valid_nonce_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

impl AuthorizationRequest {
    /// The response mode in effect (`fragment` when absent).
    pub fn effective_response_mode(&self) -> ResponseMode {
        self.response_mode.unwrap_or_default()
    }

    /// Checks the parameter rules of §5.1, §5.2 and §8.2.
    pub fn validate(&self) -> Result<(), RequestError> {
        if !self.response_type.split(' ').any(|t| t == "vp_token") {
            return Err(RequestError::UnsupportedResponseType(
                self.response_type.clone(),
            ));
        }
        match (&self.dcql_query, &self.scope) {
            (Some(_), Some(_)) => return Err(RequestError::QueryAndScope),
            (None, None) => return Err(RequestError::NoQuery),
            (Some(q), None) => q.validate()?,
            (None, Some(_)) => {}
        }
        let mode = self.effective_response_mode();
        if mode.is_direct_post() {
            let Some(uri) = &self.response_uri else {
                return Err(RequestError::MissingResponseUri(mode));
            };
            if !crate::oid4vci::is_secure_origin(uri) {
                return Err(RequestError::InsecureResponseUri(uri.to_string()));
            }
            if self.redirect_uri.is_some() {
                return Err(RequestError::RedirectUriWithDirectPost(mode));
            }
        }
        if self.nonce.is_empty() || !valid_nonce_chars(&self.nonce) {
            return Err(RequestError::BadNonce);
        }
        match &self.state {
            Some(state) if state.is_empty() || !valid_nonce_chars(state) => {
                return Err(RequestError::BadState);
            }
            Some(_) => {}
            None => {
                let waives = self
                    .dcql_query
                    .iter()
                    .flat_map(|q| &q.credentials)
                    .any(|c| !c.require_cryptographic_holder_binding);
                if waives && !matches!(mode, ResponseMode::DcApi | ResponseMode::DcApiJwt) {
                    return Err(RequestError::StateRequired);
                }
            }
        }
        Ok(())
    }
}

/// Signs `req` as a Request Object (`typ: oauth-authz-req+jwt`), naming the key by `kid`.
pub fn sign_request_object(
    req: &AuthorizationRequest,
    signer: &dyn Signer,
    kid: Option<&str>,
) -> String {
    Jws::sign(jose::header(TYP_REQUEST_OBJECT, kid), req, signer)
}

/// `req` as an unsigned Request Object (`alg: none`, `typ: oauth-authz-req+jwt`): the only
/// form a `redirect_uri:` client may send (OpenID4VP 1.0 §5.9.3).
#[expect(clippy::expect_used, reason = "a request serialises")]
pub fn unsigned_request_object(req: &AuthorizationRequest) -> String {
    let header = serde_json::json!({"alg": "none", "typ": TYP_REQUEST_OBJECT});
    let payload = serde_json::to_vec(req).expect("a request serialises");
    format!(
        "{}.{}.",
        crate::b64::encode(header.to_string()),
        crate::b64::encode(payload)
    )
}

/// Signs `req` as a Request Object with an `x5c` certificate chain (`x509_hash:`,
/// `x509_san_dns:` clients); `x5c` is base64 (not base64url) DER, leaf first.
pub fn sign_request_object_x5c(
    req: &AuthorizationRequest,
    signer: &dyn Signer,
    x5c: &[String],
) -> String {
    let mut header = jose::header(TYP_REQUEST_OBJECT, None);
    header.insert("x5c".into(), Value::from(x5c.to_vec()));
    Jws::sign(header, req, signer)
}

/// Decodes a Request Object: checks `typ` and parses the claims. The signature is *not*
/// checked: verify the returned [`Jws`] with the key the client id resolves to.
pub fn decode_request_object(jwt: &str) -> Result<(Jws, AuthorizationRequest), RequestError> {
    let jws = Jws::decode(jwt).map_err(RequestError::Jose)?;
    jws.expect_typ(&[TYP_REQUEST_OBJECT])
        .map_err(RequestError::Jose)?;
    let req: AuthorizationRequest = serde_json::from_value(Value::Object(jws.payload.clone()))
        .map_err(|e| RequestError::BadClaims(e.to_string()))?;
    Ok((jws, req))
}

/// Checks that the Request Object's `client_id` equals the invocation's (§5.8).
pub fn check_client_id(
    query_client_id: &str,
    req: &AuthorizationRequest,
) -> Result<(), RequestError> {
    if req.client_id.as_str() != query_client_id {
        return Err(RequestError::ClientIdMismatch {
            expected: query_client_id.to_owned(),
            found: req.client_id.as_str().to_owned(),
        });
    }
    Ok(())
}
