//! Presentation requests (OpenID4VP 1.0 §5): creation from a DCQL query or the Open Badge
//! template, the signed request object served at `request_uri` (JAR, `typ`
//! `oauth-authz-req+jwt`), the `direct_post` response accepted once, and the result.
//!
//! A request may ask for `direct_post.jwt` (OpenID4VP 1.0 §8.3, HAIP 1.0 §5): it then gets
//! an ephemeral P-256 key agreement key of its own, stored sealed, published in
//! `client_metadata.jwks`; the wallet's `response=<JWE>` finds the request by the JWE
//! `kid`, is decrypted, and goes through the same checks. A response that cannot be
//! decrypted, or a plain form sent to such a request, fails the `response_encryption` check.

use protocol::jose::jwe::{self, Enc, EncryptionKey};
use protocol::keys::Jwk;
use protocol::oid4vp::dcql::DcqlQuery;
use protocol::oid4vp::{
    AuthorizationRequest, ClientIdPrefix, ClientMetadata, DirectPostBody, RequestUri,
    RequestUriMethod, ResponseError, ResponseMode, SELF_ISSUED_AUDIENCE,
};
use protocol::qr::Qr;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::checks::{self, Check, Expectations, Verification};
use crate::App;
use crate::error::AppError;
use crate::store::{Refused, RequestRow};

/// The credential query id the template uses.
pub const TEMPLATE_QUERY_ID: &str = "badge";
/// Path of the Open Badge SD-JWT VC type under the issuer URL (the issuer agent's `vct`).
pub const OPEN_BADGE_VCT_PATH: &str = "/vct/open-badge-v3";
/// Random bytes in a request id, a nonce and a state (≥ 128 bits each).
const ID_BYTES: usize = 16;
const NONCE_BYTES: usize = 24;
const STATE_BYTES: usize = 24;
const RESPONSE_CODE_BYTES: usize = 16;
/// Pixels per QR module in the PNG.
pub const QR_PNG_SCALE: u32 = 8;

/// What the template may ask the holder to disclose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Disclose {
    /// The recipient's name: `credentialSubject.identifier[0]` of the badge.
    #[value(name = "recipient_name", alias = "recipient-name")]
    RecipientName,
}

/// "An Open Badge for achievement X from issuer Y, disclose …".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// The issuer URL (its credential issuer identifier and SD-JWT VC `iss`).
    pub issuer: String,
    /// The OB `Achievement` id URI; absent: any achievement of that issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achievement_id: Option<String>,
    /// Claims asked for; the holder must disclose them.
    #[serde(default)]
    pub disclose: Vec<Disclose>,
    /// Claims asked for that the holder may decline to disclose (DCQL `claim_sets`: with
    /// them, or without them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optional: Vec<Disclose>,
}

/// What a presentation request asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum RequestSpec {
    Dcql(DcqlQuery),
    Template(Template),
    /// A saved template, by id.
    SavedTemplate(String),
}

/// The client identifier prefix a request uses (OpenID4VP 1.0 §5.9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ClientPrefix {
    /// `decentralized_identifier:<the verifier's did:web>`, signed request object.
    #[default]
    #[value(name = "decentralized_identifier")]
    DecentralizedIdentifier,
    /// `redirect_uri:<response URI>`, unsigned request object: for simple setups (the
    /// wallet cannot authenticate the verifier).
    #[value(name = "redirect_uri")]
    RedirectUri,
    /// `x509_san_dns:<the leaf certificate's DNS name>`, request signed with the
    /// certificate's key and its chain in `x5c`.
    #[value(name = "x509_san_dns")]
    X509SanDns,
    /// `x509_hash:<SHA-256 of the leaf certificate>` (HAIP), signed as above.
    #[value(name = "x509_hash")]
    X509Hash,
}

/// How a request is made, besides what it asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestOptions {
    /// `direct_post` or `direct_post.jwt`.
    pub response_mode: ResponseMode,
    pub client_prefix: ClientPrefix,
    /// `post`: the wallet POSTs `wallet_metadata` and `wallet_nonce` to `request_uri`
    /// (§5.10.2) and gets the request object with the nonce echoed.
    pub request_uri_method: RequestUriMethod,
    /// Same-device flows (§8.2): where the wallet sends the user after answering; the
    /// verifier appends `#response_code=<fresh code>`, which the relying application shows
    /// back to the result API to prove the answer came through this user's device.
    pub redirect_uri: Option<String>,
    /// Where to post the signed result when it is ready; `None`: the configured
    /// `VERIFIER_WEBHOOK_URL`, if any.
    pub webhook_url: Option<String>,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions {
            response_mode: ResponseMode::DirectPost,
            client_prefix: ClientPrefix::default(),
            request_uri_method: RequestUriMethod::Get,
            redirect_uri: None,
            webhook_url: None,
        }
    }
}

impl RequestOptions {
    /// The defaults with `response_mode`.
    pub fn mode(response_mode: ResponseMode) -> Self {
        RequestOptions {
            response_mode,
            ..RequestOptions::default()
        }
    }
}

/// A created request: the wallet link and where to follow it up (all absolute URLs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedRequest {
    pub id: String,
    pub openid4vp_uri: String,
    pub request_uri: String,
    pub qr_svg: String,
    pub qr_png: String,
    pub result: String,
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResultState {
    Pending,
    Verified,
    Rejected,
    Expired,
}

/// The result endpoint's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RequestResult {
    pub id: String,
    pub state: ResultState,
    pub checks: Vec<Check>,
    /// The disclosed claims, by credential query id.
    #[schema(value_type = Object)]
    pub disclosed: std::collections::BTreeMap<String, Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub responded_at: Option<i64>,
}

