//! The request object served at `request_uri` (OpenID4VP 1.0 §5.10; JAR, `typ`
//! `oauth-authz-req+jwt`): signed with the verifier's DID key or X.509 certificate, or
//! unsigned for `redirect_uri:` clients; with the request's encryption key in
//! `client_metadata.jwks` when it asked for `direct_post.jwt` (§8.3, HAIP 1.0 §5).

use protocol::jose::jwe::{Enc, EncryptionKey};
use protocol::keys::Jwk;
use protocol::oid4vp::dcql::DcqlQuery;
use protocol::oid4vp::{
    AuthorizationRequest, ClientIdPrefix, ClientMetadata, ResponseMode, SELF_ISSUED_AUDIENCE,
};
use serde_json::{Value, json};
use url::Url;

use super::area::Requests;
use crate::error::Error;

/// The verifier's `vp_formats_supported` (OpenID4VP 1.0 §11.1, B.3.3) and, for
/// `direct_post.jwt`, the request's encryption key in `jwks` with the `enc` values HAIP
/// requires verifiers to accept (§5.1; HAIP 1.0 §5).
pub fn client_metadata(encryption_jwk: Option<Jwk>) -> ClientMetadata {
    let formats = json!({
        "dc+sd-jwt": {
            "sd-jwt_alg_values": ["ES256"],
            "kb-jwt_alg_values": ["ES256", "Ed25519"],
        }
    });
    let (jwks, enc_values) = match encryption_jwk {
        Some(jwk) => (
            Some(json!({ "keys": [jwk.to_value()] })),
            Some(vec![
                Enc::A128GCM.as_str().to_owned(),
                Enc::A256GCM.as_str().to_owned(),
            ]),
        ),
        None => (None, None),
    };
    ClientMetadata {
        jwks,
        encrypted_response_enc_values_supported: enc_values,
        vp_formats_supported: formats.as_object().cloned(),
    }
}

/// The response mode stored with a request.
pub(super) fn stored_response_mode(text: &str) -> Result<ResponseMode, Error> {
    serde_json::from_value(Value::String(text.to_owned()))
        .map_err(|e| Error::Internal(format!("stored response_mode {text:?}: {e}")))
}

pub(super) fn response_mode_text(mode: ResponseMode) -> String {
    match serde_json::to_value(mode) {
        Ok(Value::String(s)) => s,
        _ => unreachable!("response modes serialise as strings"),
    }
}

/// The sealing purpose of request `id`'s encryption key.
pub(super) fn encryption_key_purpose(id: &str) -> String {
    format!("verifier-response-key:{id}")
}

pub(super) fn invalid_request(description: impl Into<String>) -> Error {
    Error::protocol("invalid_request", description)
}

impl Requests {
    /// Pending request `id`, still open: not expired, not answered yet.
    pub(super) async fn open_request(&self, id: &str) -> Result<crate::store::RequestRow, Error> {
        let row = self
            .store
            .request(id)
            .await?
            .ok_or_else(|| Error::NotFound("request".into()))?;
        if row.expires_at <= self.clock.now() {
            return Err(invalid_request("the presentation request has expired"));
        }
        if row.responded_at.is_some() {
            return Err(invalid_request(
                "the presentation request was already answered",
            ));
        }
        Ok(row)
    }

    /// The Response Endpoint's URL.
    pub fn response_uri(&self) -> String {
        format!("{}/response", self.public_url)
    }

    /// The signed request object of request `id` (JAR; OpenID4VP 1.0 §5.7), with
    /// `wallet_nonce` echoed when the wallet sent one (`request_uri_method=post`).
    pub async fn request_object(
        &self,
        id: &str,
        wallet_nonce: Option<String>,
    ) -> Result<String, Error> {
        let row = self.open_request(id).await?;
        self.haip_signed(&row)?;
        let now = self.clock.now();
        self.served.keep(row.clone(), now);
        let query: DcqlQuery = serde_json::from_str(&row.dcql_query)
            .map_err(|e| Error::Internal(format!("stored DCQL query: {e}")))?;
        let response_uri = Url::parse(&self.response_uri())
            .map_err(|e| Error::Config(format!("public URL: {e}")))?;
        let response_mode = stored_response_mode(&row.response_mode)?;
        let encryption_jwk = match row.encryption_key.as_deref() {
            Some(sealed) => Some(self.encryption_key(&row.id, sealed)?.public_jwk()),
            None => None,
        };
        let req = AuthorizationRequest {
            client_id: protocol::oid4vp::ClientId::parse(&row.client_id)
                .map_err(|e| Error::Internal(format!("stored client_id: {e}")))?,
            response_type: "vp_token".into(),
            response_mode: Some(response_mode),
            response_uri: Some(response_uri),
            redirect_uri: None,
            nonce: row.nonce,
            state: Some(row.state),
            dcql_query: Some(query),
            scope: None,
            client_metadata: Some(client_metadata(encryption_jwk)),
            transaction_data: None,
            verifier_info: None,
            aud: Some(SELF_ISSUED_AUDIENCE.into()),
            iss: None,
            wallet_nonce,
            exp: Some(row.expires_at),
            iat: Some(now),
        };
        // A `redirect_uri:` client cannot sign (§5.9.3).
        if matches!(req.client_id.prefix(), ClientIdPrefix::RedirectUri(_)) {
            return Ok(protocol::oid4vp::unsigned_request_object(&req));
        }
        if matches!(
            req.client_id.prefix(),
            ClientIdPrefix::X509SanDns(_) | ClientIdPrefix::X509Hash(_)
        ) {
            return Ok(protocol::oid4vp::sign_request_object_x5c(
                &req,
                &self.x509.key,
                &self.x509.x5c(),
            ));
        }
        Ok(protocol::oid4vp::sign_request_object(
            &req,
            &*self.es256,
            Some(&self.kid),
        ))
    }

    /// Under the `haip` profile, a request is served only signed with its `x509_hash:`
    /// client identifier and with an encryption key (HAIP 1.0 §5): a request stored
    /// otherwise (made before the profile was switched on) is refused, never served
    /// unsigned.
    pub(super) fn haip_signed(&self, row: &crate::store::RequestRow) -> Result<(), Error> {
        if self.profile != crate::config::VerifierProfile::Haip {
            return Ok(());
        }
        if !row.client_id.starts_with("x509_hash:") || row.encryption_key.is_none() {
            return Err(invalid_request(format!(
                "refused by the haip profile (VERIFIER_PROFILE=haip): request {} is not an x509_hash: signed request with response encryption (client_id {}, response_mode {}), so it is not served",
                row.id, row.client_id, row.response_mode
            )));
        }
        Ok(())
    }

    /// Opens request `id`'s sealed encryption key.
    pub(super) fn encryption_key(&self, id: &str, sealed: &[u8]) -> Result<EncryptionKey, Error> {
        let secret = self
            .seal
            .open(&encryption_key_purpose(id), sealed)
            .map_err(|e| Error::Internal(format!("encryption key of request {id}: {e}")))?;
        EncryptionKey::from_secret_bytes(&secret)
            .map_err(|e| Error::Internal(format!("encryption key of request {id}: {e}")))
    }
}
