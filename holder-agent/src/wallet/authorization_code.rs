//! Receiving through the authorization code flow (OpenID4VCI 1.0 §5): the offer's
//! `issuer_state`, a pushed authorization request (RFC 9126) with PKCE `S256` (RFC 7636),
//! the person's browser sent to the authorization endpoint, the response's `state` and
//! `iss` checked (RFC 9207), and the code exchanged for a DPoP-bound access token (RFC
//! 9449) used at the credential endpoint. A fresh DPoP key per flow; every request
//! answers a `use_dpop_nonce` refusal once, with the nonce the server sent.

use protocol::keys::{Alg, SigningKey};
use protocol::oauth::authorization::{
    AuthorizationRequest, GRANT_TYPE_AUTHORIZATION_CODE, PushedAuthorizationResponse,
};
use protocol::oauth::{dpop, pkce};
use protocol::oid4vci::token::{AUTHORIZATION_DETAIL_TYPE, AuthorizationDetail};
use protocol::oid4vci::{CredentialOffer, TokenResponse};

use super::attestation::{self, Attested};
use super::oid4vci::{
    AcceptError, Accepted, Access, Discovered, dpop_proof, expect_success, pick_configurations,
    pick_ldp_vc,
};
use super::{Account, AppError};
use crate::App;

/// The path of the wallet's redirect URI.
pub const REDIRECT_PATH: &str = "/receive/authorized";

/// A flow between [`App::begin_authorization`] and [`App::finish_authorization`]: what
/// the wallet must remember while the person's browser is at the issuer.
pub struct PendingAuthorization {
    offer: CredentialOffer,
    found: Discovered,
    token_endpoint: String,
    state: String,
    code_verifier: String,
    dpop_key: SigningKey,
    dpop_nonce: Option<String>,
    /// This flow's wallet attestation, when the issuer asks for one.
    attested: Option<Attested>,
}

impl std::fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("issuer", &self.found.issuer)
            .finish_non_exhaustive()
    }
}

impl App {
    /// This wallet's OAuth `client_id`: its public URL.
    pub fn oauth_client_id(&self) -> String {
        self.config
            .service
            .public_url
            .trim_end_matches('/')
            .to_owned()
    }

    /// The identifier of this wallet as the provider of its wallet attestations.
    pub fn wallet_provider_id(&self) -> String {
        self.config
            .provider_id
            .clone()
            .unwrap_or_else(|| self.oauth_client_id())
    }

    /// The `ISSUER_WALLET_PROVIDERS` entry an issuer trusts this wallet's attestations with.
    pub fn wallet_provider_setting(&self) -> String {
        super::attestation::issuer_setting(
            &self.wallet_provider_id(),
            &super::attestation::provider_key(&self.seal),
        )
    }

    /// This wallet's redirect URI, registered with issuers for its client id.
    pub fn oauth_redirect_uri(&self) -> String {
        format!("{}{REDIRECT_PATH}", self.oauth_client_id())
    }

