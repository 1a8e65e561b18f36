//! Presenting credentials: an OpenID4VP 1.0 wallet. The request object comes by reference
//! (`request_uri`, GET or POST with `wallet_nonce`, §5.10) or by value; signed requests are
//! accepted from `decentralized_identifier:` verifiers only (key from the JOSE `kid` DID
//! URL, whose DID must be the client's, §5.9.3), unsigned ones from `redirect_uri:`
//! verifiers only (§5.9.3, which must not sign). The DCQL query (§6) is evaluated over the
//! account's credentials; the response is `direct_post` (§8.2) with key-bound SD-JWT
//! presentations, or `access_denied` (§8.5) when nothing matches. With `direct_post.jwt`
//! (§8.3, HAIP 1.0 §5) the response parameters are encrypted as a JWE (`ECDH-ES`, `enc`
//! A256GCM when offered, else A128GCM) to the `client_metadata.jwks` key with `use: enc`
//! and `alg: ECDH-ES`, and posted as `response=<JWE>`.

use kit::fetch::FetchError;
use protocol::did::{DidError, Relationship, split_did_url};
use protocol::jose::jwe::{self, Enc, JweError};
use protocol::jose::{JoseError, Jws};
use protocol::keys::Jwk;
use protocol::oauth::ErrorCode;
use protocol::oid4vp::{
    AuthorizationErrorResponse, AuthorizationRequest, ClientId, ClientIdPrefix, Invocation,
    InvocationError, RequestError, RequestUriMethod, ResponseEndpointAnswer, ResponseMode,
    TYP_REQUEST_OBJECT, check_client_id, decode_request_object,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Account;
use super::AppError;
use super::disclosure::{self, DisclosureError};
use crate::App;

/// Why a presentation request was refused or could not be answered; each variant names
/// the failed check.
#[derive(Debug, thiserror::Error)]
pub enum PresentError {
    #[error("wallet link: {0}")]
    Invocation(#[from] InvocationError),
    #[error("fetching the request object from {url} failed: {source}")]
    Fetch { url: String, source: FetchError },
    #[error("request object: {0}")]
    Request(#[from] RequestError),
    #[error(
        "request object is unsigned (`alg: none`), but client {client_id} must sign its requests"
    )]
    Unsigned { client_id: String },
    #[error("request object of a `redirect_uri:` client must not be signed")]
    SignedRedirectUri,
    #[error(
        "unsigned request parameters are accepted from `redirect_uri:` clients only, not from {client_id}"
    )]
    UnsignedParameters { client_id: String },
    #[error(
        "client_id prefix of {client_id} is not supported (decentralized_identifier:, x509_hash:, x509_san_dns: and redirect_uri: are)"
    )]
    UnsupportedClientIdPrefix { client_id: String },
    #[error("X.509 certificate chain (`x5c`) of client {client_id}: {source}")]
    X509 {
        client_id: String,
        source: protocol::x509::X509Error,
    },
    #[error("client {client_id}: the `x5c` leaf certificate's SHA-256 is {found}")]
    X509HashMismatch { client_id: String, found: String },
    #[error("client {client_id}: the `x5c` leaf certificate's DNS names are {found:?}")]
    X509SanMismatch {
        client_id: String,
        found: Vec<String>,
    },
    #[error("client {client_id}: response_uri {response_uri} is not on that DNS name (§5.9.3)")]
    X509ResponseUriHost {
        client_id: String,
        response_uri: String,
    },
    #[error("signed request object has no `kid` naming the verifier's key")]
    NoKid,
    #[error("request object `kid` {kid:?} is a key of {kid_did}, not of the client {client_did}")]
    KidDidMismatch {
        kid: String,
        kid_did: String,
        client_did: String,
    },
    #[error("verifier key {kid:?} could not be resolved: {source}")]
    VerifierKey { kid: String, source: DidError },
    #[error("request object signature does not verify with {kid}: {source}")]
    BadSignature { kid: String, source: JoseError },
    #[error(
        "request object `wallet_nonce` is {found:?}, expected the {expected:?} this wallet sent"
    )]
    WalletNonceMismatch {
        expected: String,
        found: Option<String>,
    },
    #[error("request object expired at {exp} (now {now})")]
    Expired { exp: i64, now: i64 },
    #[error(
        "response_mode direct_post.jwt, but client_metadata.jwks has no P-256 key with `use: enc` and `alg: ECDH-ES` to encrypt the response to"
    )]
    NoEncryptionKey,
    #[error(
        "client_metadata.encrypted_response_enc_values_supported is {0:?}: none of A256GCM, A128GCM"
    )]
    NoSupportedEnc(Vec<String>),
    #[error("encrypting the response: {0}")]
    Encryption(#[from] JweError),
    #[error("Digital Credentials API request: {0}")]
    DcApi(#[from] protocol::oid4vp::dc_api::DcApiError),
    #[error("response_mode {0:?} is not supported (direct_post is)")]
    UnsupportedResponseMode(ResponseMode),
    #[error("`scope`-based requests are not supported; the verifier must send a dcql_query")]
    ScopeNotSupported,
    #[error("response_uri {response_uri} differs from the redirect_uri: client_id {client_id}")]
    ResponseUriMismatch {
        client_id: String,
        response_uri: String,
    },
    #[error("no held credential meets the request ({reason}); the verifier was told access_denied")]
    NoMatch { reason: String },
    #[error(transparent)]
    Disclosure(#[from] DisclosureError),
    #[error("sending the response to {url} failed: {source}")]
    Respond { url: String, source: FetchError },
    /// The verifier received the presentation and did not accept it (its reason, or its
    /// HTTP status when it gave none).
    #[error("the verifier did not accept the presentation (HTTP {status}): {reason}")]
    NotAccepted { status: u16, reason: String },
}

impl PresentError {
    /// The stable error code of the API body.
    pub fn code(&self) -> &'static str {
        match self {
            PresentError::Invocation(_) => "invalid_request_link",
            PresentError::Fetch { .. } | PresentError::Respond { .. } => "fetch_failed",
            PresentError::NotAccepted { .. } => "not_accepted",
            PresentError::NoMatch { .. } => "no_matching_credential",
            PresentError::Disclosure(_) => "invalid_disclosure",
            PresentError::NoEncryptionKey
            | PresentError::NoSupportedEnc(_)
            | PresentError::Encryption(_)
            | PresentError::UnsupportedResponseMode(_)
            | PresentError::ScopeNotSupported
            | PresentError::UnsupportedClientIdPrefix { .. } => "verifier_unsupported",
            _ => "invalid_request_object",
        }
    }

    /// Whether the verifier (not the caller's input) is at fault.
    pub fn is_counterparty_fault(&self) -> bool {
        !matches!(
            self,
            PresentError::Invocation(_)
                | PresentError::NoMatch { .. }
                | PresentError::Disclosure(_)
        )
    }
}

/// One presentation sent.
#[derive(Debug, Clone, Serialize)]
pub struct PresentedCredential {
    /// The credential query it answers.
    pub query_id: String,
    pub credential_id: String,
    pub issuer: String,
    pub achievement_name: Option<String>,
    /// The disclosures presented, as JSON pointers.
    pub disclosed: Vec<String>,
}

/// What `present` did and what the verifier answered.
#[derive(Debug, Clone, Serialize)]
pub struct Presented {
    /// The verifier's full client_id (the KB-JWT `aud`).
    pub client_id: String,
    pub response_uri: String,
    pub credentials: Vec<PresentedCredential>,
    /// The verifier's HTTP status.
    pub status: u16,
    /// The verifier's answer: its JSON, or its text when not JSON.
    pub body: Value,
    /// Where the verifier asks the wallet to send the user next (§8.2).
    pub redirect_uri: Option<String>,
    /// The verifier's checks that failed, when it did not accept the presentation and said
    /// which (Akashi's verifier does: `failed_checks`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_checks: Vec<String>,
}

impl Presented {
    /// Whether the verifier accepted the response (2xx).
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The verifier's answer, as the web pages show it.
    pub fn answer(&self) -> VerifierAnswer {
        VerifierAnswer {
            status: self.status,
            body: self.body.clone(),
            redirect_uri: self.redirect_uri.clone(),
            failed_checks: self.failed_checks.clone(),
        }
    }

    /// `Ok` when the verifier accepted the presentation; otherwise why not, as the
    /// verifier said it (`error_description`, else its `error`, else its HTTP status).
    pub fn require_accepted(&self) -> Result<(), PresentError> {
        if self.accepted() {
            return Ok(());
        }
        let said = |name: &str| {
            self.body
                .get(name)
                .and_then(Value::as_str)
                .map(|s| s.chars().take(300).collect::<String>())
        };
        Err(PresentError::NotAccepted {
            status: self.status,
            reason: said("error_description")
                .or_else(|| said("error"))
                .unwrap_or_else(|| "no reason given".to_owned()),
        })
    }
}

/// What the wallet tells a verifier about itself when `request_uri_method=post` (§10.1).
fn wallet_metadata() -> Value {
    json!({
        "vp_formats_supported": {
            "dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]}
        },
        "client_id_prefixes_supported": ["decentralized_identifier", "x509_hash", "x509_san_dns", "redirect_uri"],
        "response_modes_supported": ["direct_post", "direct_post.jwt"],
        "authorization_encryption_alg_values_supported": [jwe::ALG_ECDH_ES],
        "authorization_encryption_enc_values_supported": ["A128GCM", "A256GCM"],
    })
}

/// For a `direct_post.jwt` request (§8.3): the key to encrypt the response to (the first
/// `client_metadata.jwks` key with `alg: ECDH-ES`, `use` `enc` or absent, on P-256) and
/// the `enc` (A256GCM when offered, as HAIP prefers; A128GCM when the list is absent, the
/// §8.3 default). `None` for plain `direct_post`.
pub fn response_encryption(req: &AuthorizationRequest) -> Result<Option<(Jwk, Enc)>, PresentError> {
    if req.effective_response_mode() != ResponseMode::DirectPostJwt {
        return Ok(None);
    }
    encryption_key_of(req.client_metadata.as_ref()).map(Some)
}

/// The key and `enc` to encrypt a response to, from a request's `client_metadata`
/// (`direct_post.jwt`, `dc_api.jwt`): see [`response_encryption`].
pub fn encryption_key_of(
    metadata: Option<&protocol::oid4vp::ClientMetadata>,
) -> Result<(Jwk, Enc), PresentError> {
    let keys = metadata
        .and_then(|m| m.jwks.as_ref())
        .and_then(|jwks| jwks.get("keys"))
        .and_then(Value::as_array)
        .ok_or(PresentError::NoEncryptionKey)?;
    let jwk = keys
        .iter()
        .filter(|k| k.get("alg").and_then(Value::as_str) == Some(jwe::ALG_ECDH_ES))
        .filter(|k| {
            k.get("use")
                .and_then(Value::as_str)
                .is_none_or(|u| u == jwe::USE_ENC)
        })
        .filter_map(|k| Jwk::from_value(k).ok())
        .find(|k| k.kty == "EC" && k.crv == "P-256")
        .ok_or(PresentError::NoEncryptionKey)?;
    let enc = match metadata.and_then(|m| m.encrypted_response_enc_values_supported.as_ref()) {
        None => Enc::A128GCM,
        Some(values) => Enc::ALL
            .into_iter()
            .find(|e| values.iter().any(|v| v == e.as_str()))
            .ok_or_else(|| PresentError::NoSupportedEnc(values.clone()))?,
    };
    Ok((jwk, enc))
}

/// The form to post: the parameters themselves (`direct_post`), or `response=<JWE>` of
/// them as one JSON object (`direct_post.jwt`).
#[expect(clippy::expect_used, reason = "a JSON map serialises")]
fn response_form(
    req: &AuthorizationRequest,
    params: Vec<(String, Value)>,
) -> Result<Vec<(String, String)>, PresentError> {
    match response_encryption(req)? {
        None => Ok(params
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect()),
        Some((jwk, enc)) => {
            let payload: Map<String, Value> = params.into_iter().collect();
            let payload = serde_json::to_vec(&payload).expect("a JSON map serialises");
            let compact = jwe::encrypt(&payload, &jwk, enc, jwk.kid.as_deref())?;
            Ok(vec![("response".to_owned(), compact)])
        }
    }
}

/// Decodes an unsigned (`alg: none`) request object: header `typ` checked, no signature.
pub fn decode_unsigned_request(jwt: &str) -> Result<AuthorizationRequest, RequestError> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(RequestError::Jose(JoseError::Malformed(
            "a JWT has exactly three parts",
        )));
    };
    if !signature.is_empty() {
        return Err(RequestError::Jose(JoseError::Malformed(
            "an unsigned JWT has an empty signature",
        )));
    }
    let decode = |part: &str, what: &'static str| -> Result<Map<String, Value>, RequestError> {
        let bytes = protocol::b64::decode(part)
            .map_err(|_| RequestError::Jose(JoseError::Malformed(what)))?;
        serde_json::from_slice(&bytes).map_err(|_| RequestError::Jose(JoseError::Malformed(what)))
    };
    let header = decode(header, "header is not base64url JSON object")?;
    if header.get("alg").and_then(Value::as_str) != Some("none") {
        return Err(RequestError::Jose(JoseError::Malformed(
            "an unsigned request object has `alg: none`",
        )));
    }
    let typ = header.get("typ").and_then(Value::as_str);
    let normalised = typ.map(|t| {
        t.strip_prefix("application/")
            .unwrap_or(t)
            .to_ascii_lowercase()
    });
    if normalised.as_deref() != Some(TYP_REQUEST_OBJECT) {
        return Err(RequestError::Jose(JoseError::WrongTyp {
            expected: TYP_REQUEST_OBJECT.into(),
            found: typ.map(str::to_owned),
        }));
    }
    let payload = decode(payload, "payload is not base64url JSON object")?;
    serde_json::from_value(Value::Object(payload))
        .map_err(|e| RequestError::BadClaims(e.to_string()))
}

