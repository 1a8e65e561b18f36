//! The authorization code flow beside the pre-authorized one (OpenID4VCI 1.0 §5, §6):
//! pushed authorization requests (RFC 9126), the authorization endpoint with PKCE `S256`
//! (RFC 7636) and `iss` in the response (RFC 9207), the `authorization_code` and
//! `refresh_token` grants, and DPoP (RFC 9449) proofs, nonces and bound tokens.
//!
//! The person is identified by the invitation's one-time link: the badge email links to
//! the offer, whose `authorization_code` grant carries an `issuer_state` naming that offer
//! (MAC'd, so it cannot be made up). An authorization request with a live
//! `issuer_state` ties the code to that offer, hence to its registration; one without is
//! answered with a page asking the person to open the link from their badge email, or,
//! when an upstream OpenID Connect provider is configured, sent to sign in there
//! ([`super::oidc`]).
//! Offers protected by a PIN are not offered for this flow (the PIN would be skipped).

use protocol::oauth::ErrorCode;
use protocol::oauth::authorization::{
    AuthorizationRequest, PushedAuthorizationResponse, REQUEST_URI_PREFIX,
};
use protocol::oauth::{client_attestation, dpop, pkce};
use protocol::oid4vci::token::{AuthorizationDetail, parse_authorization_details};
use protocol::oid4vci::{TokenRequest, TokenResponse};

use super::{ClientAttestation, Presented};
use crate::App;
use crate::error::AppError;
use crate::store::AuthorizationCodeRow;

/// Seconds an authorization code stays redeemable.
pub const CODE_TTL: i64 = 60;
/// Seconds a pushed request's `request_uri` stays usable (RFC 9126 §2.2).
pub const REQUEST_URI_TTL: i64 = 60;
/// How old a DPoP proof's `iat` may be, and how long a `DPoP-Nonce` is accepted.
pub const DPOP_MAX_AGE: i64 = 300;
/// Clock skew tolerated for a DPoP proof's `iat` in the future.
pub const DPOP_LEEWAY: i64 = 5;
/// The path of each endpoint DPoP proofs are made for (`htu` is the issuer URL + path).
pub const PATH_TOKEN: &str = "/token";
pub const PATH_PAR: &str = "/par";

/// What the authorization endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorized {
    /// Send the user agent to this URL: the client's redirect URI with a `code` or an
    /// `error`, and `state` and `iss` (RFC 6749 §4.1.2, RFC 9207).
    Redirect(String),
    /// No proof of the person: the page asking for the link from the badge email.
    PersonNeeded,
    /// No proof of the person, and an upstream OpenID Connect provider is configured: send
    /// the user agent to `location` (the provider's authorization endpoint) with the
    /// sign-in's browser-binding cookie set to `browser` ([`super::oidc`]).
    Upstream { location: String, browser: String },
}

/// An authorization request whose parameters were checked.
#[derive(Debug, Clone)]
struct Checked {
    client_id: String,
    redirect_uri: String,
    scope: String,
    /// The configurations `authorization_details` asked for (RFC 9396), when it was used.
    configurations: Option<Vec<String>>,
    state: Option<String>,
    code_challenge: String,
    issuer_state: Option<String>,
    dpop_jkt: Option<String>,
}

/// A refusal the client learns at its redirect URI.
struct Refusal {
    code: ErrorCode,
    description: String,
}

fn refusal(code: ErrorCode, description: impl Into<String>) -> Refusal {
    Refusal {
        code,
        description: description.into(),
    }
}

fn page(code: ErrorCode, description: impl Into<String>) -> AppError {
    AppError::AuthorizationPage {
        code,
        description: description.into(),
    }
}

impl App {
    /// The `scope` of each credential configuration, in metadata order.
    pub fn configuration_scopes(&self) -> Vec<String> {
        crate::domain::issuance::CONFIGURATIONS
            .iter()
            .map(|id| scope_of(id))
            .collect()
    }

    /// The `issuer_state` of an offer's `authorization_code` grant: its id and a MAC of it.
    pub fn issuer_state(&self, offer_id: &str) -> String {
        format!(
            "{offer_id}.{}",
            protocol::b64::encode(self.seal.mac("issuer-state", offer_id.as_bytes()))
        )
    }