/// The DCQL query of the Open Badge template: one `dc+sd-jwt` credential of type
/// `<issuer>/vct/open-badge-v3` whose `ld.issuer.id` is the issuer, optionally of one
/// achievement, disclosing what `disclose` asks for.
pub fn template_query(t: &Template) -> Result<DcqlQuery, AppError> {
    let issuer = t.issuer.trim().trim_end_matches('/');
    match Url::parse(issuer) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => {}
        _ => {
            return Err(AppError::bad_request(
                "template.issuer",
                format!("{issuer:?} is not an http(s) issuer URL"),
            ));
        }
    }
    let mut achievement = json!({ "path": ["ld", "credentialSubject", "achievement", "id"] });
    if let Some(id) = &t.achievement_id {
        if Url::parse(id).is_err() {
            return Err(AppError::bad_request(
                "template.achievement_id",
                format!("{id:?} is not an absolute URI"),
            ));
        }
        achievement["values"] = json!([id]);
    }
    if let Some(both) = t.optional.iter().find(|d| t.disclose.contains(d)) {
        return Err(AppError::bad_request(
            "template.optional",
            format!("{both:?} is both required (`disclose`) and optional"),
        ));
    }
    achievement["id"] = json!("achievement");
    let mut claims = vec![
        achievement,
        json!({ "id": "issuer", "path": ["ld", "issuer", "id"], "values": [issuer] }),
    ];
    let mut required: Vec<&str> = vec!["achievement", "issuer"];
    let mut optional: Vec<&str> = Vec::new();
    for (d, is_optional) in t
        .disclose
        .iter()
        .map(|d| (d, false))
        .chain(t.optional.iter().map(|d| (d, true)))
    {
        match d {
            Disclose::RecipientName => {
                // The first identifier must be the name: SD-JWT drops undisclosed array
                // elements, so without the `values` filter a wallet disclosing only the
                // email would put it at index 0 and still satisfy the query.
                claims.push(json!({
                    "id": "name_type",
                    "path": ["ld", "credentialSubject", "identifier", 0, "identityType"],
                    "values": [protocol::ob3::IDENTITY_TYPE_NAME],
                }));
                claims.push(json!({
                    "id": "name",
                    "path": ["ld", "credentialSubject", "identifier", 0, "identityHash"],
                }));
                let ids = if is_optional {
                    &mut optional
                } else {
                    &mut required
                };
                ids.extend(["name_type", "name"]);
            }
        }
    }
    // With optional claims: the set with them first (preferred), then the one without.
    let claim_sets = (!optional.is_empty()).then(|| {
        let all: Vec<&str> = required.iter().chain(optional.iter()).copied().collect();
        json!([all, required])
    });
    if claim_sets.is_none() {
        // Claim ids only matter to claim sets.
        for claim in &mut claims {
            if let Some(c) = claim.as_object_mut() {
                c.remove("id");
            }
        }
    }
    let query = json!({
        "credentials": [{
            "id": TEMPLATE_QUERY_ID,
            "format": "dc+sd-jwt",
            "meta": { "vct_values": [format!("{issuer}{OPEN_BADGE_VCT_PATH}")] },
            "claims": claims,
        }]
    });
    let mut query = query;
    if let Some(sets) = claim_sets {
        query["credentials"][0]["claim_sets"] = sets;
    }
    serde_json::from_value(query)
        .map_err(|e| AppError::Internal(format!("the template builds a DCQL query: {e}")))
}

/// The name of the check that a `direct_post.jwt` response was encrypted to the request's key.
pub const CHECK_RESPONSE_ENCRYPTION: &str = "response_encryption";

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
fn stored_response_mode(text: &str) -> Result<ResponseMode, AppError> {
    serde_json::from_value(Value::String(text.to_owned()))
        .map_err(|e| AppError::Internal(format!("stored response_mode {text:?}: {e}")))
}

fn response_mode_text(mode: ResponseMode) -> String {
    match serde_json::to_value(mode) {
        Ok(Value::String(s)) => s,
        _ => unreachable!("response modes serialise as strings"),
    }
}

/// The sealing purpose of request `id`'s encryption key.
fn encryption_key_purpose(id: &str) -> String {
    format!("verifier-response-key:{id}")
}

/// How a response met the request's encryption requirement.
enum Encryption {
    /// `direct_post`: nothing to check.
    NotRequired,
    /// Decrypted with the request's key.
    Decrypted(String),
    /// Refused: the detail names why.
    Failed(String),
}

fn request_uri_method_text(m: RequestUriMethod) -> &'static str {
    match m {
        RequestUriMethod::Get => "get",
        RequestUriMethod::Post => "post",
    }
}

/// A same-device `redirect_uri`: an absolute http(s) URL without a fragment (the verifier
/// adds `#response_code=…`).
fn check_redirect_uri(uri: &str) -> Result<(), AppError> {
    match Url::parse(uri) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => {
            if u.fragment().is_some() {
                Err(AppError::bad_request(
                    "redirect_uri",
                    "must have no fragment: the verifier appends #response_code=…",
                ))
            } else {
                Ok(())
            }
        }
        _ => Err(AppError::bad_request(
            "redirect_uri",
            format!("{uri:?} is not an absolute http(s) URL"),
        )),
    }
}

fn invalid_request(description: impl Into<String>) -> AppError {
    AppError::oauth("invalid_request", description)
}