/// The checks on a decoded request that need no network: client binding, wallet nonce,
/// expiry, parameter rules, response mode, and the `redirect_uri:` response URI rule.
pub fn check_request(
    link_client_id: &str,
    req: &AuthorizationRequest,
    wallet_nonce: Option<&str>,
    now: i64,
) -> Result<(), PresentError> {
    check_client_id(link_client_id, req)?;
    if let Some(sent) = wallet_nonce
        && req.wallet_nonce.as_deref() != Some(sent)
    {
        return Err(PresentError::WalletNonceMismatch {
            expected: sent.to_owned(),
            found: req.wallet_nonce.clone(),
        });
    }
    if let Some(exp) = req.exp
        && exp < now
    {
        return Err(PresentError::Expired { exp, now });
    }
    req.validate()?;
    match req.effective_response_mode() {
        ResponseMode::DirectPost => {}
        ResponseMode::DirectPostJwt => {
            response_encryption(req)?;
        }
        other => return Err(PresentError::UnsupportedResponseMode(other)),
    }
    if req.dcql_query.is_none() {
        return Err(PresentError::ScopeNotSupported);
    }
    if let ClientIdPrefix::RedirectUri(uri) = req.client_id.prefix()
        && req.response_uri.as_ref() != Some(uri)
    {
        return Err(PresentError::ResponseUriMismatch {
            client_id: req.client_id.to_string(),
            response_uri: req
                .response_uri
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        });
    }
    Ok(())
}