    /// The offer an `issuer_state` names, if it is one this issuer gave.
    fn offer_of_issuer_state<'a>(&self, issuer_state: &'a str) -> Option<&'a str> {
        let (offer_id, _) = issuer_state.split_once('.')?;
        protocol::secret::constant_time_eq(
            self.issuer_state(offer_id).as_bytes(),
            issuer_state.as_bytes(),
        )
        .then_some(offer_id)
    }

    /// The client and redirect URI of a request, checked against the registered clients;
    /// a refusal here is never redirected.
    fn check_client(&self, req: &AuthorizationRequest) -> Result<(String, String), AppError> {
        let client_id = req
            .client_id
            .clone()
            .ok_or_else(|| page(ErrorCode::InvalidRequest, "client_id is missing"))?;
        let redirect_uri = req
            .redirect_uri
            .clone()
            .ok_or_else(|| page(ErrorCode::InvalidRequest, "redirect_uri is missing"))?;
        match self.config.client_redirect(&client_id, &redirect_uri) {
            None => Err(page(
                ErrorCode::InvalidClient,
                format!("client_id {client_id:?} is not a registered client of this issuer"),
            )),
            Some(false) => Err(page(
                ErrorCode::InvalidRequest,
                format!(
                    "redirect_uri {redirect_uri:?} is not registered for client {client_id:?} (exact match required)"
                ),
            )),
            Some(true) => Ok((client_id, redirect_uri)),
        }
    }

    /// The rest of a request, once its client and redirect URI are trusted.
    fn check_parameters(
        &self,
        req: &AuthorizationRequest,
        client_id: String,
        redirect_uri: String,
    ) -> Result<Checked, Refusal> {
        if req.response_type.as_deref() != Some("code") {
            return Err(refusal(
                ErrorCode::Other("unsupported_response_type".into()),
                format!(
                    "response_type must be \"code\", found {:?}",
                    req.response_type
                ),
            ));
        }
        let code_challenge = pkce::check_challenge(
            req.code_challenge.as_deref(),
            req.code_challenge_method.as_deref(),
        )
        .map_err(|e| refusal(ErrorCode::InvalidRequest, e.to_string()))?;
        let configurations = req
            .authorization_details
            .as_deref()
            .map(|text| self.check_authorization_details(text))
            .transpose()?;
        let known = self.configuration_scopes();
        let scope = req.scope.as_deref().unwrap_or("").trim();
        if scope.is_empty() && configurations.is_none() {
            return Err(refusal(
                ErrorCode::InvalidScope,
                format!(
                    "scope is missing: ask for the scope of a credential configuration ({}), or with authorization_details",
                    known.join(" ")
                ),
            ));
        }
        if let Some(unknown) = scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .find(|s| !known.iter().any(|k| k == s))
        {
            return Err(refusal(
                ErrorCode::InvalidScope,
                format!(
                    "scope {unknown:?} is not the scope of any credential configuration ({})",
                    known.join(" ")
                ),
            ));
        }
        if let Some(jkt) = &req.dpop_jkt
            && (jkt.len() != 43 || protocol::b64::decode(jkt).is_err())
        {
            return Err(refusal(
                ErrorCode::InvalidRequest,
                "dpop_jkt is not a base64url SHA-256 thumbprint",
            ));
        }
        Ok(Checked {
            client_id,
            redirect_uri,
            scope: scope.to_owned(),
            configurations,
            state: req.state.clone(),
            code_challenge,
            issuer_state: req.issuer_state.clone(),
            dpop_jkt: req.dpop_jkt.clone(),
        })
    }

    /// An `authorization_details` parameter (RFC 9396, OpenID4VCI §5.1.1): the
    /// `openid_credential` configurations it asks for, each one of this issuer's, and any
    /// `locations` naming this credential issuer. Refused as `invalid_authorization_details`.
    fn check_authorization_details(&self, text: &str) -> Result<Vec<String>, Refusal> {
        let invalid = |why: String| refusal(ErrorCode::InvalidAuthorizationDetails, why);
        let details = parse_authorization_details(text).map_err(|e| invalid(e.to_string()))?;
        let known = crate::domain::issuance::CONFIGURATIONS;
        let mut configurations: Vec<String> = Vec::new();
        for (i, detail) in details.iter().enumerate() {
            let id = detail.credential_configuration_id.as_str();
            if !known.contains(&id) {
                return Err(invalid(format!(
                    "authorization_details[{i}]: credential_configuration_id {id:?} is not a configuration of this issuer ({})",
                    known.join(", ")
                )));
            }
            if let Some(locations) = &detail.locations
                && !locations.iter().any(|l| *l == self.issuer_id)
            {
                return Err(invalid(format!(
                    "authorization_details[{i}]: locations {locations:?} do not name this credential issuer ({})",
                    self.issuer_id
                )));
            }
            if !configurations.iter().any(|c| c == id) {
                configurations.push(id.to_owned());
            }
        }
        Ok(configurations)
    }

    /// The `credential_identifier` the token response gives for `configuration` of an
    /// offer (OpenID4VCI §6.2): the configuration and a MAC binding it to the offer, so
    /// the credential endpoint knows it without storing it.
    pub fn credential_identifier(&self, offer_id: &str, configuration: &str) -> String {
        let mac = self.seal.mac(
            "credential-identifier",
            format!("{offer_id}\n{configuration}").as_bytes(),
        );
        format!("{configuration}.{}", protocol::b64::encode(&mac[..16]))
    }

    /// The configuration a `credential_identifier` names, if this issuer gave it for
    /// `offer_id`.
    pub fn configuration_of_identifier<'a>(
        &self,
        offer_id: &str,
        identifier: &'a str,
    ) -> Option<&'a str> {
        let (configuration, _) = identifier.rsplit_once('.')?;
        protocol::secret::constant_time_eq(
            self.credential_identifier(offer_id, configuration)
                .as_bytes(),
            identifier.as_bytes(),
        )
        .then_some(configuration)
    }

    /// The token response's `authorization_details` for the configurations a code was
    /// granted, each with its `credential_identifiers`.
    fn granted_details(
        &self,
        offer_id: &str,
        configurations: &[String],
    ) -> Vec<AuthorizationDetail> {
        configurations
            .iter()
            .map(|id| AuthorizationDetail {
                credential_identifiers: Some(vec![self.credential_identifier(offer_id, id)]),
                ..AuthorizationDetail::for_configuration(id)
            })
            .collect()
    }

    /// Client authentication by wallet attestation (OpenID4VCI Appendix E): checked when
    /// sent (for the request's `client_id`), required when the configuration says so;
    /// trusted by a key of `ISSUER_WALLET_PROVIDERS`, or, carrying `x5c`, by its chain to a
    /// CA of `ISSUER_WALLET_ATTESTATION_X509_ANCHORS`; its PoP's `jti` is used once, on any
    /// instance. Refusals are `invalid_client`, naming the check.
    pub async fn check_client_attestation(
        &self,
        headers: &ClientAttestation,
        client_id: Option<&str>,
    ) -> Result<(), AppError> {
        if headers.attestation.is_none()
            && headers.pop.is_none()
            && !self.config.require_wallet_attestation
        {
            return Ok(());
        }
        let now = self.clock.now();
        let verified = client_attestation::verify(
            headers.attestation.as_deref(),
            headers.pop.as_deref(),
            &client_attestation::Expectations {
                audience: &self.issuer_id,
                client_id,
                now,
                max_age_secs: DPOP_MAX_AGE,
                leeway_secs: DPOP_LEEWAY,
                x509_anchors: &self.wallet_attestation_anchors,
            },
            &|provider| self.config.wallet_provider_keys(provider),
        )
        .map_err(|e| AppError::oauth("invalid_client", e.to_string()))?;
        let seen = protocol::b64::sha256(format!(
            "client-attestation-pop:{}:{}",
            verified.instance_jkt, verified.jti
        ));
        if !self
            .store
            .record_dpop_proof(&seen, now + DPOP_MAX_AGE + DPOP_LEEWAY)
            .await?
        {
            return Err(AppError::oauth(
                "invalid_client",
                format!(
                    "attestation PoP `jti` {:?} was already used (a replay)",
                    verified.jti
                ),
            ));
        }
        Ok(())
    }

    /// The Pushed Authorization Request endpoint (RFC 9126 §2): the request is checked as
    /// the authorization endpoint would, stored, and named by a `request_uri` usable once,
    /// by the same client, for [`REQUEST_URI_TTL`] seconds. A `DPoP` proof binds the code
    /// to its key (RFC 9449 §10.1).
    pub async fn push_authorization_request(
        &self,
        req: &AuthorizationRequest,
        dpop_proof: Option<&str>,
        attestation: &ClientAttestation,
    ) -> Result<PushedAuthorizationResponse, AppError> {
        let now = self.clock.now();
        self.check_client_attestation(attestation, req.client_id.as_deref())
            .await?;
        if req.request_uri.is_some() {
            return Err(AppError::oauth(
                "invalid_request",
                "request_uri must not be pushed (RFC 9126 §2.1)",
            ));
        }
        let (client_id, redirect_uri) = self.check_client(req).map_err(|e| match e {
            AppError::AuthorizationPage { code, description } => {
                AppError::protocol(code, description)
            }
            other => other,
        })?;
        let mut checked = self
            .check_parameters(req, client_id, redirect_uri)
            .map_err(|r| AppError::protocol(r.code, r.description))?;
        if let Some(proof) = dpop_proof {
            let proof = self.check_dpop(Some(proof), PATH_PAR, None, false).await?;
            match &checked.dpop_jkt {
                Some(jkt) if *jkt != proof.jkt => {
                    return Err(AppError::oauth(
                        "invalid_dpop_proof",
                        "the DPoP proof's key is not the key dpop_jkt names",
                    ));
                }
                _ => checked.dpop_jkt = Some(proof.jkt),
            }
        }
        let stored = stored_request(&checked);
        let request_uri = format!("{REQUEST_URI_PREFIX}{}", protocol::b64::random(32));
        self.store
            .insert_pushed_request(
                &protocol::b64::sha256(&request_uri),
                &checked.client_id,
                &stored.to_form(),
                now + REQUEST_URI_TTL,
            )
            .await?;
        Ok(PushedAuthorizationResponse {
            request_uri,
            expires_in: REQUEST_URI_TTL as u64,
        })
    }

    /// The request a `request_uri` names, spent: refused (as a page) when unknown, another
    /// client's, used or expired.
    async fn take_pushed_request(
        &self,
        request_uri: &str,
        client_id: Option<&str>,
        now: i64,
    ) -> Result<AuthorizationRequest, AppError> {
        let client_id = client_id.ok_or_else(|| {
            page(
                ErrorCode::InvalidRequest,
                "client_id is missing (required with request_uri)",
            )
        })?;
        let hash = protocol::b64::sha256(request_uri);
        let row = self.store.pushed_request(&hash).await?.ok_or_else(|| {
            page(
                ErrorCode::InvalidRequestUri,
                "request_uri is unknown to this issuer",
            )
        })?;
        if row.client_id != client_id {
            return Err(page(
                ErrorCode::InvalidRequestUri,
                format!("request_uri was pushed by another client, not {client_id:?}"),
            ));
        }
        if row.used_at.is_some() {
            return Err(page(
                ErrorCode::InvalidRequestUri,
                "request_uri was already used (it is single-use)",
            ));
        }
        if row.expires_at <= now {
            return Err(page(
                ErrorCode::InvalidRequestUri,
                format!("request_uri has expired (it lives {REQUEST_URI_TTL} s)"),
            ));
        }
        if !self.store.use_pushed_request(&hash, client_id, now).await? {
            return Err(page(
                ErrorCode::InvalidRequestUri,
                "request_uri was already used (it is single-use)",
            ));
        }
        AuthorizationRequest::from_form(row.parameters.as_bytes())
            .map_err(|e| AppError::Internal(format!("a stored pushed request: {e}")))
    }

    /// The authorization endpoint (RFC 6749 §4.1.1, RFC 9126 §4): a pushed request by its
    /// `request_uri`, or (unless pushing is required) the parameters themselves. Refusals
    /// before the redirect URI is trusted are pages; the others go back to the client.
    pub async fn authorize(&self, query: &AuthorizationRequest) -> Result<Authorized, AppError> {
        let now = self.clock.now();
        let req = match &query.request_uri {
            Some(uri) => {
                self.take_pushed_request(uri, query.client_id.as_deref(), now)
                    .await?
            }
            None => query.clone(),
        };
        if query.request_uri.is_none() && self.config.require_par {
            let (_, redirect_uri) = self.check_client(&req)?;
            return Ok(Authorized::Redirect(self.redirect(
                &redirect_uri,
                &[
                    ("error", ErrorCode::InvalidRequest.as_str()),
                    ("error_description", "this issuer requires pushed authorization requests (RFC 9126): push the request to the pushed_authorization_request_endpoint first"),
                ],
                req.state.as_deref(),
            )));
        }
        self.authorize_checked(&req, now).await
    }

    /// The authorization endpoint once the request is known (pushed, or its parameters), and
    /// the continuation of a sign-in at the upstream provider ([`super::oidc`]), whose
    /// request carries the `issuer_state` of the offer found for the person.
    pub(crate) async fn authorize_checked(
        &self,
        req: &AuthorizationRequest,
        now: i64,
    ) -> Result<Authorized, AppError> {
        let (client_id, redirect_uri) = self.check_client(req)?;
        let back = |code: ErrorCode, description: String| {
            Authorized::Redirect(self.redirect(
                &redirect_uri,
                &[
                    ("error", code.as_str()),
                    ("error_description", description.as_str()),
                ],
                req.state.as_deref(),
            ))
        };
        let checked = match self.check_parameters(req, client_id.clone(), redirect_uri.clone()) {
            Ok(c) => c,
            Err(r) => return Ok(back(r.code, r.description)),
        };
        let Some(issuer_state) = checked.issuer_state.as_deref() else {
            return match self.upstream.as_ref() {
                Some(up) => {
                    self.begin_upstream(up, &stored_request(&checked), now)
                        .await
                }
                None => Ok(Authorized::PersonNeeded),
            };
        };
        let Some(offer_id) = self.offer_of_issuer_state(issuer_state) else {
            return Ok(back(
                ErrorCode::AccessDenied,
                "issuer_state is not one this issuer gave: open the link from your badge email again".into(),
            ));
        };
        let offer = self.store.offer(offer_id).await?;
        let refused = match &offer {
            None => Some("issuer_state names no offer of this issuer"),
            Some(o) if o.redeemed_at.is_some() => {
                Some("the offer issuer_state names was already redeemed")
            }
            Some(o) if o.expires_at <= now => Some("the offer issuer_state names has expired"),
            Some(o) if o.tx_code_hash.is_some() => Some(
                "the offer issuer_state names is protected by a PIN: redeem it with the pre-authorized code and the PIN",
            ),
            Some(_) => None,
        };
        if let Some(why) = refused {
            return Ok(back(ErrorCode::AccessDenied, why.into()));
        }
        let code = protocol::b64::random(32);
        self.store
            .insert_authorization_code(&AuthorizationCodeRow {
                code_hash: protocol::b64::sha256(&code),
                offer_id: offer_id.to_owned(),
                client_id: checked.client_id,
                redirect_uri: checked.redirect_uri,
                code_challenge: checked.code_challenge,
                scope: checked.scope,
                authorization_details: checked.configurations.as_deref().map(details_text),
                dpop_jkt: checked.dpop_jkt,
                expires_at: now + CODE_TTL,
                used_at: None,
            })
            .await?;
        Ok(Authorized::Redirect(self.redirect(
            &redirect_uri,
            &[("code", &code)],
            checked.state.as_deref(),
        )))
    }

    /// `redirect_uri` with `params`, `state` and `iss` added to its query.
    fn redirect(&self, redirect_uri: &str, params: &[(&str, &str)], state: Option<&str>) -> String {
        match url::Url::parse(redirect_uri) {
            Ok(mut url) => {
                {
                    let mut q = url.query_pairs_mut();
                    for (k, v) in params {
                        q.append_pair(k, v);
                    }
                    if let Some(state) = state {
                        q.append_pair("state", state);
                    }
                    q.append_pair("iss", &self.issuer_id);
                }
                url.to_string()
            }
            // Registered URIs are checked when the client is: this is unreachable in
            // practice, and sends nothing anywhere.
            Err(_) => self.issuer_id.clone(),
        }
    }

    /// A `DPoP-Nonce` (RFC 9449 §8): the time it was made and a MAC of it, so any instance
    /// can check it without storing it; accepted for [`DPOP_MAX_AGE`] seconds.
    pub fn dpop_nonce(&self) -> String {
        let t = self.clock.now();
        format!(
            "{t}.{}",
            protocol::b64::encode(&self.seal.mac("dpop-nonce", t.to_string().as_bytes())[..16])
        )
    }

    fn dpop_nonce_is_live(&self, nonce: &str, now: i64) -> bool {
        let Some((t, _)) = nonce.split_once('.') else {
            return false;
        };
        let Ok(t) = t.parse::<i64>() else {
            return false;
        };
        let expected = format!(
            "{t}.{}",
            protocol::b64::encode(&self.seal.mac("dpop-nonce", t.to_string().as_bytes())[..16])
        );
        protocol::secret::constant_time_eq(expected.as_bytes(), nonce.as_bytes())
            && t <= now + DPOP_LEEWAY
            && now - t <= DPOP_MAX_AGE
    }

    /// Checks a DPoP proof for the endpoint at `path` (RFC 9449 §4.3), its nonce (§8), and
    /// that its `jti` was never seen, on any instance (§11.1). `access_token`: the token a
    /// resource request presents (`ath` required).
    pub async fn check_dpop(
        &self,
        proof: Option<&str>,
        path: &str,
        access_token: Option<&str>,
        resource: bool,
    ) -> Result<dpop::VerifiedProof, AppError> {
        let now = self.clock.now();
        let refuse = |code: ErrorCode, description: String| AppError::Dpop {
            resource,
            code,
            description,
            nonce: Some(self.dpop_nonce()),
        };
        let proof = proof.ok_or_else(|| {
            refuse(
                ErrorCode::InvalidDpopProof,
                dpop::DpopError::Missing.to_string(),
            )
        })?;
        let htu = format!("{}{path}", self.issuer_id);
        let verified = dpop::verify_proof(
            proof,
            &dpop::Expectations {
                htm: "POST",
                htu: &htu,
                now,
                max_age_secs: DPOP_MAX_AGE,
                leeway_secs: DPOP_LEEWAY,
                access_token,
            },
        )
        .map_err(|e| refuse(ErrorCode::InvalidDpopProof, e.to_string()))?;
        match verified.nonce.as_deref() {
            None => {
                return Err(refuse(
                    ErrorCode::UseDpopNonce,
                    "DPoP proof has no `nonce`: use the DPoP-Nonce this response carries".into(),
                ));
            }
            Some(n) if !self.dpop_nonce_is_live(n, now) => {
                return Err(refuse(
                    ErrorCode::UseDpopNonce,
                    "DPoP proof `nonce` is not a live nonce of this issuer: use the DPoP-Nonce this response carries".into(),
                ));
            }
            Some(_) => {}
        }
        let seen = protocol::b64::sha256(format!("{}:{}", verified.jkt, verified.jti));
        if !self
            .store
            .record_dpop_proof(&seen, now + DPOP_MAX_AGE + DPOP_LEEWAY)
            .await?
        {
            return Err(refuse(
                ErrorCode::InvalidDpopProof,
                format!(
                    "DPoP proof `jti` {:?} was already used with this key (a replay)",
                    verified.jti
                ),
            ));
        }
        Ok(verified)
    }

    /// Whether a resource request may use its access token (RFC 9449 §7): a DPoP-bound
    /// token only as `Authorization: DPoP` with a proof by its key for `path`, carrying its
    /// `ath`; a bearer token only as `Bearer`. Unknown tokens pass here and are refused by
    /// the endpoint's own lookup.
    pub async fn sender_constraint(
        &self,
        presented: &Presented,
        path: &str,
    ) -> Result<(), AppError> {
        let binding = self
            .store
            .access_token_binding(&protocol::b64::sha256(&presented.token))
            .await?;
        self.sender_constraint_of(binding, presented, path).await
    }

    /// [`App::sender_constraint`] with the token's binding read already: `None` for an
    /// unknown token, `Some(None)` for a bearer token, `Some(Some(jkt))` for a DPoP-bound one.
    pub async fn sender_constraint_of(
        &self,
        binding: Option<Option<String>>,
        presented: &Presented,
        path: &str,
    ) -> Result<(), AppError> {
        let refuse = |code: ErrorCode, description: &str| AppError::Dpop {
            resource: true,
            code,
            description: description.into(),
            nonce: Some(self.dpop_nonce()),
        };
        match (binding, presented.dpop_scheme) {
            (None, _) | (Some(None), false) => Ok(()),
            (Some(None), true) => Err(refuse(
                ErrorCode::InvalidToken,
                "this access token is a bearer token, not DPoP-bound: present it as `Authorization: Bearer`",
            )),
            (Some(Some(_)), false) => Err(refuse(
                ErrorCode::InvalidToken,
                "this access token is DPoP-bound: present it as `Authorization: DPoP` with a DPoP proof of its key",
            )),
            (Some(Some(jkt)), true) => {
                let proof = self
                    .check_dpop(
                        presented.proof.as_deref(),
                        path,
                        Some(&presented.token),
                        true,
                    )
                    .await?;
                if proof.jkt != jkt {
                    return Err(refuse(
                        ErrorCode::InvalidDpopProof,
                        "the DPoP proof's key is not the key this access token is bound to (cnf.jkt)",
                    ));
                }
                Ok(())
            }
        }
    }

    /// The token endpoint (§6, RFC 6749 §4.1.3, §6): the pre-authorized code, the
    /// authorization code and the refresh token grants. A `DPoP` proof binds the access
    /// token (`token_type` `DPoP`); the authorization code and refresh grants require one.
    pub async fn token(
        &self,
        form: &TokenRequest,
        dpop_proof: Option<&str>,
        attestation: &ClientAttestation,
    ) -> Result<TokenResponse, AppError> {
        self.check_client_attestation(attestation, form.client_id.as_deref())
            .await?;
        match form.grant_type.as_str() {
            crate::domain::offers::PRE_AUTHORIZED_GRANT => {
                let jkt = match dpop_proof {
                    Some(p) => Some(self.check_dpop(Some(p), PATH_TOKEN, None, false).await?.jkt),
                    None => None,
                };
                self.redeem(form, jkt.as_deref()).await
            }
            protocol::oauth::authorization::GRANT_TYPE_AUTHORIZATION_CODE => {
                self.redeem_authorization_code(form, dpop_proof).await
            }
            protocol::oauth::authorization::GRANT_TYPE_REFRESH_TOKEN => {
                self.refresh(form, dpop_proof).await
            }
            other => Err(AppError::oauth(
                "unsupported_grant_type",
                format!(
                    "grant_type {other:?} is not supported: use {}, authorization_code or refresh_token",
                    crate::domain::offers::PRE_AUTHORIZED_GRANT
                ),
            )),
        }
    }

    async fn redeem_authorization_code(
        &self,
        form: &TokenRequest,
        dpop_proof: Option<&str>,
    ) -> Result<TokenResponse, AppError> {
        let now = self.clock.now();
        // The proof first (RFC 9449 §5): a replayed or foreign proof learns nothing of the
        // code.
        let proof = self.check_dpop(dpop_proof, PATH_TOKEN, None, false).await?;
        let code = form
            .code
            .as_deref()
            .ok_or_else(|| AppError::oauth("invalid_request", "code is missing"))?;
        let hash = protocol::b64::sha256(code);
        let row =
            self.store.authorization_code(&hash).await?.ok_or_else(|| {
                AppError::oauth("invalid_grant", "code is unknown to this issuer")
            })?;
        if row.used_at.is_some() {
            // A code used twice may be stolen: what it gave is revoked (RFC 6749 §4.1.2).
            self.store.revoke_offer_tokens(&row.offer_id, now).await?;
            return Err(AppError::oauth(
                "invalid_grant",
                "code was already used (the tokens issued for it are revoked)",
            ));
        }
        if row.expires_at <= now {
            return Err(AppError::oauth(
                "invalid_grant",
                format!("code has expired (it lives {CODE_TTL} s)"),
            ));
        }
        let client_id = form
            .client_id
            .as_deref()
            .ok_or_else(|| AppError::oauth("invalid_request", "client_id is missing"))?;
        if client_id != row.client_id {
            return Err(AppError::oauth(
                "invalid_grant",
                format!("code was issued to another client, not {client_id:?}"),
            ));
        }
        if form.redirect_uri.as_deref() != Some(row.redirect_uri.as_str()) {
            return Err(AppError::oauth(
                "invalid_grant",
                "redirect_uri is not the one of the authorization request",
            ));
        }
        pkce::verify(form.code_verifier.as_deref(), &row.code_challenge).map_err(|e| {
            let code = if e == pkce::PkceError::Mismatch {
                "invalid_grant"
            } else {
                "invalid_request"
            };
            AppError::oauth(code, format!("PKCE: {e}"))
        })?;
        if let Some(bound) = &row.dpop_jkt
            && *bound != proof.jkt
        {
            return Err(AppError::Dpop {
                resource: false,
                code: ErrorCode::InvalidDpopProof,
                description: "the DPoP proof's key is not the key the authorization request bound the code to (dpop_jkt)".into(),
                nonce: Some(self.dpop_nonce()),
            });
        }
        if !self.store.use_authorization_code(&hash, now).await? {
            return Err(AppError::oauth("invalid_grant", "code was already used"));
        }
        let token = protocol::b64::random(32);
        let expires_in = self.config.token_ttl;
        let redeemed = self
            .store
            .redeem_offer(
                &row.offer_id,
                &protocol::b64::sha256(&token),
                now + expires_in,
                now,
                crate::domain::offers::MAX_TX_CODE_FAILURES,
                Some(&proof.jkt),
            )
            .await?;
        if !redeemed {
            return Err(AppError::oauth(
                "invalid_grant",
                "the offer of this code was already redeemed",
            ));
        }
        let refresh_token = self
            .new_refresh_token(&row.offer_id, &proof.jkt, now)
            .await?;
        let granted = match row.authorization_details.as_deref() {
            Some(text) => Some(
                parse_authorization_details(text)
                    .map_err(|e| AppError::Internal(format!("a stored code's details: {e}")))?
                    .into_iter()
                    .map(|d| d.credential_configuration_id)
                    .collect::<Vec<_>>(),
            ),
            None => None,
        };
        if let Some(ids) = &granted {
            // Identifiers granted: this token's requests must name them (§8.2).
            self.store
                .set_token_granted(
                    &row.offer_id,
                    &protocol::b64::sha256(&token),
                    &granted_text(ids),
                )
                .await?;
        }
        Ok(TokenResponse {
            access_token: token,
            token_type: protocol::oauth::TOKEN_TYPE_DPOP.into(),
            expires_in: Some(u64::try_from(expires_in).unwrap_or(0)),
            scope: (!row.scope.is_empty()).then_some(row.scope),
            refresh_token: Some(refresh_token),
            authorization_details: granted.map(|ids| self.granted_details(&row.offer_id, &ids)),
        })
    }

    async fn new_refresh_token(
        &self,
        offer_id: &str,
        jkt: &str,
        now: i64,
    ) -> Result<String, AppError> {
        let refresh = protocol::b64::random(32);
        self.store
            .insert_refresh_token(
                &protocol::b64::sha256(&refresh),
                offer_id,
                jkt,
                now + self.settings().offer_ttl,
            )
            .await?;
        Ok(refresh)
    }

    /// The refresh token grant (RFC 6749 §6): single use, rotated, bound to the DPoP key
    /// of the tokens it came with; a refresh token used twice revokes the grant.
    async fn refresh(
        &self,
        form: &TokenRequest,
        dpop_proof: Option<&str>,
    ) -> Result<TokenResponse, AppError> {
        let now = self.clock.now();
        let refresh = form
            .refresh_token
            .as_deref()
            .ok_or_else(|| AppError::oauth("invalid_request", "refresh_token is missing"))?;
        let hash = protocol::b64::sha256(refresh);
        let row = self.store.refresh_token(&hash).await?.ok_or_else(|| {
            AppError::oauth("invalid_grant", "refresh_token is unknown to this issuer")
        })?;
        let proof = self.check_dpop(dpop_proof, PATH_TOKEN, None, false).await?;
        if proof.jkt != row.jkt {
            return Err(AppError::oauth(
                "invalid_grant",
                "refresh_token is bound to another DPoP key than this proof's",
            ));
        }
        if row.used_at.is_some() {
            self.store.revoke_offer_tokens(&row.offer_id, now).await?;
            return Err(AppError::oauth(
                "invalid_grant",
                "refresh_token was already used (single use; the grant's tokens are revoked)",
            ));
        }
        if row.expires_at <= now {
            return Err(AppError::oauth(
                "invalid_grant",
                "refresh_token has expired",
            ));
        }
        let token = protocol::b64::random(32);
        let expires_in = self.config.token_ttl;
        if !self
            .store
            .rotate_tokens(
                &hash,
                &row.offer_id,
                &protocol::b64::sha256(&token),
                now + expires_in,
                &row.jkt,
                now,
            )
            .await?
        {
            self.store.revoke_offer_tokens(&row.offer_id, now).await?;
            return Err(AppError::oauth(
                "invalid_grant",
                "refresh_token was already used (single use; the grant's tokens are revoked)",
            ));
        }
        let refresh_token = self.new_refresh_token(&row.offer_id, &row.jkt, now).await?;
        // The refreshed token keeps the grant's credential identifiers (and their rule).
        let granted = match self.store.token_granted(&row.offer_id).await? {
            Some(text) => Some(serde_json::from_str::<Vec<String>>(&text).map_err(|e| {
                AppError::Internal(format!("an offer's granted configurations: {e}"))
            })?),
            None => None,
        };
        Ok(TokenResponse {
            access_token: token,
            token_type: protocol::oauth::TOKEN_TYPE_DPOP.into(),
            expires_in: Some(u64::try_from(expires_in).unwrap_or(0)),
            scope: None,
            refresh_token: Some(refresh_token),
            authorization_details: granted.map(|ids| self.granted_details(&row.offer_id, &ids)),
        })
    }
}