impl App {
    /// Creates a presentation request and returns its wallet link.
    /// `response_mode` is `direct_post` or `direct_post.jwt` (the latter with a fresh
    /// per-request encryption key, HAIP 1.0 §5).
    #[expect(clippy::expect_used, reason = "a DCQL query serialises")]
    pub async fn create_request(
        &self,
        spec: RequestSpec,
        options: RequestOptions,
    ) -> Result<CreatedRequest, AppError> {
        let response_mode = options.response_mode;
        if !response_mode.is_direct_post() {
            return Err(AppError::bad_request(
                "response_mode",
                format!(
                    "{:?} is not offered: use direct_post or direct_post.jwt",
                    response_mode_text(response_mode)
                ),
            ));
        }
        let query = match spec {
            RequestSpec::Dcql(q) => q,
            RequestSpec::Template(t) => template_query(&t)?,
            RequestSpec::SavedTemplate(id) => {
                template_query(&self.saved_template(&id).await?.template)?
            }
        };
        query
            .validate()
            .map_err(|e| AppError::bad_request("dcql_query", e.to_string()))?;
        if let Some(uri) = &options.redirect_uri {
            check_redirect_uri(uri)?;
        }
        let webhook_url = self.webhook_url_for(options.webhook_url).await?;
        let client_id = match options.client_prefix {
            ClientPrefix::DecentralizedIdentifier => self.client_id.clone(),
            ClientPrefix::RedirectUri => format!("redirect_uri:{}", self.response_uri()),
            ClientPrefix::X509Hash => self.x509.hash_client_id(),
            ClientPrefix::X509SanDns => self.x509.san_dns_client_id().ok_or_else(|| {
                AppError::bad_request(
                    "client_id_prefix",
                    "x509_san_dns needs a certificate with a DNS name (subjectAltName dNSName); the configured one has none",
                )
            })?,
        };
        let now = self.clock.now();
        let id = protocol::b64::random(ID_BYTES);
        let (encryption_kid, encryption_key) = if response_mode == ResponseMode::DirectPostJwt {
            let key = EncryptionKey::generate();
            let sealed = self
                .seal
                .seal(&encryption_key_purpose(&id), &key.to_secret_bytes());
            (Some(key.kid().to_owned()), Some(sealed))
        } else {
            (None, None)
        };
        let row = RequestRow {
            id,
            client_id,
            nonce: protocol::b64::random(NONCE_BYTES),
            state: protocol::b64::random(STATE_BYTES),
            dcql_query: serde_json::to_string(&query).expect("a DCQL query serialises"),
            created_at: now,
            expires_at: now + self.config.request_ttl,
            responded_at: None,
            result: None,
            refusals: 0,
            last_refusal: None,
            response_mode: response_mode_text(response_mode),
            encryption_kid,
            encryption_key,
            request_uri_method: request_uri_method_text(options.request_uri_method).to_owned(),
            redirect_uri: options.redirect_uri,
            response_code_hash: None,
            webhook_url,
            webhook_attempts: 0,
            webhook_next_at: None,
            webhook_delivered_at: None,
            webhook_last_error: None,
        };
        self.store.insert_request(&row).await?;
        self.links_of(&row)
    }

    /// The Response Endpoint's URL.
    pub fn response_uri(&self) -> String {
        format!("{}/response", self.public_url)
    }

    /// The links of request `id`.
    pub async fn links(&self, id: &str) -> Result<CreatedRequest, AppError> {
        let row = self
            .store
            .request(id)
            .await?
            .ok_or_else(|| AppError::NotFound("request".into()))?;
        self.links_of(&row)
    }

    /// The links of a stored request.
    pub fn links_of(&self, row: &RequestRow) -> Result<CreatedRequest, AppError> {
        let id = &row.id;
        let request_uri = format!("{}/request/{id}", self.public_url);
        let method = if row.request_uri_method == "post" {
            RequestUriMethod::Post
        } else {
            RequestUriMethod::Get
        };
        Ok(CreatedRequest {
            id: id.to_owned(),
            openid4vp_uri: self.openid4vp_uri(&row.client_id, &request_uri, method)?,
            qr_svg: format!("{}/api/requests/{id}/qr.svg", self.public_url),
            qr_png: format!("{}/api/requests/{id}/qr.png", self.public_url),
            result: format!("{}/api/requests/{id}/result", self.public_url),
            request_uri,
        })
    }

    /// `openid4vp://?client_id=…&request_uri=…` (OpenID4VP 1.0 §5.10, §13.1).
    fn openid4vp_uri(
        &self,
        client_id: &str,
        request_uri: &str,
        request_uri_method: RequestUriMethod,
    ) -> Result<String, AppError> {
        let link = RequestUri {
            client_id: protocol::oid4vp::ClientId::parse(client_id)
                .map_err(|e| AppError::Config(format!("client_id: {e}")))?,
            request_uri: Url::parse(request_uri)
                .map_err(|e| AppError::Config(format!("public URL: {e}")))?,
            request_uri_method,
        };
        link.to_url(protocol::oid4vp::OPENID4VP_SCHEME)
            .map(String::from)
            .map_err(|e| AppError::Internal(e.to_string()))
    }

    /// The QR code of request `id`'s wallet link.
    pub async fn qr(&self, id: &str) -> Result<Qr, AppError> {
        let links = self.links(id).await?;
        Qr::new(&links.openid4vp_uri).map_err(|e| AppError::Internal(e.to_string()))
    }