/// A request loaded and checked by [`App::load_request_verified`], with what the holder is
/// shown about who sent it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadedRequest {
    pub request: AuthorizationRequest,
    /// The verifier key (a DID URL) the request object's signature verified with; `None`
    /// for the unsigned requests of `redirect_uri:` clients.
    pub verified_kid: Option<String>,
    /// `client_metadata.client_name` of the request object, when given.
    pub client_name: Option<String>,
}

/// `client_metadata.client_name` in a request object's payload (read after the object was
/// checked; the typed request does not keep it).
fn client_name_of(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = protocol::b64::decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let name = claims
        .pointer("/client_metadata/client_name")?
        .as_str()?
        .trim();
    (!name.is_empty()).then(|| name.chars().take(200).collect())
}

/// What the verifier answered to a response.
#[derive(Debug, Clone, Serialize)]
pub struct VerifierAnswer {
    pub status: u16,
    /// Its JSON, or its text when not JSON (shown under "Technical details").
    pub body: Value,
    pub redirect_uri: Option<String>,
    /// The checks it names as failed (`failed_checks`), for the holder's own words.
    pub failed_checks: Vec<String>,
}

impl VerifierAnswer {
    pub(crate) fn from_fetched(f: &kit::fetch::Fetched) -> Self {
        let body: Value = serde_json::from_slice(&f.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&f.body).into_owned()));
        // The typed answer (§8.2); a body of another shape is kept for the details only.
        let typed: ResponseEndpointAnswer =
            serde_json::from_value(body.clone()).unwrap_or_default();
        VerifierAnswer {
            status: f.status,
            body,
            redirect_uri: typed.redirect_uri,
            failed_checks: typed
                .failed_checks
                .into_iter()
                .take(MAX_FAILED_CHECKS)
                .map(|name| name.chars().take(64).collect())
                .collect(),
        }
    }
}

