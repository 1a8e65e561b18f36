//! A presentation request offered through the browser's Digital Credentials API
//! (OpenID4VP 1.0 Appendix A): the desk page of a pending request asks for the
//! `{protocol, data}` to hand to `navigator.credentials.get`, and posts back the `data` of
//! the `DigitalCredential` the wallet answered with.
//!
//! The same request (its nonce, DCQL query and single answer) serves the QR code and the
//! Digital Credentials API: whichever answer comes first is the one verified.
//! - A `redirect_uri:` request (which cannot sign) is offered unsigned
//!   (`openid4vp-v1-unsigned`, no `client_id`): presentations must be bound to
//!   `origin:<the verifier's public origin>`.
//! - Any other is offered signed (`openid4vp-v1-signed`) with the request's own key (the
//!   X.509 certificate's for `x509_*:` clients, the did:web key otherwise) and
//!   `expected_origins` = the verifier's public origin; presentations are bound to its
//!   `client_id`.
//! - A `direct_post.jwt` request is offered as `dc_api.jwt` with the same per-request
//!   ECDH-ES key; a `direct_post` one as `dc_api`.
//!
//! The answer goes through the Response Endpoint's pipeline ([`Requests::conclude`]): the
//! request is answered once, the nonce and audience are checked with the key binding, the
//! issuer, status, trust and transparency checks follow, the result is stored and the desk
//! page woken.

use protocol::jose::{self, Jws, jwe};
use protocol::oid4vp::dc_api::{
    DcApiRequest, PROTOCOL_SIGNED, PROTOCOL_UNSIGNED, origin_audience, web_origin,
};
use protocol::oid4vp::dcql::DcqlQuery;
use protocol::oid4vp::{
    ClientIdPrefix, DirectPostBody, ResponseError, ResponseMode, TYP_REQUEST_OBJECT,
};
use serde::Serialize;
use serde_json::{Map, Value};
use url::Url;

use super::area::Requests;
use super::request_object::{client_metadata, invalid_request, stored_response_mode};
use super::response::{Answered, Channel, Encryption, response_pairs};
use crate::error::Error;
use crate::store::RequestRow;

/// What the desk page hands to `navigator.credentials.get({digital: {requests: [this]}})`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DcApiOffer {
    /// `openid4vp-v1-signed` or `openid4vp-v1-unsigned`.
    pub protocol: &'static str,
    /// `{"request": <JWS>}` (signed) or the request's parameters (unsigned).
    pub data: Value,
}

/// Whether a request is offered unsigned over the Digital Credentials API: a
/// `redirect_uri:` client cannot sign.
fn unsigned(row: &RequestRow) -> bool {
    row.client_id.starts_with("redirect_uri:")
}

impl Requests {
    /// The verifier's web origin (`scheme://host[:port]` of the public URL): the page's
    /// origin the browser reports to the wallet.
    pub fn origin(&self) -> Result<String, Error> {
        let url =
            Url::parse(&self.public_url).map_err(|e| Error::Config(format!("public URL: {e}")))?;
        Ok(web_origin(&url))
    }

    /// The audience presentations over the Digital Credentials API are bound to for `row`:
    /// `origin:<origin>` when offered unsigned, else the `client_id`.
    pub(super) fn dc_api_audience(&self, row: &RequestRow) -> Result<String, Error> {
        if unsigned(row) {
            Ok(origin_audience(&self.origin()?))
        } else {
            Ok(row.client_id.clone())
        }
    }