    /// The signed request object of request `id` (JAR; OpenID4VP 1.0 §5.7), with
    /// `wallet_nonce` echoed when the wallet sent one (`request_uri_method=post`).
    pub async fn request_object(
        &self,
        id: &str,
        wallet_nonce: Option<String>,
    ) -> Result<String, AppError> {
        let row = self
            .store
            .request(id)
            .await?
            .ok_or_else(|| AppError::NotFound("request".into()))?;
        let now = self.clock.now();
        if row.expires_at <= now {
            return Err(invalid_request("the presentation request has expired"));
        }
        if row.responded_at.is_some() {
            return Err(invalid_request(
                "the presentation request was already answered",
            ));
        }
        let query: DcqlQuery = serde_json::from_str(&row.dcql_query)
            .map_err(|e| AppError::Internal(format!("stored DCQL query: {e}")))?;
        let response_uri = Url::parse(&self.response_uri())
            .map_err(|e| AppError::Config(format!("public URL: {e}")))?;
        let response_mode = stored_response_mode(&row.response_mode)?;
        let encryption_jwk = match row.encryption_key.as_deref() {
            Some(sealed) => Some(self.encryption_key(&row.id, sealed)?.public_jwk()),
            None => None,
        };
        let req = AuthorizationRequest {
            client_id: protocol::oid4vp::ClientId::parse(&row.client_id)
                .map_err(|e| AppError::Internal(format!("stored client_id: {e}")))?,
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
            &self.es256,
            Some(&self.kid),
        ))
    }

    /// Opens request `id`'s sealed encryption key.
    fn encryption_key(&self, id: &str, sealed: &[u8]) -> Result<EncryptionKey, AppError> {
        let secret = self
            .seal
            .open(&encryption_key_purpose(id), sealed)
            .map_err(|e| AppError::Internal(format!("encryption key of request {id}: {e}")))?;
        EncryptionKey::from_secret_bytes(&secret)
            .map_err(|e| AppError::Internal(format!("encryption key of request {id}: {e}")))
    }

    /// The Response Endpoint (`direct_post`, OpenID4VP 1.0 §8.2; `direct_post.jwt`, §8.3):
    /// the form's pairs. The first response for a known, unexpired `state` is accepted and
    /// verified; the verification is stored whatever its outcome. Later responses are
    /// refused (and recorded as a failed `replay` check), as are responses after expiry.
    /// A response that fails `response_encryption` is stored as the (rejected) result and
    /// answered with `invalid_request` naming the failure.
    ///
    /// Returns where the wallet should send the user next, for requests made with a
    /// `redirect_uri` (same-device flows, §8.2): it carries a fresh `response_code`.
    pub async fn receive_response(
        &self,
        pairs: Vec<(String, String)>,
    ) -> Result<Option<String>, AppError> {
        let (body, state, encryption) =
            match DirectPostBody::from_form(pairs.iter().map(|(k, v)| (k, v))) {
                Ok(DirectPostBody::Encrypted(compact)) => self.receive_encrypted(&compact).await?,
                parsed => receive_plain(&pairs, parsed)?,
            };
        let now = self.clock.now();
        let row = self.accept(&state, now).await?;
        let encryption = match encryption {
            Encryption::NotRequired
                if stored_response_mode(&row.response_mode)? == ResponseMode::DirectPostJwt =>
            {
                Encryption::Failed(
                    "the request asked for direct_post.jwt but the response was a plain form, not `response=<JWE>`".to_owned(),
                )
            }
            other => other,
        };
        let refusal = match &encryption {
            Encryption::Failed(detail) => Some(detail.clone()),
            _ => None,
        };
        let verification = self.verify_response(&row, body, encryption, now).await?;
        let response_code = match (&row.redirect_uri, &refusal) {
            (Some(_), None) => Some(protocol::b64::random(RESPONSE_CODE_BYTES)),
            _ => None,
        };
        let code_hash = response_code.as_deref().map(protocol::b64::sha256);
        self.store
            .store_result(&row.id, &to_json(&verification), code_hash.as_deref(), now)
            .await?;
        self.result_ready(&row.id);
        if row.webhook_url.is_some() {
            // Now, not at the next tick; the wallet's answer does not wait for it.
            let app = self.clone();
            tokio::spawn(async move {
                if let Err(e) = app.deliver_due_webhooks().await {
                    tracing::warn!(error = %e, "webhook delivery");
                }
            });
        }
        match refusal {
            Some(detail) => Err(invalid_request(format!(
                "{CHECK_RESPONSE_ENCRYPTION}: {detail}"
            ))),
            None => Ok(row
                .redirect_uri
                .zip(response_code)
                .map(|(uri, code)| format!("{uri}#response_code={code}"))),
        }
    }

    /// A `response=<JWE>` (`direct_post.jwt`, §8.3): decrypted with the key of the request
    /// its `kid` names, whose `state` the decrypted parameters must carry.
    async fn receive_encrypted(&self, compact: &str) -> Result<Received, AppError> {
        let (row, opened) = self.open_encrypted(compact).await?;
        let (pairs, enc) = match opened {
            Ok(opened) => opened,
            Err(detail) => return Ok((Err(detail.clone()), row.state, Encryption::Failed(detail))),
        };
        let state = pairs
            .iter()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.clone());
        if state.as_deref() != Some(row.state.as_str()) {
            let detail = format!(
                "the decrypted response's `state` {state:?} is not the state of request {}, whose key it was encrypted to",
                row.id
            );
            return Ok((Err(detail.clone()), row.state, Encryption::Failed(detail)));
        }
        let body = match DirectPostBody::from_form(pairs.iter().map(|(k, v)| (k, v))) {
            Ok(DirectPostBody::Encrypted(_)) => {
                Err("the decrypted response holds another `response`".to_owned())
            }
            Ok(body) => Ok(body),
            Err(ResponseError::BadVpToken(e)) => Err(e),
            Err(e) => Err(format!("the decrypted parameters: {e}")),
        };
        Ok((body, row.state, Encryption::Decrypted(enc)))
    }

    /// Finds the request a `response=<JWE>` is addressed to (by the JWE `kid`, the only
    /// readable part) and decrypts it with that request's key. Returns the request and
    /// either the decrypted parameters as form pairs with the `enc` used, or why they could
    /// not be had.
    async fn open_encrypted(
        &self,
        compact: &str,
    ) -> Result<(RequestRow, Result<(Vec<(String, String)>, String), String>), AppError> {
        let header = jwe::protected_header(compact)
            .map_err(|e| invalid_request(format!("`response`: {e}")))?;
        let kid = header.get("kid").and_then(Value::as_str).ok_or_else(|| {
            invalid_request("the `response` JWE has no `kid` naming the request's key")
        })?;
        let row = self
            .store
            .request_by_encryption_kid(kid)
            .await?
            .ok_or_else(|| {
                invalid_request(
                    "the `response` JWE's `kid` names no direct_post.jwt presentation request",
                )
            })?;
        let sealed = row.encryption_key.as_deref().ok_or_else(|| {
            AppError::Internal(format!("request {} has a kid but no key", row.id))
        })?;
        let key = self.encryption_key(&row.id, sealed)?;
        let opened = match key.decrypt(compact) {
            Err(e) => Err(e.to_string()),
            Ok(plain) => {
                let enc = header
                    .get("enc")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                match serde_json::from_slice::<serde_json::Map<String, Value>>(&plain) {
                    Err(e) => Err(format!("the decrypted payload is not a JSON object: {e}")),
                    Ok(params) => Ok((response_pairs(params), enc)),
                }
            }
        };
        Ok((row, opened))
    }

    /// Accepts the response for `state` once (see [`crate::store::Store::accept_response`]), recording
    /// refused replays and late answers on their request.
    async fn accept(&self, state: &str, now: i64) -> Result<RequestRow, AppError> {
        match self.store.accept_response(state, now).await? {
            Ok(row) => Ok(row),
            Err(Refused::UnknownState) => {
                Err(invalid_request("`state` matches no presentation request"))
            }
            Err(Refused::Replay) => {
                let row = self.store.request_by_state(state).await?;
                if let Some(row) = row {
                    let check = Check::fail(
                        "replay",
                        format!(
                            "a second response for this state arrived at {now} and was refused; the first one (at {}) stands",
                            row.responded_at.unwrap_or_default()
                        ),
                    );
                    self.store.record_refusal(&row.id, &to_json(&check)).await?;
                }
                Err(invalid_request(
                    "a response for this state was already received",
                ))
            }
            Err(Refused::Expired) => {
                if let Some(row) = self.store.request_by_state(state).await? {
                    let check = Check::fail(
                        "request",
                        format!(
                            "a response arrived at {now}, after the request expired at {}",
                            row.expires_at
                        ),
                    );
                    self.store.record_refusal(&row.id, &to_json(&check)).await?;
                }
                Err(invalid_request("the presentation request has expired"))
            }
        }
    }

    /// Verifies an accepted response against its request.
    #[expect(clippy::expect_used, reason = "a vp_token map serialises")]
    async fn verify_response(
        &self,
        row: &RequestRow,
        body: Result<DirectPostBody, String>,
        encryption: Encryption,
        now: i64,
    ) -> Result<Verification, AppError> {
        let mut head = vec![
            Check::pass(
                "request",
                format!(
                    "`state` names request {}, answered at {now} before it expired at {}",
                    row.id, row.expires_at
                ),
            ),
            Check::pass("replay", "the first response for this state"),
        ];
        match encryption {
            Encryption::NotRequired => {}
            Encryption::Decrypted(enc) => head.push(Check::pass(
                CHECK_RESPONSE_ENCRYPTION,
                format!("`response` is a JWE (ECDH-ES, {enc}) to this request's key, decrypted"),
            )),
            Encryption::Failed(detail) => {
                head.push(Check::fail(CHECK_RESPONSE_ENCRYPTION, detail));
                head.push(Check::unset(
                    "vp_token",
                    "not checked: the response failed response_encryption",
                ));
                return Ok(Verification {
                    checks: head,
                    error: Some(format!("{CHECK_RESPONSE_ENCRYPTION} failed")),
                    ..Verification::default()
                });
            }
        }
        let query: DcqlQuery = serde_json::from_str(&row.dcql_query)
            .map_err(|e| AppError::Internal(format!("stored DCQL query: {e}")))?;
        let mut verification = match body {
            Ok(DirectPostBody::Response(resp)) => {
                let vp_token =
                    serde_json::to_value(&resp.vp_token).expect("a vp_token map serialises");
                let exp = Expectations {
                    client_id: &row.client_id,
                    nonce: &row.nonce,
                    query: &query,
                    trusted_issuers: &self.config.trusted_issuers,
                    now,
                };
                checks::verify_vp_token(&self.sources, &self.status_cache, &exp, &vp_token).await
            }
            Ok(DirectPostBody::Error(err)) => {
                let text = match &err.error_description {
                    Some(d) => format!("{}: {d}", err.error.as_str()),
                    None => err.error.as_str().to_owned(),
                };
                Verification {
                    checks: vec![Check::fail(
                        "vp_token",
                        format!("the wallet sent no vp_token but the error {text}"),
                    )],
                    disclosed: Default::default(),
                    error: Some(text),
                }
            }
            Ok(DirectPostBody::Encrypted(_)) => Verification {
                checks: vec![Check::fail(
                    "vp_token",
                    "the decrypted response holds another `response`",
                )],
                ..Verification::default()
            },
            Err(shape) => Verification {
                checks: vec![
                    Check::fail("vp_token", format!("`vp_token` is malformed: {shape}")),
                    Check::unset("dcql", "not checked: `vp_token` is malformed"),
                ],
                ..Verification::default()
            },
        };
        head.append(&mut verification.checks);
        verification.checks = head;
        Ok(verification)
    }

    /// As [`App::result`]; with a `response_code` (same-device flows), only if it is the
    /// one given to the wallet for this request, and only once: the code is used up.
    pub async fn result_with_code(
        &self,
        id: &str,
        response_code: Option<&str>,
    ) -> Result<RequestResult, AppError> {
        let Some(code) = response_code else {
            return self.result(id).await;
        };
        let row = self
            .store
            .request(id)
            .await?
            .ok_or_else(|| AppError::NotFound("request".into()))?;
        let hash = protocol::b64::sha256(code);
        let matches = row
            .response_code_hash
            .as_deref()
            .is_some_and(|h| protocol::secret::constant_time_eq(h.as_bytes(), hash.as_bytes()));
        if !matches || !self.store.use_response_code(&row.id, &hash).await? {
            return Err(AppError::bad_request(
                "response_code",
                "not the response code given to the wallet for this request, or already used",
            ));
        }
        Ok(result_view(row, self.clock.now()))
    }

    /// Where request `id` stands, with every check and its outcome.
    pub async fn result(&self, id: &str) -> Result<RequestResult, AppError> {
        let row = self
            .store
            .request(id)
            .await?
            .ok_or_else(|| AppError::NotFound("request".into()))?;
        Ok(result_view(row, self.clock.now()))
    }
}

