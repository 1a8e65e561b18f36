//! OpenID4VP over the W3C Digital Credentials API (OpenID4VP 1.0 Appendix A): the
//! request a web page hands to `navigator.credentials.get({digital: {requests: [{protocol,
//! data}]}})` and the `data` of the `DigitalCredential` the wallet answers with.
//!
//! * `openid4vp-v1-unsigned`: `data` is the request's parameters as a JSON object; there
//!   is no `client_id` (a wallet ignores one), and presentations are bound to the audience
//!   `origin:<the page's origin>` as the browser reports it to the wallet (§A.4).
//! * `openid4vp-v1-signed`: `data` is `{"request": <JWS>}`, a Request Object (`typ`
//!   `oauth-authz-req+jwt`) whose claims carry `client_id` and `expected_origins`; the
//!   wallet refuses it when the page's origin is not listed, and binds presentations to the
//!   `client_id`.
//! * `response_mode` is `dc_api` (the answer is `{"vp_token": {…}}`) or `dc_api.jwt` (the
//!   answer is `{"response": <JWE>}`, the parameters encrypted to a `client_metadata.jwks`
//!   key, as with `direct_post.jwt`). There is no `state`, `response_uri` or
//!   `redirect_uri`: the page gets the answer back from the browser.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::dcql::DcqlQuery;
use super::request::{ClientMetadata, RequestError, ResponseMode, TYP_REQUEST_OBJECT};
use crate::jose::{JoseError, Jws};

/// The Digital Credentials API protocol of an unsigned OpenID4VP request.
pub const PROTOCOL_UNSIGNED: &str = "openid4vp-v1-unsigned";
/// The Digital Credentials API protocol of a signed OpenID4VP request.
pub const PROTOCOL_SIGNED: &str = "openid4vp-v1-signed";
/// The prefix of the audience of presentations made for an unsigned request.
pub const ORIGIN_PREFIX: &str = "origin:";

/// The parameters of an OpenID4VP request over the Digital Credentials API: the `data` of
/// an unsigned request, or the claims of a signed one's Request Object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DcApiRequest {
    /// The client, prefix included: signed requests only (a wallet ignores it in an
    /// unsigned one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `vp_token`.
    pub response_type: String,
    /// `dc_api` or `dc_api.jwt`.
    pub response_mode: ResponseMode,
    /// The nonce presentations are bound to.
    pub nonce: String,
    pub dcql_query: DcqlQuery,
    /// `jwks` (the key to encrypt a `dc_api.jwt` answer to), the accepted `enc` values and
    /// formats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<ClientMetadata>,
    /// The origins the request may be used from: required in a signed request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_origins: Option<Vec<String>>,
    /// Request Object issuance time and expiry (signed requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

/// Why a Digital Credentials API request was refused; each variant names the failed check.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DcApiError {
    #[error(
        "protocol {0:?} is not an OpenID4VP 1.0 protocol (openid4vp-v1-unsigned, openid4vp-v1-signed)"
    )]
    UnknownProtocol(String),
    #[error("`data` is not a JSON object")]
    DataNotObject,
    #[error("a signed request's `data` has no `request` string")]
    NoRequestObject,
    #[error("request object: {0}")]
    Jose(JoseError),
    #[error("request parameters: {0}")]
    BadParameters(String),
    #[error("request: {0}")]
    Request(#[from] RequestError),
    #[error(
        "`response_mode` {0:?} is not one of the Digital Credentials API's (dc_api, dc_api.jwt)"
    )]
    ResponseMode(ResponseMode),
    #[error("a signed request has no `client_id`")]
    NoClientId,
    #[error("a signed request has no `expected_origins`")]
    NoExpectedOrigins,
    #[error("the page's origin {origin} is not among the request's expected_origins {expected:?}")]
    UnexpectedOrigin {
        origin: String,
        expected: Vec<String>,
    },
    #[error("the request expired at {exp} (now {now})")]
    Expired { exp: i64, now: i64 },
}

/// A request as a wallet receives it: the parameters and, for a signed request, its Request
/// Object (whose signature the wallet checks with the key `client_id` resolves to).
#[derive(Clone, Debug)]
pub struct ReceivedRequest {
    pub request: DcApiRequest,
    pub signed: Option<Jws>,
}