    /// POSTs a form with a DPoP proof for `url` (and, when `attested`, the wallet
    /// attestation with a fresh proof of possession for `audience`); on `use_dpop_nonce`,
    /// once more with the nonce the server sent. The nonce of the last answer is kept in
    /// `nonce`.
    #[expect(clippy::too_many_arguments, reason = "one request's parts, named")]
    async fn post_form_dpop(
        &self,
        what: &'static str,
        url: &str,
        form: &[(&str, &str)],
        key: &SigningKey,
        attested: Option<(&Attested, &str)>,
        nonce: &mut Option<String>,
        now: i64,
    ) -> Result<kit::fetch::Fetched, AcceptError> {
        let mut retried = false;
        let client_id = self.oauth_client_id();
        loop {
            let proof = dpop_proof(key, url, nonce.as_deref(), None, now);
            let attestation = attested.map(|(a, audience)| a.headers(&client_id, audience, now));
            let mut headers: Vec<(&str, &str)> = vec![(dpop::HEADER_DPOP, &proof)];
            if let Some(h) = &attestation {
                headers.extend(h.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            }
            let fetched = self
                .fetcher
                .post_form_with(url, form, &headers)
                .await
                .map_err(|source| AcceptError::Fetch {
                    what,
                    url: url.to_owned(),
                    source,
                })?;
            if fetched.dpop_nonce.is_some() {
                nonce.clone_from(&fetched.dpop_nonce);
            }
            let wants_nonce = !fetched.is_success()
                && fetched
                    .json::<protocol::oauth::ErrorResponse>()
                    .is_ok_and(|e| e.error == protocol::oauth::ErrorCode::UseDpopNonce);
            if wants_nonce && !retried && fetched.dpop_nonce.is_some() {
                retried = true;
                continue;
            }
            return Ok(fetched);
        }
    }

    /// Starts receiving an offer through the authorization code flow: pushes the
    /// authorization request (when the server has a PAR endpoint) and returns the URL to
    /// send the person's browser to, with what to keep until it comes back.
    pub async fn begin_authorization(
        &self,
        offer_text: &str,
        now: i64,
    ) -> Result<(String, PendingAuthorization), AppError> {
        let offer = self.resolve_offer(offer_text).await?;
        let grant = offer
            .authorization_code()
            .ok_or(AcceptError::NoAuthorizationCodeGrant)?
            .clone();
        let found = self
            .discover(&offer, grant.authorization_server.as_ref())
            .await?;
        let authorization_endpoint = found.as_metadata.authorization_endpoint.clone().ok_or(
            AcceptError::NoAuthorizationEndpoint("authorization_endpoint"),
        )?;
        let token_endpoint = found
            .as_metadata
            .token_endpoint
            .clone()
            .ok_or(AcceptError::NoTokenEndpoint)?;
        // What to ask for: authorization details (RFC 9396, §5.1.1) when the server takes
        // them, naming exactly the configurations; otherwise their scopes.
        let picked = pick_configurations(&offer, &found.metadata, self.attestation_alg())?;
        let details = found
            .as_metadata
            .authorization_details_types_supported
            .as_ref()
            .is_some_and(|t| t.iter().any(|t| t == AUTHORIZATION_DETAIL_TYPE));
        let (scope, authorization_details) = if details {
            // `locations` names the credential issuer when its authorization server is
            // another (§5.1.1).
            let locations = found
                .metadata
                .authorization_servers
                .is_some()
                .then(|| vec![found.issuer.clone()]);
            // The `ldp_vc` companion too: once identifiers are granted, every credential
            // request must name one (§8.2), the companion's included.
            let companion = pick_ldp_vc(&offer, &found.metadata, self.attestation_alg());
            let details: Vec<AuthorizationDetail> = picked
                .iter()
                .map(|(id, _, _)| id)
                .chain(companion.as_ref())
                .map(|id| AuthorizationDetail {
                    locations: locations.clone(),
                    ..AuthorizationDetail::for_configuration(id)
                })
                .collect();
            (None, Some(authorization_details_text(&details)))
        } else {
            let mut scopes = Vec::new();
            for (id, config, _) in picked {
                scopes.push(config.scope.clone().ok_or(AcceptError::NoScope(id))?);
            }
            (Some(scopes.join(" ")), None)
        };
        let code_verifier = pkce::new_verifier();
        let state = protocol::b64::random(16);
        let dpop_key = SigningKey::generate(Alg::ES256);
        let client_id = self.oauth_client_id();
        let attested = attestation::asked_for(&found.as_metadata)
            .then(|| self.wallet_attestation(&client_id, now));
        let audience = found.as_metadata.issuer.clone();
        let request = AuthorizationRequest {
            response_type: Some("code".into()),
            client_id: Some(client_id.clone()),
            redirect_uri: Some(self.oauth_redirect_uri()),
            scope,
            authorization_details,
            state: Some(state.clone()),
            code_challenge: Some(pkce::challenge_s256(&code_verifier)),
            code_challenge_method: Some(pkce::METHOD_S256.into()),
            issuer_state: grant.issuer_state.clone(),
            dpop_jkt: Some(protocol::keys::Signer::public_jwk(&dpop_key).thumbprint()),
            ..AuthorizationRequest::default()
        };
        let mut dpop_nonce = None;
        let query = match &found.as_metadata.pushed_authorization_request_endpoint {
            Some(par) => {
                let form = request.to_form();
                let pairs: Vec<(String, String)> = url::form_urlencoded::parse(form.as_bytes())
                    .into_owned()
                    .collect();
                let pairs: Vec<(&str, &str)> = pairs
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let fetched = self
                    .post_form_dpop(
                        "pushed authorization request",
                        par,
                        &pairs,
                        &dpop_key,
                        attested.as_ref().map(|a| (a, audience.as_str())),
                        &mut dpop_nonce,
                        now,
                    )
                    .await?;
                let pushed: PushedAuthorizationResponse =
                    expect_success("pushed authorization request", &fetched)?;
                AuthorizationRequest {
                    client_id: Some(client_id),
                    request_uri: Some(pushed.request_uri),
                    ..AuthorizationRequest::default()
                }
                .to_form()
            }
            None => request.to_form(),
        };
        let separator = if authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok((
            format!("{authorization_endpoint}{separator}{query}"),
            PendingAuthorization {
                offer,
                found,
                token_endpoint,
                state,
                code_verifier,
                dpop_key,
                dpop_nonce,
                attested,
            },
        ))
    }

    /// Completes the flow when the person's browser comes back to the redirect URI
    /// (`redirected_to`, the whole URL): checks `state` and `iss`, exchanges the code with
    /// the PKCE verifier and a DPoP proof, and receives the credentials for `account`.
    pub async fn finish_authorization(
        &self,
        account: &Account,
        pending: PendingAuthorization,
        redirected_to: &str,
        now: i64,
    ) -> Result<Accepted, AppError> {
        let url = url::Url::parse(redirected_to).map_err(|_| AcceptError::NoCode)?;
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        if param("state").as_deref() != Some(pending.state.as_str()) {
            return Err(AcceptError::StateMismatch.into());
        }
        // RFC 9207 §2.4: a server that says it sends `iss` must send its own.
        let expected_iss = &pending.found.as_metadata.issuer;
        let iss = param("iss");
        let announced = pending
            .found
            .as_metadata
            .authorization_response_iss_parameter_supported
            == Some(true);
        if (announced || iss.is_some()) && iss.as_deref() != Some(expected_iss.as_str()) {
            return Err(AcceptError::IssMismatch {
                expected: expected_iss.clone(),
                found: iss,
            }
            .into());
        }
        if let Some(error) = param("error") {
            return Err(AcceptError::AuthorizationRefused {
                error,
                description: param("error_description"),
            }
            .into());
        }
        let code = param("code").ok_or(AcceptError::NoCode)?;
        let PendingAuthorization {
            offer,
            found,
            token_endpoint,
            code_verifier,
            dpop_key,
            mut dpop_nonce,
            attested,
            ..
        } = pending;
        let audience = found.as_metadata.issuer.clone();
        let client_id = self.oauth_client_id();
        let redirect_uri = self.oauth_redirect_uri();
        let form = [
            ("grant_type", GRANT_TYPE_AUTHORIZATION_CODE),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("client_id", client_id.as_str()),
            ("code_verifier", code_verifier.as_str()),
        ];
        let fetched = self
            .post_form_dpop(
                "token",
                &token_endpoint,
                &form,
                &dpop_key,
                attested.as_ref().map(|a| (a, audience.as_str())),
                &mut dpop_nonce,
                now,
            )
            .await?;
        let token: TokenResponse = expect_success("token", &fetched)?;
        if !token
            .token_type
            .eq_ignore_ascii_case(protocol::oauth::TOKEN_TYPE_DPOP)
        {
            return Err(AcceptError::UnsupportedTokenType(token.token_type).into());
        }
        let mut access = Access::Dpop {
            identifiers: super::oid4vci::granted_identifiers(&token),
            token: token.access_token,
            key: dpop_key,
            nonce: dpop_nonce,
            client_id: Some(client_id),
        };
        self.receive(account, &offer, &found, &mut access, now)
            .await
    }
}

/// How long a flow started from the web wallet waits for the browser's return, seconds.
pub use super::oid4vci::AUTHORIZATION_TTL as PENDING_TTL;
/// Most flows one account keeps waiting (the oldest is dropped beyond).
pub const MAX_PENDING_PER_ACCOUNT: i64 = 4;
/// The seal purpose of a stored flow.
const SEAL_PURPOSE: &str = "akashi wallet pending authorization v1";

/// What a stored flow remembers (sealed at rest: it holds the DPoP private key and the
/// PKCE verifier).
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    offer: CredentialOffer,
    issuer: String,
    metadata: protocol::oid4vci::CredentialIssuerMetadata,
    as_metadata: protocol::oid4vci::AuthorizationServerMetadata,
    issuer_name: Option<String>,
    token_endpoint: String,
    state: String,
    code_verifier: String,
    /// The DPoP key, [`SigningKey::to_secret_bytes`] in base64url.
    dpop_key: String,
    dpop_nonce: Option<String>,
    /// The attested instance key ([`SigningKey::to_secret_bytes`], base64url) and its
    /// attestation.
    #[serde(default)]
    instance_key: Option<String>,
    #[serde(default)]
    attestation: Option<String>,
}