/// The most failed checks a verifier's answer is read for (the verifier is a stranger).
const MAX_FAILED_CHECKS: usize = 32;

impl App {
    /// Loads, authenticates and checks the request a wallet link points to.
    pub async fn load_request(
        &self,
        request_text: &str,
        now: i64,
    ) -> Result<AuthorizationRequest, PresentError> {
        Ok(self.load_request_verified(request_text, now).await?.request)
    }

    /// [`App::load_request`], saying which key the signature verified with and the
    /// client's name.
    pub async fn load_request_verified(
        &self,
        request_text: &str,
        now: i64,
    ) -> Result<LoadedRequest, PresentError> {
        let invocation = Invocation::parse(request_text)?;
        let link_client_id = invocation.client_id().clone();
        let mut wallet_nonce = None;
        let jwt = match invocation {
            Invocation::Plain(req) => {
                if !matches!(link_client_id.prefix(), ClientIdPrefix::RedirectUri(_)) {
                    return Err(PresentError::UnsignedParameters {
                        client_id: link_client_id.to_string(),
                    });
                }
                check_request(link_client_id.as_str(), &req, None, now)?;
                return Ok(LoadedRequest {
                    request: *req,
                    verified_kid: None,
                    client_name: None,
                });
            }
            Invocation::ByValue { request, .. } => request,
            Invocation::ByReference(r) => {
                let url = r.request_uri.to_string();
                let accept = "application/oauth-authz-req+jwt";
                let fetched = match r.request_uri_method {
                    RequestUriMethod::Get => self.fetcher.get(&url, accept).await,
                    RequestUriMethod::Post => {
                        let nonce = protocol::b64::random(16);
                        let metadata = wallet_metadata().to_string();
                        let form = [
                            ("wallet_metadata", metadata.as_str()),
                            ("wallet_nonce", nonce.as_str()),
                        ];
                        wallet_nonce = Some(nonce.clone());
                        match self.fetcher.post_form(&url, &form, accept).await {
                            Ok(f) if !f.is_success() => Err(FetchError::Status {
                                status: f.status,
                                snippet: f.snippet(),
                            }),
                            other => other,
                        }
                    }
                }
                .map_err(|source| PresentError::Fetch {
                    url: url.clone(),
                    source,
                })?;
                String::from_utf8_lossy(&fetched.body).trim().to_owned()
            }
        };

        let mut verified_kid = None;
        let req = match decode_request_object(&jwt) {
            Err(RequestError::Jose(JoseError::AlgNone)) => {
                if !matches!(link_client_id.prefix(), ClientIdPrefix::RedirectUri(_)) {
                    return Err(PresentError::Unsigned {
                        client_id: link_client_id.to_string(),
                    });
                }
                decode_unsigned_request(&jwt)?
            }
            Err(e) => return Err(e.into()),
            Ok((jws, req)) => {
                let client_did = match link_client_id.prefix() {
                    ClientIdPrefix::DecentralizedIdentifier(did) => did.clone(),
                    ClientIdPrefix::X509SanDns(_) | ClientIdPrefix::X509Hash(_) => {
                        let signer = self.verify_x509_request(
                            &link_client_id,
                            &jws,
                            req.response_uri.as_ref(),
                            now,
                        )?;
                        check_request(link_client_id.as_str(), &req, wallet_nonce.as_deref(), now)?;
                        return Ok(LoadedRequest {
                            request: req,
                            verified_kid: Some(signer),
                            client_name: client_name_of(&jwt),
                        });
                    }
                    ClientIdPrefix::RedirectUri(_) => return Err(PresentError::SignedRedirectUri),
                    _ => {
                        return Err(PresentError::UnsupportedClientIdPrefix {
                            client_id: link_client_id.to_string(),
                        });
                    }
                };
                verified_kid = Some(self.verify_did_request(client_did, &jws).await?);
                req
            }
        };
        check_request(link_client_id.as_str(), &req, wallet_nonce.as_deref(), now)?;
        Ok(LoadedRequest {
            request: req,
            verified_kid,
            client_name: client_name_of(&jwt),
        })
    }