/// The result of a stored request at `now`.
pub fn result_view(row: RequestRow, now: i64) -> RequestResult {
    let stored: Option<Verification> = row
        .result
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok());
    let state = match (&stored, row.responded_at) {
        (Some(v), _) if v.verified() => ResultState::Verified,
        (Some(_), _) => ResultState::Rejected,
        // Accepted, verification under way.
        (None, Some(_)) => ResultState::Pending,
        (None, None) if row.expires_at <= now => ResultState::Expired,
        (None, None) => ResultState::Pending,
    };
    let Verification {
        mut checks,
        disclosed,
        error,
    } = stored.unwrap_or_default();
    if let Some(refusal) = row
        .last_refusal
        .as_deref()
        .and_then(|r| serde_json::from_str::<Check>(r).ok())
    {
        let mut refusal = refusal;
        if row.refusals > 1 {
            refusal.detail = format!(
                "{} ({} refused responses in all)",
                refusal.detail, row.refusals
            );
        }
        checks.push(refusal);
    }
    RequestResult {
        id: row.id,
        state,
        checks,
        disclosed,
        error,
        created_at: row.created_at,
        expires_at: row.expires_at,
        responded_at: row.responded_at,
    }
}

/// A received response: its body (or why it is malformed), the `state` it answers, and how
/// it met the request's encryption requirement.
type Received = (Result<DirectPostBody, String>, String, Encryption);