impl PendingAuthorization {
    fn seal(&self, seal: &protocol::keys::seal::SealKey) -> Result<String, AppError> {
        let saved = Saved {
            offer: self.offer.clone(),
            issuer: self.found.issuer.clone(),
            metadata: self.found.metadata.clone(),
            as_metadata: self.found.as_metadata.clone(),
            issuer_name: self.found.issuer_name.clone(),
            token_endpoint: self.token_endpoint.clone(),
            state: self.state.clone(),
            code_verifier: self.code_verifier.clone(),
            dpop_key: protocol::b64::encode(self.dpop_key.to_secret_bytes()),
            dpop_nonce: self.dpop_nonce.clone(),
            instance_key: self
                .attested
                .as_ref()
                .map(|a| protocol::b64::encode(a.instance.to_secret_bytes())),
            attestation: self.attested.as_ref().map(|a| a.attestation.clone()),
        };
        let json = serde_json::to_vec(&saved)
            .map_err(|e| AppError::Internal(format!("pending authorization: {e}")))?;
        Ok(protocol::b64::encode(seal.seal(SEAL_PURPOSE, &json)))
    }

    fn open(seal: &protocol::keys::seal::SealKey, sealed: &str) -> Result<Self, AppError> {
        let corrupt =
            |what: &str| AppError::Internal(format!("stored pending authorization: {what}"));
        let bytes = protocol::b64::decode(sealed).map_err(|_| corrupt("not base64url"))?;
        let json = seal
            .open(SEAL_PURPOSE, &bytes)
            .map_err(|_| corrupt("does not open under the wallet's key"))?;
        let s: Saved = serde_json::from_slice(&json).map_err(|e| corrupt(&e.to_string()))?;
        let key = protocol::b64::decode(&s.dpop_key).map_err(|_| corrupt("DPoP key"))?;
        let attested = match (s.instance_key, s.attestation) {
            (Some(k), Some(attestation)) => {
                let k = protocol::b64::decode(&k).map_err(|_| corrupt("instance key"))?;
                Some(Attested {
                    instance: SigningKey::from_secret_bytes(&k)
                        .map_err(|_| corrupt("instance key"))?,
                    attestation,
                })
            }
            _ => None,
        };
        Ok(PendingAuthorization {
            offer: s.offer,
            found: Discovered {
                issuer: s.issuer,
                metadata: s.metadata,
                as_metadata: s.as_metadata,
                issuer_name: s.issuer_name,
            },
            token_endpoint: s.token_endpoint,
            state: s.state,
            code_verifier: s.code_verifier,
            dpop_key: SigningKey::from_secret_bytes(&key).map_err(|_| corrupt("DPoP key"))?,
            dpop_nonce: s.dpop_nonce,
            attested,
        })
    }
}