    /// `decentralized_identifier:` clients (OpenID4VP 1.0 §5.9.3): the JOSE `kid` is a DID
    /// URL of the client's DID, and the key it resolves to signed the request. Returns the
    /// `kid`.
    pub(crate) async fn verify_did_request(
        &self,
        client_did: String,
        jws: &Jws,
    ) -> Result<String, PresentError> {
        let kid = jws.kid().ok_or(PresentError::NoKid)?.to_owned();
        let (kid_did, _) = split_did_url(&kid).map_err(|source| PresentError::VerifierKey {
            kid: kid.clone(),
            source,
        })?;
        if kid_did != client_did {
            return Err(PresentError::KidDidMismatch {
                kid: kid.clone(),
                kid_did: kid_did.to_owned(),
                client_did,
            });
        }
        let jwk = match self
            .dids
            .resolve_key(&kid, Relationship::Authentication)
            .await
        {
            Err(DidError::NotAuthorised { .. }) => {
                self.dids
                    .resolve_key(&kid, Relationship::AssertionMethod)
                    .await
            }
            other => other,
        }
        .map_err(|source| PresentError::VerifierKey {
            kid: kid.clone(),
            source,
        })?;
        let key = jwk
            .verifying_key()
            .map_err(|e| PresentError::BadSignature {
                kid: kid.clone(),
                source: JoseError::Key(e),
            })?;
        jws.verify(&key)
            .map_err(|source| PresentError::BadSignature {
                kid: kid.clone(),
                source,
            })?;
        Ok(kid)
    }