/// A plain `vp_token=…&state=…` or `error=…` form (§8.2).
fn receive_plain(
    pairs: &[(String, String)],
    parsed: Result<DirectPostBody, ResponseError>,
) -> Result<Received, AppError> {
    let body = match parsed {
        Ok(body) => Ok(body),
        Err(ResponseError::BadVpToken(e)) => Err(e),
        Err(e) => return Err(invalid_request(e.to_string())),
    };
    let state = pairs
        .iter()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| invalid_request("`state` is missing"))?;
    Ok((body, state, Encryption::NotRequired))
}

/// The parameters of a decrypted response as form pairs: strings as they are, `vp_token`
/// (an object) as its JSON text, as in a `direct_post` form (§8.2, §8.3).
fn response_pairs(params: serde_json::Map<String, Value>) -> Vec<(String, String)> {
    params
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect()
}

#[expect(clippy::expect_used, reason = "results serialise")]
fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("results serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_builds_the_open_badge_query() {
        let q = template_query(&Template {
            issuer: "http://127.0.0.1:8081/".into(),
            achievement_id: Some("http://127.0.0.1:8081/achievements/a1".into()),
            disclose: vec![Disclose::RecipientName],
            optional: vec![],
        })
        .unwrap();
        q.validate().unwrap();
        assert_eq!(
            serde_json::to_value(&q).unwrap(),
            json!({"credentials": [{
                "id": "badge",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": ["http://127.0.0.1:8081/vct/open-badge-v3"]},
                "claims": [
                    {"path": ["ld", "credentialSubject", "achievement", "id"],
                     "values": ["http://127.0.0.1:8081/achievements/a1"]},
                    {"path": ["ld", "issuer", "id"], "values": ["http://127.0.0.1:8081"]},
                    {"path": ["ld", "credentialSubject", "identifier", 0, "identityType"],
                     "values": ["name"]},
                    {"path": ["ld", "credentialSubject", "identifier", 0, "identityHash"]},
                ],
            }]})
        );
    }

    #[test]
    fn template_without_achievement_or_disclosure() {
        let q = template_query(&Template {
            issuer: "https://badges.example.org".into(),
            achievement_id: None,
            disclose: vec![],
            optional: vec![],
        })
        .unwrap();
        let claims = &serde_json::to_value(&q).unwrap()["credentials"][0]["claims"];
        assert_eq!(
            claims,
            &json!([
                {"path": ["ld", "credentialSubject", "achievement", "id"]},
                {"path": ["ld", "issuer", "id"], "values": ["https://badges.example.org"]},
            ])
        );
    }

    #[test]
    fn template_names_the_bad_field() {
        let err = template_query(&Template {
            issuer: "not a url".into(),
            achievement_id: None,
            disclose: vec![],
            optional: vec![],
        })
        .unwrap_err();
        assert!(
            matches!(err, AppError::BadRequest { ref field, .. } if field == "template.issuer")
        );
        let err = template_query(&Template {
            issuer: "https://i.example".into(),
            achievement_id: Some("a1".into()),
            disclose: vec![],
            optional: vec![],
        })
        .unwrap_err();
        assert!(
            matches!(err, AppError::BadRequest { ref field, .. } if field == "template.achievement_id")
        );
        let parsed: Result<Template, _> = serde_json::from_value(
            json!({"issuer": "https://i.example", "disclose": ["recipient_email"]}),
        );
        assert!(parsed.is_err());
    }

    fn row(result: Option<Verification>, responded_at: Option<i64>) -> RequestRow {
        RequestRow {
            id: "r".into(),
            client_id: "c".into(),
            nonce: "n".into(),
            state: "s".into(),
            dcql_query: "{}".into(),
            created_at: 0,
            expires_at: 100,
            responded_at,
            result: result.map(|v| to_json(&v)),
            refusals: 0,
            last_refusal: None,
            response_mode: "direct_post".into(),
            encryption_kid: None,
            encryption_key: None,
            request_uri_method: "get".into(),
            redirect_uri: None,
            response_code_hash: None,
            webhook_url: None,
            webhook_attempts: 0,
            webhook_next_at: None,
            webhook_delivered_at: None,
            webhook_last_error: None,
        }
    }

    #[test]
    fn result_states() {
        assert_eq!(result_view(row(None, None), 50).state, ResultState::Pending);
        assert_eq!(
            result_view(row(None, None), 100).state,
            ResultState::Expired
        );
        assert_eq!(
            result_view(row(None, Some(60)), 150).state,
            ResultState::Pending
        );
        let good = Verification {
            checks: vec![
                Check::pass("a", ""),
                Check::unset("trust", "not configured"),
            ],
            ..Default::default()
        };
        assert_eq!(
            result_view(row(Some(good.clone()), Some(60)), 150).state,
            ResultState::Verified
        );
        let mut bad = good.clone();
        bad.checks.push(Check::fail("nonce", "wrong"));
        assert_eq!(
            result_view(row(Some(bad), Some(60)), 70).state,
            ResultState::Rejected
        );
        let mut wallet_error = good;
        wallet_error.error = Some("access_denied".into());
        assert_eq!(
            result_view(row(Some(wallet_error), Some(60)), 70).state,
            ResultState::Rejected
        );
    }

    #[test]
    fn a_refused_replay_is_listed_but_does_not_change_the_state() {
        let good = Verification {
            checks: vec![Check::pass("replay", "first")],
            ..Default::default()
        };
        let mut r = row(Some(good), Some(60));
        r.refusals = 2;
        r.last_refusal = Some(to_json(&Check::fail("replay", "second response")));
        let view = result_view(r, 70);
        assert_eq!(view.state, ResultState::Verified);
        let last = view.checks.last().unwrap();
        assert_eq!(last.name, "replay");
        assert_eq!(last.ok, Some(false));
        assert!(last.detail.contains("2 refused responses"));
    }
}