impl App {
    /// The web wallet's start of the flow for `account` in the browser session `session`:
    /// [`App::begin_authorization`], the flow kept in the database bound to that account
    /// and session; returns the URL to send the browser to.
    pub async fn begin_web_authorization(
        &self,
        account: &Account,
        session: &str,
        offer_text: &str,
        now: i64,
    ) -> Result<String, AppError> {
        let (url, pending) = self.begin_authorization(offer_text, now).await?;
        let sealed = pending.seal(&self.seal)?;
        self.store
            .insert_authorization(
                &crate::store::NewAuthorization {
                    state_hash: &protocol::b64::sha256(&pending.state),
                    account_id: &account.id,
                    session_hash: &protocol::b64::sha256(session),
                    sealed: &sealed,
                    created_at: now,
                    expires_at: now + PENDING_TTL,
                },
                MAX_PENDING_PER_ACCOUNT,
                now,
            )
            .await?;
        Ok(url)
    }

    /// The browser's return to the redirect URI (`redirected_to`, the whole URL): the flow
    /// its `state` names is taken (once) if this account and session started it, then
    /// [`App::finish_authorization`] completes it.
    pub async fn finish_web_authorization(
        &self,
        account: &Account,
        session: &str,
        redirected_to: &str,
        now: i64,
    ) -> Result<Accepted, AppError> {
        let url = url::Url::parse(redirected_to).map_err(|_| AcceptError::NoCode)?;
        let state = url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .ok_or(AcceptError::StateMismatch)?;
        let sealed = self
            .store
            .take_authorization(
                &protocol::b64::sha256(&state),
                &account.id,
                &protocol::b64::sha256(session),
                now,
            )
            .await?
            .ok_or(AcceptError::AuthorizationUnknown)?;
        let pending = PendingAuthorization::open(&self.seal, &sealed)?;
        self.finish_authorization(account, pending, redirected_to, now)
            .await
    }
}

/// Authorization details as the `authorization_details` parameter's JSON text.
#[expect(clippy::expect_used, reason = "authorization details serialise")]
fn authorization_details_text(details: &[AuthorizationDetail]) -> String {
    serde_json::to_string(details).expect("authorization details serialise")
}