    /// `x509_san_dns:` and `x509_hash:` clients (OpenID4VP 1.0 §5.9.3): the `x5c` chain
    /// leads to one of the wallet's trust anchors, its leaf is the client (its SHA-256, or a
    /// SAN dNSName that is also the response URI's host), and its key signed the request.
    /// Returns the signer as the holder is shown it: the leaf's subject.
    pub(crate) fn verify_x509_request(
        &self,
        client_id: &ClientId,
        jws: &Jws,
        response_uri: Option<&url::Url>,
        now: i64,
    ) -> Result<String, PresentError> {
        let x509_error = |source| PresentError::X509 {
            client_id: client_id.to_string(),
            source,
        };
        let x5c: Vec<String> = jws
            .header
            .get("x5c")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let chain = protocol::x509::x5c_decode(&x5c).map_err(x509_error)?;
        let leaf =
            protocol::x509::verify_chain(&chain, &self.x509_anchors, now).map_err(x509_error)?;
        match client_id.prefix() {
            ClientIdPrefix::X509Hash(hash) if leaf.hash() != *hash => {
                return Err(PresentError::X509HashMismatch {
                    client_id: client_id.to_string(),
                    found: leaf.hash(),
                });
            }
            ClientIdPrefix::X509SanDns(name) => {
                if !leaf
                    .dns_names
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case(name.as_str()))
                {
                    return Err(PresentError::X509SanMismatch {
                        client_id: client_id.to_string(),
                        found: leaf.dns_names.clone(),
                    });
                }
                let host = response_uri.and_then(|u| u.host_str());
                if !host.is_some_and(|h| h.eq_ignore_ascii_case(name.as_str())) {
                    return Err(PresentError::X509ResponseUriHost {
                        client_id: client_id.to_string(),
                        response_uri: response_uri.map(ToString::to_string).unwrap_or_default(),
                    });
                }
            }
            _ => {}
        }
        let key = leaf
            .p256_jwk()
            .map_err(x509_error)?
            .verifying_key()
            .map_err(|e| PresentError::BadSignature {
                kid: "x5c leaf".into(),
                source: JoseError::Key(e),
            })?;
        jws.verify(&key)
            .map_err(|source| PresentError::BadSignature {
                kid: format!("the x5c leaf certificate of {client_id}"),
                source,
            })?;
        Ok(format!(
            "X.509 certificate {} (issued by {})",
            leaf.subject, leaf.issuer
        ))
    }

    /// Answers the OpenID4VP request behind `request_text` (an `openid4vp://` or https
    /// wallet link) with `account`'s credentials. `disclose` (JSON pointers) narrows what
    /// is disclosed to those of the listed claims the verifier requested.
    pub async fn present(
        &self,
        account: &Account,
        request_text: &str,
        disclose: Option<Vec<String>>,
        now: i64,
    ) -> Result<Presented, AppError> {
        let loaded = self.load_request_verified(request_text, now).await?;
        let prepared = self.prepare_presentation(account, loaded).await?;
        if let Some(reason) = &prepared.unmatched {
            self.send_access_denied(&prepared.response_uri, &prepared.loaded.request, reason)
                .await?;
            return Err(PresentError::NoMatch {
                reason: reason.clone(),
            }
            .into());
        }
        let choices = match &disclose {
            Some(list) => {
                let requested: Vec<Vec<String>> = prepared
                    .credentials
                    .iter()
                    .flat_map(|c| c.requested.iter().cloned())
                    .collect();
                let listed =
                    disclosure::parse_listed(list, &requested).map_err(PresentError::from)?;
                vec![Some(listed); prepared.credentials.len()]
            }
            None => vec![None; prepared.credentials.len()],
        };
        self.send_presentation(account, &prepared, &choices, now)
            .await
    }

    /// Posts the response parameters to `response_uri` (encrypted for `direct_post.jwt`).
    pub(crate) async fn post_response(
        &self,
        req: &AuthorizationRequest,
        response_uri: &str,
        params: Vec<(String, Value)>,
    ) -> Result<VerifierAnswer, PresentError> {
        let form = response_form(req, params)?;
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let answer = self
            .fetcher
            .post_form(response_uri, &pairs, "application/json")
            .await
            .map_err(|source| PresentError::Respond {
                url: response_uri.to_owned(),
                source,
            })?;
        Ok(VerifierAnswer::from_fetched(&answer))
    }

    /// Tells the verifier no credential meets its request, or the holder declined (§8.5
    /// `access_denied`).
    pub(crate) async fn send_access_denied(
        &self,
        response_uri: &str,
        req: &AuthorizationRequest,
        reason: &str,
    ) -> Result<VerifierAnswer, PresentError> {
        let error = AuthorizationErrorResponse {
            error: ErrorCode::AccessDenied,
            error_description: Some(reason.to_owned()),
            state: req.state.clone(),
        };
        let params = error
            .to_form()
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        self.post_response(req, response_uri, params).await
    }
}

#[cfg(test)]
mod tests {
    use protocol::keys::Signer;

    use super::*;

    const DID_CLIENT: &str = "decentralized_identifier:did:web:verifier.example";

