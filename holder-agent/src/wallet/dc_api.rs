//! Answering an OpenID4VP request that came through the browser's Digital Credentials API
//! (OpenID4VP 1.0 Appendix A), as a platform wallet does when the browser hands it
//! `{protocol, data}` and the origin of the page that asked.
//!
//! * `openid4vp-v1-unsigned`: the parameters as given; any `client_id` is ignored and the
//!   presentations are bound to `origin:<origin>`.
//! * `openid4vp-v1-signed`: the Request Object's signature is checked with the key its
//!   `client_id` names (as for `request_uri`: `decentralized_identifier:` by the JOSE
//!   `kid`, `x509_hash:` / `x509_san_dns:` by the `x5c` chain to a trust anchor, the
//!   SAN's DNS name then being the origin's host); `expected_origins` must list the origin;
//!   presentations are bound to the `client_id`. `origin:` and `redirect_uri:` clients
//!   cannot sign and are refused.
//! * The answer is the `DigitalCredential.data`: `{"vp_token": {…}}` (`dc_api`) or
//!   `{"response": <JWE>}` (`dc_api.jwt`, ECDH-ES to the `client_metadata.jwks` key).
//!
//! Nothing is posted anywhere: the browser returns the answer to the page.

use protocol::jose::jwe;
use protocol::oid4vp::dc_api::{self, DcApiError};
use protocol::oid4vp::{ClientId, ClientIdPrefix, ResponseMode};
use serde::Serialize;
use serde_json::{Map, Value};

use super::oid4vp::{PresentError, PresentedCredential, encryption_key_of};
use super::{Account, AppError};
use crate::App;

/// The wallet's answer to a Digital Credentials API request.
#[derive(Debug, Clone, Serialize)]
pub struct DcApiAnswer {
    /// What the browser returns to the page as `DigitalCredential.data`.
    pub data: Value,
    /// The audience the presentations are bound to.
    pub audience: String,
    /// Who signed the request (the verified key or certificate); `None` when unsigned.
    pub signed_by: Option<String>,
    pub credentials: Vec<PresentedCredential>,
}

impl App {
    /// Answers the Digital Credentials API request `protocol` / `data` that the page at
    /// `origin` (as the browser reports it: `scheme://host[:port]`) made, with all that
    /// `account`'s matching credentials hold of what was requested.
    pub async fn answer_dc_api(
        &self,
        account: &Account,
        protocol: &str,
        data: &Value,
        origin: &str,
        now: i64,
    ) -> Result<DcApiAnswer, AppError> {
        let received =
            dc_api::receive_request(protocol, data, origin, now).map_err(PresentError::from)?;
        let signed_by = match &received.signed {
            None => None,
            Some(jws) => {
                let raw = received
                    .request
                    .client_id
                    .as_deref()
                    .ok_or(PresentError::DcApi(DcApiError::NoClientId))?;
                let client_id = ClientId::parse(raw).map_err(|e| {
                    PresentError::DcApi(DcApiError::BadParameters(format!("client_id: {e}")))
                })?;
                Some(match client_id.prefix() {
                    ClientIdPrefix::DecentralizedIdentifier(did) => {
                        self.verify_did_request(did.clone(), jws).await?
                    }
                    ClientIdPrefix::X509Hash(_) | ClientIdPrefix::X509SanDns(_) => {
                        let origin_url = url::Url::parse(origin).map_err(|e| {
                            PresentError::DcApi(DcApiError::BadParameters(format!(
                                "origin {origin:?}: {e}"
                            )))
                        })?;
                        self.verify_x509_request(&client_id, jws, Some(&origin_url), now)?
                    }
                    ClientIdPrefix::RedirectUri(_) => {
                        return Err(PresentError::SignedRedirectUri.into());
                    }
                    _ => {
                        return Err(PresentError::UnsupportedClientIdPrefix {
                            client_id: raw.to_owned(),
                        }
                        .into());
                    }
                })
            }
        };
        let request = &received.request;
        let audience = received.audience(origin);
        let credentials = match self.match_query(account, &request.dcql_query).await? {
            Ok(credentials) => credentials,
            Err(reason) => return Err(PresentError::NoMatch { reason }.into()),
        };
        let choices = vec![None; credentials.len()];
        let (vp_token, sent) = self
            .build_vp_token(
                account,
                &request.dcql_query,
                &credentials,
                &choices,
                &audience,
                &request.nonce,
                now,
            )
            .await?;
        let vp_token = serde_json::to_value(&vp_token)
            .map_err(|e| AppError::Internal(format!("vp_token: {e}")))?;
        let mut params = Map::new();
        params.insert("vp_token".into(), vp_token);
        let data = match request.response_mode {
            ResponseMode::DcApiJwt => {
                let (jwk, enc) = encryption_key_of(request.client_metadata.as_ref())?;
                let payload = serde_json::to_vec(&params)
                    .map_err(|e| AppError::Internal(format!("response: {e}")))?;
                let compact = jwe::encrypt(&payload, &jwk, enc, jwk.kid.as_deref())
                    .map_err(PresentError::from)?;
                let mut data = Map::new();
                data.insert("response".into(), Value::String(compact));
                Value::Object(data)
            }
            _ => Value::Object(params),
        };
        Ok(DcApiAnswer {
            data,
            audience,
            signed_by,
            credentials: sent,
        })
    }
}