    /// The Digital Credentials API request of pending request `id`.
    pub async fn dc_api_request(&self, id: &str) -> Result<DcApiOffer, Error> {
        let row = self.open_request(id).await?;
        self.haip_signed(&row)?;
        let now = self.clock.now();
        let dcql_query: DcqlQuery = serde_json::from_str(&row.dcql_query)
            .map_err(|e| Error::Internal(format!("stored DCQL query: {e}")))?;
        let encryption_jwk = match row.encryption_key.as_deref() {
            Some(sealed) => Some(self.encryption_key(&row.id, sealed)?.public_jwk()),
            None => None,
        };
        let response_mode = match stored_response_mode(&row.response_mode)? {
            ResponseMode::DirectPostJwt => ResponseMode::DcApiJwt,
            _ => ResponseMode::DcApi,
        };
        let signed = !unsigned(&row);
        let request = DcApiRequest {
            client_id: signed.then(|| row.client_id.clone()),
            response_type: "vp_token".into(),
            response_mode,
            nonce: row.nonce.clone(),
            dcql_query,
            client_metadata: Some(client_metadata(encryption_jwk)),
            expected_origins: signed.then(|| self.origin()).transpose()?.map(|o| vec![o]),
            iat: signed.then_some(now),
            exp: signed.then_some(row.expires_at),
        };
        if !signed {
            let data = serde_json::to_value(&request)
                .map_err(|e| Error::Internal(format!("DC API request: {e}")))?;
            return Ok(DcApiOffer {
                protocol: PROTOCOL_UNSIGNED,
                data,
            });
        }
        let client_id = protocol::oid4vp::ClientId::parse(&row.client_id)
            .map_err(|e| Error::Internal(format!("stored client_id: {e}")))?;
        let jwt = match client_id.prefix() {
            ClientIdPrefix::X509SanDns(_) | ClientIdPrefix::X509Hash(_) => {
                let mut header = jose::header(TYP_REQUEST_OBJECT, None);
                header.insert("x5c".into(), Value::from(self.x509.x5c()));
                Jws::sign(header, &request, &self.x509.key)
            }
            _ => Jws::sign(
                jose::header(TYP_REQUEST_OBJECT, Some(&self.kid)),
                &request,
                &*self.es256,
            ),
        };
        let mut data = Map::new();
        data.insert("request".into(), Value::String(jwt));
        Ok(DcApiOffer {
            protocol: PROTOCOL_SIGNED,
            data: Value::Object(data),
        })
    }

    /// The `data` of the wallet's `DigitalCredential` for request `id`, posted by the desk
    /// page: `{"vp_token": {…}}` (`dc_api`) or `{"response": <JWE>}` (`dc_api.jwt`, to this
    /// request's key). Verified and stored as the Response Endpoint's answers are.
    pub async fn receive_dc_api(&self, id: &str, data: &Value) -> Result<Answered, Error> {
        let row = self
            .store
            .request(id)
            .await?
            .ok_or_else(|| Error::NotFound("request".into()))?;
        let object = data.as_object().ok_or_else(|| {
            invalid_request("the Digital Credentials API answer (`data`) is not a JSON object")
        })?;
        let (body, encryption) = match object.get("response") {
            Some(Value::String(compact)) => self.open_dc_api(&row, compact)?,
            Some(_) => return Err(invalid_request("`response` is not a string (a JWE)")),
            None => {
                let pairs = response_pairs(object.clone());
                let body = match DirectPostBody::from_form(pairs.iter().map(|(k, v)| (k, v))) {
                    Ok(body) => Ok(body),
                    Err(ResponseError::BadVpToken(e)) => Err(e),
                    Err(e) => return Err(invalid_request(e.to_string())),
                };
                (body, Encryption::NotRequired)
            }
        };
        self.conclude(&row.state, body, encryption, Channel::DcApi)
            .await
    }

    /// Decrypts a `dc_api.jwt` answer with `row`'s key; the JWE's `kid` must name it.
    fn open_dc_api(
        &self,
        row: &RequestRow,
        compact: &str,
    ) -> Result<(Result<DirectPostBody, String>, Encryption), Error> {
        let failed = |detail: String| Ok((Err(detail.clone()), Encryption::Failed(detail)));
        let header = jwe::protected_header(compact)
            .map_err(|e| invalid_request(format!("`response`: {e}")))?;
        let kid = header.get("kid").and_then(Value::as_str);
        let (Some(own_kid), Some(sealed)) = (&row.encryption_kid, &row.encryption_key) else {
            return failed(
                "the request was offered as dc_api (unencrypted) but the answer is a JWE".into(),
            );
        };
        if kid != Some(own_kid.as_str()) {
            return failed(format!(
                "the JWE's `kid` {kid:?} is not the key of request {}",
                row.id
            ));
        }
        let key = self.encryption_key(&row.id, sealed)?;
        let plain = match key.decrypt(compact) {
            Ok(plain) => plain,
            Err(e) => return failed(e.to_string()),
        };
        let params = match serde_json::from_slice::<Map<String, Value>>(&plain) {
            Ok(params) => params,
            Err(e) => return failed(format!("the decrypted payload is not a JSON object: {e}")),
        };
        let enc = header
            .get("enc")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let pairs = response_pairs(params);
        let body = match DirectPostBody::from_form(pairs.iter().map(|(k, v)| (k, v))) {
            Ok(DirectPostBody::Encrypted(_)) => {
                Err("the decrypted answer holds another `response`".to_owned())
            }
            Ok(body) => Ok(body),
            Err(ResponseError::BadVpToken(e)) => Err(e),
            Err(e) => Err(format!("the decrypted parameters: {e}")),
        };
        Ok((body, Encryption::Decrypted(enc)))
    }
}