    fn fetched(status: u16, body: &str) -> kit::fetch::Fetched {
        kit::fetch::Fetched {
            status,
            content_type: Some("application/json".into()),
            body: body.as_bytes().to_vec().into(),
            dpop_nonce: None,
        }
    }

    fn presented(answer: VerifierAnswer) -> Presented {
        Presented {
            client_id: DID_CLIENT.into(),
            response_uri: "https://verifier.example/response".into(),
            credentials: vec![],
            status: answer.status,
            body: answer.body,
            redirect_uri: answer.redirect_uri,
            failed_checks: answer.failed_checks,
        }
    }

    #[test]
    fn a_verifier_that_did_not_accept_is_said_so_with_its_reason_not_as_an_internal_error() {
        let answer = VerifierAnswer::from_fetched(&fetched(
            400,
            r#"{"error":"invalid_request","error_description":"not accepted: the issuer has revoked this badge","failed_checks":["status"],"redirect_uri":"https://verifier.example/done#response_code=x"}"#,
        ));
        assert_eq!(answer.failed_checks, ["status"]);
        assert_eq!(
            answer.redirect_uri.as_deref(),
            Some("https://verifier.example/done#response_code=x")
        );
        let err = presented(answer).require_accepted().unwrap_err();
        assert_eq!(err.code(), "not_accepted");
        assert_eq!(
            err.to_string(),
            "the verifier did not accept the presentation (HTTP 400): not accepted: the issuer has revoked this badge"
        );

        // Accepted: 200 `{}`.
        assert!(
            presented(VerifierAnswer::from_fetched(&fetched(200, "{}")))
                .require_accepted()
                .is_ok()
        );
        // A verifier of another make: its status when it says nothing, and a hostile
        // `failed_checks` is bounded.
        let err = presented(VerifierAnswer::from_fetched(&fetched(500, "oops")))
            .require_accepted()
            .unwrap_err();
        assert!(
            err.to_string().ends_with("(HTTP 500): no reason given"),
            "{err}"
        );
        let many = format!(
            r#"{{"error":"x","failed_checks":[{}]}}"#,
            vec![format!("\"{}\"", "a".repeat(1000)); 1000].join(",")
        );
        let answer = VerifierAnswer::from_fetched(&fetched(400, &many));
        assert_eq!(answer.failed_checks.len(), MAX_FAILED_CHECKS);
        assert!(answer.failed_checks.iter().all(|n| n.len() == 64));
        // A body of another shape: no redirect, no checks, and it is still kept to show.
        let answer = VerifierAnswer::from_fetched(&fetched(
            400,
            r#"{"failed_checks":"status","redirect_uri":7}"#,
        ));
        assert!(answer.failed_checks.is_empty() && answer.redirect_uri.is_none());
        assert_eq!(answer.body["failed_checks"], "status");
    }

