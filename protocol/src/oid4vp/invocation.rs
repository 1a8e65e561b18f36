//! Wallet invocation URIs (OpenID4VP §5, §5.10): `openid4vp://?…` or a wallet's https link
//! carrying `client_id` with `request_uri` (by reference), `request` (by value, signed)
//! or the plain request parameters.

use serde::{Deserialize, Serialize};
use url::Url;

use super::client_id::{ClientId, ClientIdError};
use super::request::AuthorizationRequest;
use crate::oauth::ErrorCode;

/// The custom scheme of the static wallet configuration (§13.1.2), ready to take a query.
pub const OPENID4VP_SCHEME: &str = "openid4vp://";

/// `request_uri_method` (§5.10).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestUriMethod {
    /// GET the Request Object (the default).
    #[default]
    Get,
    /// POST `wallet_metadata` and `wallet_nonce` to get the Request Object.
    Post,
}

/// A request by reference: where the wallet fetches the Request Object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestUri {
    /// The client, as the Request Object must repeat it.
    pub client_id: ClientId,
    /// Where the Request Object is.
    pub request_uri: Url,
    /// How to fetch it.
    pub request_uri_method: RequestUriMethod,
}

/// What a wallet link carries.
#[derive(Clone, Debug, PartialEq)]
pub enum Invocation {
    /// `request_uri=…`.
    ByReference(RequestUri),
    /// `request=<jwt>`.
    ByValue {
        client_id: ClientId,
        request: String,
    },
    /// The parameters themselves (unsigned; `dcql_query` and `client_metadata` as JSON).
    Plain(Box<AuthorizationRequest>),
}

/// Why a wallet link was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InvocationError {
    #[error("wallet link is not a URL: {0}")]
    NotAUrl(url::ParseError),
    #[error("wallet link scheme {0:?} is neither `openid4vp` nor https")]
    UnsupportedScheme(String),
    #[error("wallet link has no `client_id`")]
    NoClientId,
    #[error("wallet link `client_id`: {0}")]
    ClientId(#[from] ClientIdError),
    #[error("wallet link repeats the `{0}` parameter")]
    RepeatedParameter(String),
    #[error("wallet link has both `request` and `request_uri`")]
    RequestAndRequestUri,
    #[error("`request_uri` is not an https URL: {0:?}")]
    BadRequestUri(String),
    #[error("`request_uri_method` {0:?} is neither `get` nor `post`")]
    BadRequestUriMethod(String),
    #[error("`request_uri_method` without `request_uri`")]
    MethodWithoutRequestUri,
    #[error("wallet link parameters are not an Authorization Request: {0}")]
    BadParameters(String),
    #[error("link base {0:?} cannot carry a query")]
    BadBase(String),
}

impl InvocationError {
    /// The error code the wallet reports, if it can reach the verifier at all (§8.5).
    pub fn error_code(&self) -> ErrorCode {
        match self {
            InvocationError::BadRequestUriMethod(_) => ErrorCode::InvalidRequestUriMethod,
            _ => ErrorCode::InvalidRequest,
        }
    }
}

impl RequestUri {
    /// `<base>?client_id=…&request_uri=…[&request_uri_method=post]`; `base` is
    /// [`OPENID4VP_SCHEME`] or a wallet's https link.
    pub fn to_url(&self, base: &str) -> Result<Url, InvocationError> {
        let mut url = Url::parse(base).map_err(|_| InvocationError::BadBase(base.to_owned()))?;
        if url.cannot_be_a_base() {
            return Err(InvocationError::BadBase(base.to_owned()));
        }
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", self.client_id.as_str());
            q.append_pair("request_uri", self.request_uri.as_str());
            if self.request_uri_method == RequestUriMethod::Post {
                q.append_pair("request_uri_method", "post");
            }
        }
        Ok(url)
    }
}

impl Invocation {
    /// Parses an `openid4vp://?…` or https wallet link.
    pub fn parse(text: &str) -> Result<Self, InvocationError> {
        let url = Url::parse(text.trim()).map_err(InvocationError::NotAUrl)?;
        if url.scheme() != "openid4vp" && !crate::oid4vci::is_secure_origin(&url) {
            return Err(InvocationError::UnsupportedScheme(url.scheme().to_owned()));
        }
        let mut params = serde_json::Map::new();
        for (name, value) in url.query_pairs() {
            if params.contains_key(name.as_ref()) {
                return Err(InvocationError::RepeatedParameter(name.into_owned()));
            }
            params.insert(
                name.into_owned(),
                serde_json::Value::String(value.into_owned()),
            );
        }
        let take = |params: &mut serde_json::Map<String, serde_json::Value>, name: &str| {
            params
                .remove(name)
                .and_then(|v| v.as_str().map(str::to_owned))
        };
        let client_id = take(&mut params, "client_id").ok_or(InvocationError::NoClientId)?;
        let client_id = ClientId::parse(&client_id)?;
        let request = take(&mut params, "request");
        let request_uri = take(&mut params, "request_uri");
        let method = take(&mut params, "request_uri_method");
        match (request, request_uri) {
            (Some(_), Some(_)) => Err(InvocationError::RequestAndRequestUri),
            (Some(request), None) => {
                if method.is_some() {
                    return Err(InvocationError::MethodWithoutRequestUri);
                }
                Ok(Invocation::ByValue { client_id, request })
            }
            (None, Some(uri)) => {
                let request_uri = match Url::parse(&uri) {
                    Ok(u) if crate::oid4vci::is_secure_origin(&u) => u,
                    _ => return Err(InvocationError::BadRequestUri(uri)),
                };
                let request_uri_method = match method.as_deref() {
                    None | Some("get") => RequestUriMethod::Get,
                    Some("post") => RequestUriMethod::Post,
                    Some(other) => {
                        return Err(InvocationError::BadRequestUriMethod(other.to_owned()));
                    }
                };
                Ok(Invocation::ByReference(RequestUri {
                    client_id,
                    request_uri,
                    request_uri_method,
                }))
            }
            (None, None) => {
                if method.is_some() {
                    return Err(InvocationError::MethodWithoutRequestUri);
                }
                // JSON-valued parameters arrive as JSON strings (§5.1).
                for name in [
                    "dcql_query",
                    "client_metadata",
                    "transaction_data",
                    "verifier_info",
                ] {
                    if let Some(serde_json::Value::String(json)) = params.get(name) {
                        let parsed = serde_json::from_str(json).map_err(|e| {
                            InvocationError::BadParameters(format!("`{name}`: {e}"))
                        })?;
                        params.insert(name.to_owned(), parsed);
                    }
                }
                params.insert("client_id".into(), client_id.as_str().into());
                let req: AuthorizationRequest =
                    serde_json::from_value(serde_json::Value::Object(params))
                        .map_err(|e| InvocationError::BadParameters(e.to_string()))?;
                Ok(Invocation::Plain(Box::new(req)))
            }
        }
    }

    /// The `client_id` of the link.
    pub fn client_id(&self) -> &ClientId {
        match self {
            Invocation::ByReference(r) => &r.client_id,
            Invocation::ByValue { client_id, .. } => client_id,
            Invocation::Plain(req) => &req.client_id,
        }
    }
}