#[cfg(test)]
mod app_tests {
    use protocol::clock::Clock;
    use protocol::oid4vp::{Invocation, decode_request_object};

    use super::*;
    use crate::Config;

    async fn app(dir: &std::path::Path) -> App {
        let config = Config::for_dir(
            dir.to_path_buf(),
            "http://127.0.0.1:8083/".into(),
            format!("sqlite://{}/verifier.db", dir.display()),
        );
        let (app, startup) = App::open(config, Clock::adjustable()).await.unwrap();
        assert!(startup.new_api_token.is_some());
        app
    }

    fn template() -> RequestSpec {
        RequestSpec::Template(Template {
            issuer: "http://127.0.0.1:8081".into(),
            achievement_id: None,
            disclose: vec![Disclose::RecipientName],
            optional: vec![],
        })
    }

    #[tokio::test]
    async fn a_request_is_a_signed_request_object_behind_an_openid4vp_link() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path()).await;
        let created = app
            .create_request(template(), RequestOptions::mode(ResponseMode::DirectPost))
            .await
            .unwrap();
        assert!(created.openid4vp_uri.starts_with("openid4vp://?client_id=decentralized_identifier%3Adid%3Aweb%3A127.0.0.1%253A8083&request_uri=http%3A%2F%2F127.0.0.1%3A8083%2Frequest%2F"), "{}", created.openid4vp_uri);
        let Invocation::ByReference(link) = Invocation::parse(&created.openid4vp_uri).unwrap()
        else {
            panic!("a link by reference");
        };
        assert_eq!(link.request_uri.as_str(), created.request_uri);
        assert_eq!(
            created.result,
            format!("http://127.0.0.1:8083/api/requests/{}/result", created.id)
        );

        let jwt = app
            .request_object(&created.id, Some("wn-1".into()))
            .await
            .unwrap();
        let (jws, req) = decode_request_object(&jwt).unwrap();
        assert_eq!(jws.kid(), Some("did:web:127.0.0.1%3A8083#key-1"));
        use protocol::keys::Signer;
        jws.verify(&app.es256.public_jwk().verifying_key().unwrap())
            .unwrap();
        let doc = app.did_document();
        assert_eq!(doc["id"], "did:web:127.0.0.1%3A8083");
        req.validate().unwrap();
        assert_eq!(
            req.client_id.as_str(),
            "decentralized_identifier:did:web:127.0.0.1%3A8083"
        );
        assert_eq!(req.response_mode, Some(ResponseMode::DirectPost));
        assert_eq!(
            req.response_uri.unwrap().as_str(),
            "http://127.0.0.1:8083/response"
        );
        assert_eq!(req.aud.as_deref(), Some(SELF_ISSUED_AUDIENCE));
        assert_eq!(req.wallet_nonce.as_deref(), Some("wn-1"));
        // ≥ 128 bits each.
        assert!(protocol::b64::decode(&req.nonce).unwrap().len() >= 16);
        let state = req.state.unwrap();
        assert!(protocol::b64::decode(&state).unwrap().len() >= 16);
        let formats = req.client_metadata.unwrap().vp_formats_supported.unwrap();
        assert_eq!(
            formats["dc+sd-jwt"]["kb-jwt_alg_values"],
            json!(["ES256", "Ed25519"])
        );
        let other = app
            .create_request(template(), RequestOptions::mode(ResponseMode::DirectPost))
            .await
            .unwrap();
        let (_, other) =
            decode_request_object(&app.request_object(&other.id, None).await.unwrap()).unwrap();
        assert_ne!(other.nonce, req.nonce);
        assert_ne!(other.state.unwrap(), state);
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    async fn state_of(app: &App, id: &str) -> String {
        app.store.request(id).await.unwrap().unwrap().state
    }

    #[tokio::test]
    async fn a_wallet_error_is_the_result_and_a_replay_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path()).await;
        let created = app
            .create_request(template(), RequestOptions::mode(ResponseMode::DirectPost))
            .await
            .unwrap();
        assert_eq!(
            app.result(&created.id).await.unwrap().state,
            ResultState::Pending
        );
        let state = state_of(&app, &created.id).await;
        app.receive_response(form(&[
            ("error", "access_denied"),
            ("error_description", "the holder declined"),
            ("state", &state),
        ]))
        .await
        .unwrap();
        let result = app.result(&created.id).await.unwrap();
        assert_eq!(result.state, ResultState::Rejected);
        assert_eq!(
            result.error.as_deref(),
            Some("access_denied: the holder declined")
        );

        let again = app
            .receive_response(form(&[("vp_token", "{}"), ("state", &state)]))
            .await
            .unwrap_err();
        assert!(matches!(
            again,
            AppError::OAuth {
                code: "invalid_request",
                ..
            }
        ));
        let result = app.result(&created.id).await.unwrap();
        assert_eq!(result.state, ResultState::Rejected);
        let replay = result.checks.last().unwrap();
        assert_eq!((replay.name.as_str(), replay.ok), ("replay", Some(false)));
        // The request object is no longer served.
        assert!(app.request_object(&created.id, None).await.is_err());
    }

    #[tokio::test]
    async fn malformed_unknown_and_late_responses() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path()).await;
        let err = app
            .receive_response(form(&[("vp_token", "{}"), ("state", "unknown")]))
            .await
            .unwrap_err();
        assert!(
            matches!(err, AppError::OAuth { ref description, .. } if description.contains("state"))
        );

        // A vp_token that is not an object of arrays is a failed `vp_token` check.
        let created = app
            .create_request(template(), RequestOptions::mode(ResponseMode::DirectPost))
            .await
            .unwrap();
        let state = state_of(&app, &created.id).await;
        app.receive_response(form(&[("vp_token", "[1]"), ("state", &state)]))
            .await
            .unwrap();
        let result = app.result(&created.id).await.unwrap();
        assert_eq!(result.state, ResultState::Rejected);
        let names: Vec<_> = result
            .checks
            .iter()
            .map(|c| (c.name.as_str(), c.ok))
            .collect();
        assert_eq!(
            names,
            [
                ("request", Some(true)),
                ("replay", Some(true)),
                ("vp_token", Some(false)),
                ("dcql", None)
            ]
        );

        // After expiry: refused, recorded, and the result says expired.
        let late = app
            .create_request(template(), RequestOptions::mode(ResponseMode::DirectPost))
            .await
            .unwrap();
        let state = state_of(&app, &late.id).await;
        app.clock.advance(app.config.request_ttl);
        let err = app
            .receive_response(form(&[("vp_token", "{}"), ("state", &state)]))
            .await
            .unwrap_err();
        assert!(
            matches!(err, AppError::OAuth { ref description, .. } if description.contains("expired"))
        );
        let result = app.result(&late.id).await.unwrap();
        assert_eq!(result.state, ResultState::Expired);
        assert_eq!(result.checks[0].name, "request");
        assert_eq!(result.checks[0].ok, Some(false));
    }

    #[tokio::test]
    async fn the_api_token_is_created_once_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::for_dir(
            dir.path().to_path_buf(),
            "http://127.0.0.1:8083".into(),
            format!("sqlite://{}/verifier.db", dir.path().display()),
        );
        let (app, startup) = App::open(config.clone(), Clock::system()).await.unwrap();
        let token = startup.new_api_token.unwrap();
        assert!(app.api_token_ok(&token).await.unwrap());
        assert!(!app.api_token_ok("wrong").await.unwrap());
        let (_, again) = App::open(config, Clock::system()).await.unwrap();
        assert!(
            again.new_api_token.is_none(),
            "stored hashed, not recreated"
        );
        let rotated = app.rotate_api_token().await.unwrap();
        assert!(app.api_token_ok(&rotated).await.unwrap());
        assert!(!app.api_token_ok(&token).await.unwrap());
    }
}