    fn request(changes: Value) -> AuthorizationRequest {
        let mut base = json!({
            "client_id": DID_CLIENT,
            "response_type": "vp_token",
            "response_mode": "direct_post",
            "response_uri": "https://verifier.example/response",
            "nonce": "n-123",
            "state": "s-1",
            "dcql_query": {"credentials": [{"id": "b", "format": "dc+sd-jwt",
                                            "meta": {"vct_values": ["https://i.example/vct"]}}]}
        });
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn a_valid_request_passes() {
        check_request(DID_CLIENT, &request(json!({})), None, 1000).unwrap();
    }

    #[test]
    fn each_check_fails_on_its_own() {
        let err = |changes: Value, nonce: Option<&str>| {
            check_request(DID_CLIENT, &request(changes), nonce, 1000).unwrap_err()
        };
        assert!(matches!(
            check_request(
                "decentralized_identifier:did:web:x.example",
                &request(json!({})),
                None,
                1000
            ),
            Err(PresentError::Request(RequestError::ClientIdMismatch { .. }))
        ));
        assert!(matches!(
            err(json!({}), Some("wn-1")),
            PresentError::WalletNonceMismatch { found: None, .. }
        ));
        assert!(
            check_request(
                DID_CLIENT,
                &request(json!({"wallet_nonce": "wn-1"})),
                Some("wn-1"),
                1000
            )
            .is_ok()
        );
        assert!(matches!(
            err(json!({"exp": 999}), None),
            PresentError::Expired {
                exp: 999,
                now: 1000
            }
        ));
        assert!(matches!(
            err(json!({"response_mode": "direct_post.jwt"}), None),
            PresentError::NoEncryptionKey
        ));
        assert!(matches!(
            err(
                json!({"response_mode": "fragment", "response_uri": null,
                       "redirect_uri": "https://verifier.example/cb"}),
                None
            ),
            PresentError::UnsupportedResponseMode(ResponseMode::Fragment)
        ));
        assert!(matches!(
            err(json!({"dcql_query": null, "scope": "openbadge"}), None),
            PresentError::ScopeNotSupported
        ));
        assert!(matches!(
            err(json!({"response_uri": null}), None),
            PresentError::Request(RequestError::MissingResponseUri(_))
        ));
        assert!(matches!(
            err(json!({"nonce": "bad nonce!"}), None),
            PresentError::Request(RequestError::BadNonce)
        ));
    }

    #[test]
    fn redirect_uri_clients_must_answer_at_their_own_uri() {
        let client = "redirect_uri:https://verifier.example/response";
        let ok = request(json!({"client_id": client}));
        check_request(client, &ok, None, 1000).unwrap();
        let elsewhere = request(json!({"client_id": client,
                                       "response_uri": "https://attacker.example/collect"}));
        assert!(matches!(
            check_request(client, &elsewhere, None, 1000),
            Err(PresentError::ResponseUriMismatch { .. })
        ));
    }

    #[test]
    fn unsigned_request_objects_are_decoded_with_their_type_checked() {
        let claims = serde_json::to_value(request(json!({})))
            .unwrap()
            .to_string();
        let jwt = |header: Value| {
            format!(
                "{}.{}.",
                protocol::b64::encode(header.to_string()),
                protocol::b64::encode(&claims)
            )
        };
        let req =
            decode_unsigned_request(&jwt(json!({"alg": "none", "typ": "oauth-authz-req+jwt"})))
                .unwrap();
        assert_eq!(req.nonce, "n-123");
        assert!(matches!(
            decode_unsigned_request(&jwt(json!({"alg": "none", "typ": "JWT"}))),
            Err(RequestError::Jose(JoseError::WrongTyp { .. }))
        ));
        assert!(matches!(
            decode_unsigned_request(&jwt(json!({"alg": "none"}))),
            Err(RequestError::Jose(JoseError::WrongTyp { found: None, .. }))
        ));
        assert!(matches!(
            decode_unsigned_request(&format!(
                "{}sig",
                jwt(json!({"alg": "none", "typ": "oauth-authz-req+jwt"}))
            )),
            Err(RequestError::Jose(JoseError::Malformed(_)))
        ));
    }

    #[test]
    fn direct_post_jwt_picks_the_key_and_enc() {
        let key = jwe::EncryptionKey::generate();
        let enc_jwk = key.public_jwk().to_value();
        let signing = protocol::keys::SigningKey::generate(protocol::keys::Alg::ES256);
        let sig_jwk = {
            let mut j = signing.public_jwk().to_value();
            j["use"] = json!("sig");
            j["alg"] = json!("ECDH-ES");
            j
        };
        let jwt = |metadata: Value| {
            request(json!({"response_mode": "direct_post.jwt", "client_metadata": metadata}))
        };
        // A256GCM preferred; the `use: sig` key is passed over.
        let req = jwt(json!({"jwks": {"keys": [sig_jwk, enc_jwk]},
                             "encrypted_response_enc_values_supported": ["A128GCM", "A256GCM"]}));
        let (jwk, enc) = response_encryption(&req).unwrap().unwrap();
        assert_eq!((jwk.kid.as_deref(), enc), (Some(key.kid()), Enc::A256GCM));
        // Absent list: the §8.3 default, A128GCM.
        let req = jwt(json!({"jwks": {"keys": [enc_jwk]}}));
        assert_eq!(response_encryption(&req).unwrap().unwrap().1, Enc::A128GCM);
        // The form is `response=<JWE>` that the key opens to the parameters.
        let form = response_form(
            &req,
            vec![
                ("vp_token".into(), json!({"b": ["x~"]})),
                ("state".into(), json!("s-1")),
            ],
        )
        .unwrap();
        assert_eq!(form.len(), 1);
        assert_eq!(form[0].0, "response");
        let plain: Value = serde_json::from_slice(&key.decrypt(&form[0].1).unwrap()).unwrap();
        assert_eq!(plain, json!({"vp_token": {"b": ["x~"]}, "state": "s-1"}));
        // Refusals.
        let req = jwt(json!({"jwks": {"keys": [sig_jwk]}}));
        assert!(matches!(
            response_encryption(&req),
            Err(PresentError::NoEncryptionKey)
        ));
        let req = jwt(json!({"jwks": {"keys": [enc_jwk]},
                             "encrypted_response_enc_values_supported": ["A128CBC-HS256"]}));
        assert!(matches!(
            response_encryption(&req),
            Err(PresentError::NoSupportedEnc(_))
        ));
        assert!(response_encryption(&request(json!({}))).unwrap().is_none());
    }
}