impl ReceivedRequest {
    /// The audience presentations are bound to: the `client_id` of a signed request,
    /// `origin:<origin>` for an unsigned one.
    pub fn audience(&self, origin: &str) -> String {
        match (&self.signed, &self.request.client_id) {
            (Some(_), Some(client_id)) => client_id.clone(),
            _ => origin_audience(origin),
        }
    }
}

/// `origin:<origin>`: the audience of presentations made for an unsigned request.
pub fn origin_audience(origin: &str) -> String {
    format!("{ORIGIN_PREFIX}{origin}")
}

/// The web origin of `url` (`scheme://host[:port]`), as a browser reports it.
pub fn web_origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl DcApiRequest {
    /// Checks the parameter rules: `vp_token`, a Digital Credentials API response mode, a
    /// well-formed nonce, a valid DCQL query; a signed request's `client_id` and
    /// `expected_origins`; expiry.
    pub fn validate(&self, signed: bool, now: i64) -> Result<(), DcApiError> {
        if !self.response_type.split(' ').any(|t| t == "vp_token") {
            return Err(RequestError::UnsupportedResponseType(self.response_type.clone()).into());
        }
        if !matches!(
            self.response_mode,
            ResponseMode::DcApi | ResponseMode::DcApiJwt
        ) {
            return Err(DcApiError::ResponseMode(self.response_mode));
        }
        if self.nonce.is_empty()
            || !self
                .nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        {
            return Err(RequestError::BadNonce.into());
        }
        self.dcql_query.validate().map_err(RequestError::from)?;
        if signed {
            if self.client_id.as_deref().is_none_or(str::is_empty) {
                return Err(DcApiError::NoClientId);
            }
            if self.expected_origins.as_ref().is_none_or(Vec::is_empty) {
                return Err(DcApiError::NoExpectedOrigins);
            }
        }
        if let Some(exp) = self.exp
            && exp < now
        {
            return Err(DcApiError::Expired { exp, now });
        }
        Ok(())
    }

    /// Checks that `origin` may use this request: it is in `expected_origins` when the
    /// request lists them (a signed request must).
    pub fn check_origin(&self, origin: &str) -> Result<(), DcApiError> {
        match &self.expected_origins {
            Some(list) if !list.iter().any(|o| o == origin) => Err(DcApiError::UnexpectedOrigin {
                origin: origin.to_owned(),
                expected: list.clone(),
            }),
            _ => Ok(()),
        }
    }
}

/// Reads what a page passed to the Digital Credentials API: `protocol` and `data`. The
/// parameters are checked ([`DcApiRequest::validate`]) and, for `origin`, the expected
/// origins; a signed request's signature is *not* checked here.
pub fn receive_request(
    protocol: &str,
    data: &Value,
    origin: &str,
    now: i64,
) -> Result<ReceivedRequest, DcApiError> {
    let object = data.as_object().ok_or(DcApiError::DataNotObject)?;
    let received = match protocol {
        PROTOCOL_UNSIGNED => {
            let mut params = object.clone();
            // The wallet ignores a client_id in an unsigned request (§A.2).
            params.remove("client_id");
            ReceivedRequest {
                request: parse_params(params)?,
                signed: None,
            }
        }
        PROTOCOL_SIGNED => {
            let jwt = object
                .get("request")
                .and_then(Value::as_str)
                .ok_or(DcApiError::NoRequestObject)?;
            let jws = Jws::decode(jwt).map_err(DcApiError::Jose)?;
            jws.expect_typ(&[TYP_REQUEST_OBJECT])
                .map_err(DcApiError::Jose)?;
            ReceivedRequest {
                request: parse_params(jws.payload.clone())?,
                signed: Some(jws),
            }
        }
        other => {
            return Err(DcApiError::UnknownProtocol(
                other.chars().take(64).collect(),
            ));
        }
    };
    received.request.validate(received.signed.is_some(), now)?;
    received.request.check_origin(origin)?;
    Ok(received)
}