/// A checked request as stored with a pushed request or an upstream sign-in: the
/// parameters the authorization endpoint reads again.
fn stored_request(checked: &Checked) -> AuthorizationRequest {
    AuthorizationRequest {
        response_type: Some("code".into()),
        client_id: Some(checked.client_id.clone()),
        redirect_uri: Some(checked.redirect_uri.clone()),
        scope: (!checked.scope.is_empty()).then(|| checked.scope.clone()),
        state: checked.state.clone(),
        code_challenge: Some(checked.code_challenge.clone()),
        code_challenge_method: Some(pkce::METHOD_S256.into()),
        issuer_state: checked.issuer_state.clone(),
        authorization_details: checked.configurations.as_deref().map(details_text),
        dpop_jkt: checked.dpop_jkt.clone(),
        request_uri: None,
    }
}

/// `configurations` as the `authorization_details` text stored with a pushed request or a
/// code.
#[expect(clippy::expect_used, reason = "authorization details serialise")]
fn details_text(configurations: &[String]) -> String {
    let details: Vec<AuthorizationDetail> = configurations
        .iter()
        .map(|id| AuthorizationDetail::for_configuration(id))
        .collect();
    serde_json::to_string(&details).expect("authorization details serialise")
}

/// The configurations a token was granted identifiers for, as stored with it.
#[expect(clippy::expect_used, reason = "strings serialise")]
fn granted_text(configurations: &[String]) -> String {
    serde_json::to_string(configurations).expect("strings serialise")
}

/// The `scope` of a credential configuration (as the metadata lists it).
pub fn scope_of(configuration: &str) -> String {
    use crate::domain::issuance::{
        CONFIGURATION_JWT_VC, CONFIGURATION_JWT_VC_RS256, CONFIGURATION_LDP_VC,
        CONFIGURATION_SD_JWT,
    };
    match configuration {
        CONFIGURATION_SD_JWT => "openbadge_sd_jwt".into(),
        CONFIGURATION_JWT_VC => "openbadge_jwt_vc_es256".into(),
        CONFIGURATION_JWT_VC_RS256 => "openbadge_jwt_vc_rs256".into(),
        CONFIGURATION_LDP_VC => "openbadge_ldp_vc".into(),
        other => other.to_owned(),
    }
}