fn parse_params(params: Map<String, Value>) -> Result<DcApiRequest, DcApiError> {
    serde_json::from_value(Value::Object(params))
        .map_err(|e| DcApiError::BadParameters(e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::keys::{Alg, SigningKey};

    const ORIGIN: &str = "https://verifier.example";

    fn params() -> Value {
        json!({
            "response_type": "vp_token",
            "response_mode": "dc_api.jwt",
            "nonce": "n-1",
            "dcql_query": {"credentials": [{"id": "b", "format": "dc+sd-jwt",
                                            "meta": {"vct_values": ["https://i.example/vct"]}}]},
        })
    }

    fn signed(mut claims: Value) -> Value {
        let key = SigningKey::generate(Alg::ES256);
        claims["client_id"] = json!("x509_hash:abc");
        let jwt = Jws::sign(crate::jose::header(TYP_REQUEST_OBJECT, None), &claims, &key);
        json!({ "request": jwt })
    }

    #[test]
    fn an_unsigned_request_is_bound_to_the_origin_and_its_client_id_ignored() {
        let mut data = params();
        data["client_id"] = json!("redirect_uri:https://attacker.example/");
        let r = receive_request(PROTOCOL_UNSIGNED, &data, ORIGIN, 0).unwrap();
        assert!(r.signed.is_none() && r.request.client_id.is_none());
        assert_eq!(r.audience(ORIGIN), "origin:https://verifier.example");
    }

    #[test]
    fn a_signed_request_needs_expected_origins_listing_the_page() {
        let mut claims = params();
        claims["expected_origins"] = json!([ORIGIN]);
        let r = receive_request(PROTOCOL_SIGNED, &signed(claims.clone()), ORIGIN, 0).unwrap();
        assert_eq!(r.audience(ORIGIN), "x509_hash:abc");
        assert_eq!(
            receive_request(PROTOCOL_SIGNED, &signed(claims), "https://evil.example", 0)
                .unwrap_err(),
            DcApiError::UnexpectedOrigin {
                origin: "https://evil.example".into(),
                expected: vec![ORIGIN.into()]
            }
        );
        assert_eq!(
            receive_request(PROTOCOL_SIGNED, &signed(params()), ORIGIN, 0).unwrap_err(),
            DcApiError::NoExpectedOrigins
        );
    }

    #[test]
    fn each_check_fails_on_its_own() {
        let err =
            |protocol: &str, data: Value| receive_request(protocol, &data, ORIGIN, 10).unwrap_err();
        assert!(matches!(
            err("openid4vp", params()),
            DcApiError::UnknownProtocol(_)
        ));
        assert_eq!(
            err(PROTOCOL_UNSIGNED, json!("x")),
            DcApiError::DataNotObject
        );
        assert_eq!(err(PROTOCOL_SIGNED, params()), DcApiError::NoRequestObject);
        assert!(matches!(
            err(PROTOCOL_SIGNED, json!({"request": "not.a.jws"})),
            DcApiError::Jose(_)
        ));
        let with = |k: &str, v: Value| {
            let mut p = params();
            p[k] = v;
            p
        };
        assert_eq!(
            err(
                PROTOCOL_UNSIGNED,
                with("response_mode", json!("direct_post"))
            ),
            DcApiError::ResponseMode(ResponseMode::DirectPost)
        );
        assert_eq!(
            err(PROTOCOL_UNSIGNED, with("nonce", json!("a b"))),
            DcApiError::Request(RequestError::BadNonce)
        );
        assert_eq!(
            err(PROTOCOL_UNSIGNED, with("exp", json!(9))),
            DcApiError::Expired { exp: 9, now: 10 }
        );
        assert!(matches!(
            err(PROTOCOL_UNSIGNED, with("nonce", json!(7))),
            DcApiError::BadParameters(_)
        ));
        assert!(matches!(
            err(
                PROTOCOL_UNSIGNED,
                with("dcql_query", json!({"credentials": []}))
            ),
            DcApiError::Request(RequestError::Dcql(_))
        ));
    }

    #[test]
    fn the_origin_of_a_url_is_what_a_browser_reports() {
        let u = Url::parse("http://127.0.0.1:8083/desk/requests/x?y#z").unwrap();
        assert_eq!(web_origin(&u), "http://127.0.0.1:8083");
        let u = Url::parse("https://v.example:443/desk").unwrap();
        assert_eq!(web_origin(&u), "https://v.example");
    }
}
