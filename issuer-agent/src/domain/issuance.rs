//! The nonce and credential endpoints (OpenID4VCI 1.0 §7, §8): key proofs checked, the
//! c_nonce used once, and the badge issued in the configuration asked for:
//!
//! * `dc+sd-jwt`: an SD-JWT VC in the SD-JWT VCLD form (the Open Badges 3.0 credential in
//!   the `ld` claim; `iss`, `vct`, `cnf`, `iat`, `nbf`, `exp`, `status` as JWT claims; the
//!   recipient's identifiers selectively disclosable), entered in the Token Status List;
//! * `jwt_vc_json`: the OB 3.0 VC-JWT (the credential as the payload, ES256 or RS256),
//!   entered in the Bitstring Status Lists;
//! * `ldp_vc`: the OB 3.0 credential with an embedded Data Integrity `eddsa-rdfc-2022`
//!   proof by the issuer's did:web Ed25519 key (issuer `id` the did:web, as Data Integrity
//!   verifiers tie the proof's controller to the issuer), in the Bitstring Status Lists.
//!
//! Every OB 3.0 credential is validated against the 1EdTech JSON Schema before it is signed.

use protocol::keys::{Jwk, Signer};
use protocol::ob3::{
    AchievementCredential, AchievementSubject, CredentialStatus, IDENTITY_TYPE_EMAIL,
    IDENTITY_TYPE_NAME, IdentityObject, Profile,
};
use protocol::oid4vci::{
    CredentialRequest, CredentialResponse, CredentialTarget, DeferredCredentialRequest,
    IssuedCredential, NotificationRequest,
};
use protocol::sd_jwt;
use protocol::status::bitstring::{Bitstring, StatusPurpose};
use serde_json::{Map, Value, json};

use crate::App;
use crate::domain::Presented;
use crate::domain::kept::Kept;
use crate::error::AppError;
use crate::store::{
    AchievementRow, AuditEntry, ClaimRefused, CredentialContext, CredentialRow, DeferredRow,
    IssuanceClaim, IssuedLog, OfferRow, STATUS_INDEX_TRIES, Spend,
};

/// The SD-JWT VC configuration.
pub const CONFIGURATION_SD_JWT: &str = "OpenBadgeCredential_sd_jwt";
/// The OB 3.0 VC-JWT configuration signed with ES256.
pub const CONFIGURATION_JWT_VC: &str = "OpenBadgeCredential_jwt_vc_json";
/// The OB 3.0 VC-JWT configuration signed with RS256 (1EdTech conformance).
pub const CONFIGURATION_JWT_VC_RS256: &str = "OpenBadgeCredential_jwt_vc_json_rs256";
/// The OB 3.0 configuration with a Data Integrity `eddsa-rdfc-2022` proof.
pub const CONFIGURATION_LDP_VC: &str = "OpenBadgeCredential_ldp_vc";
/// Every configuration, in the order the metadata and offers list them.
pub const CONFIGURATIONS: [&str; 4] = [
    CONFIGURATION_SD_JWT,
    CONFIGURATION_JWT_VC,
    CONFIGURATION_JWT_VC_RS256,
    CONFIGURATION_LDP_VC,
];
/// The Token Status List every SD-JWT VC is entered in.
pub const STATUS_LIST_ID: i64 = 1;
/// The Bitstring Status Lists (one per purpose, sharing indexes) every VC-format
/// credential is entered in.
pub const BITSTRING_LIST_ID: i64 = 2;

/// How a credential configuration is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    SdJwtVc,
    JwtVc(protocol::keys::Alg),
    LdpVc,
}

impl Format {
    /// The format of the configuration `id`, if we offer it.
    pub fn of(id: &str) -> Option<Format> {
        match id {
            CONFIGURATION_SD_JWT => Some(Format::SdJwtVc),
            CONFIGURATION_JWT_VC => Some(Format::JwtVc(protocol::keys::Alg::ES256)),
            CONFIGURATION_JWT_VC_RS256 => Some(Format::JwtVc(protocol::keys::Alg::RS256)),
            CONFIGURATION_LDP_VC => Some(Format::LdpVc),
            _ => None,
        }
    }

    /// The OpenID4VCI format identifier: the metrics' `format` label.
    pub fn label(self) -> &'static str {
        match self {
            Format::SdJwtVc => "dc+sd-jwt",
            Format::JwtVc(_) => "jwt_vc_json",
            Format::LdpVc => "ldp_vc",
        }
    }
}
/// The refusal of a c_nonce that is not ours, expired or used.
fn invalid_nonce() -> AppError {
    AppError::oauth(
        "invalid_nonce",
        "c_nonce is unknown, expired or already used; fetch a new one from the nonce endpoint",
    )
}

/// The answer to a credential request the store refused.
fn claim_refused(why: ClaimRefused) -> AppError {
    match why {
        ClaimRefused::NonceUsed => invalid_nonce(),
        ClaimRefused::AlreadyIssued => AppError::oauth(
            "credential_request_denied",
            "this offer's credential was already issued; ask the issuer for a new offer",
        ),
        ClaimRefused::DeferredDone => AppError::oauth(
            "invalid_transaction_id",
            "the credentials of this transaction were already issued",
        ),
        ClaimRefused::StatusListFull | ClaimRefused::IndicesTaken(_) => AppError::Internal(
            format!("status list is full: no free index in {STATUS_INDEX_TRIES} draws"),
        ),
    }
}

/// Bound offers (offer injection, OpenID4VCI issue #806): an offer made for a registration
/// whose wallet proved a holder key at its callback (`bound`, its thumbprint) is redeemed
/// only by a request whose first proof is by that key, so a forwarded offer, or an
/// attacker's own offer pasted into a victim's wallet, lands in no other wallet. The other
/// proofs of a batch (§8.2) add keys of the wallet that made that proof: the same request,
/// the same c_nonce, so only the bound wallet can make them. Unbound offers take any key.
/// Returns what failed, naming the proof and both keys.
fn holder_binding_mismatch(bound: Option<&str>, keys: &[Jwk]) -> Option<String> {
    let bound = bound?;
    let found = keys.first().map(Jwk::thumbprint).unwrap_or_default();
    (found != bound).then(|| {
        format!(
            "the first key (proofs.jwt[0], or an attestation's first attested key): holder binding: this offer is bound to the holder key the recipient's wallet registered with this issuer (thumbprint {bound}), and the proof's key (thumbprint {found}) is another wallet's"
        )
    })
}

/// A random index in a status list (HAIP: unique and unpredictable; drawn again on the
/// rare collision, see [`App::issue_and_log`]).
fn random_status_index() -> i64 {
    use rand::Rng;
    rand::rng().random_range(0..protocol::status::MIN_ENTRIES as i64)
}

/// The audit entry of a credential entered at its status index.
fn issued_audit(row: &CredentialRow) -> AuditEntry {
    AuditEntry {
        at: row.issued_at,
        action: "credential.issued".into(),
        subject: row.id.clone(),
        detail: json!({
            "offer_id": row.offer_id,
            "configuration": row.configuration,
            "status_list": row.status_list,
            "status_idx": row.status_idx,
        })
        .to_string(),
        operator_id: None,
    }
}

/// One credential row per holder key for `offer` in `configuration`: its id, the status
/// list of its format at a random index, its expiry from the achievement.
fn credential_rows(
    offer: &OfferRow,
    achievement: &AchievementRow,
    configuration: &str,
    format: Format,
    keys: &[Jwk],
    now: i64,
) -> Vec<CredentialRow> {
    let status_list = match format {
        Format::SdJwtVc => STATUS_LIST_ID,
        Format::JwtVc(_) | Format::LdpVc => BITSTRING_LIST_ID,
    };
    keys.iter()
        .map(|key| CredentialRow {
            id: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            offer_id: offer.id.clone(),
            configuration: configuration.to_owned(),
            holder_jwk: key.public_only().to_value().to_string(),
            status_list,
            status_idx: random_status_index(),
            status: 0,
            issued_at: now,
            expires_at: achievement.valid_days.map(|d| now + d * 86_400),
        })
        .collect()
}

/// Most proofs (hence credentials) one request may carry (`batch_credential_issuance`).
pub const BATCH_SIZE: usize = 10;
/// Seconds a key proof's `iat` may lie in the past, and in the future.
const PROOF_MAX_AGE: i64 = 300;
/// The seal-key subkey label of c_nonce tags.
const NONCE_MAC_LABEL: &str = "c_nonce";
/// Seconds a wallet should wait between deferred credential requests.
pub const DEFERRED_INTERVAL: i64 = 30;

/// What the credential and deferred endpoints answer: the credentials (200), or a
/// transaction to come back with (202).
#[derive(Debug)]
pub enum CredentialAnswer {
    Issued(CredentialResponse),
    Deferred(CredentialResponse),
}

/// The answer of a deferred issuance (§8.3, §9.2): the transaction and the interval.
fn deferred_response(transaction_id: String) -> CredentialResponse {
    CredentialResponse {
        transaction_id: Some(transaction_id),
        interval: Some(DEFERRED_INTERVAL.unsigned_abs()),
        ..CredentialResponse::default()
    }
}
const LEEWAY: i64 = 30;

impl App {
    /// The SD-JWT VC type of our badges.
    pub fn vct(&self) -> String {
        format!("{}/vct/open-badge-v3", self.issuer_id)
    }

    pub fn status_list_uri(&self, list: i64) -> String {
        format!("{}/status/{list}", self.issuer_id)
    }

    /// The URL (and `id`) of the BitstringStatusListCredential of `list` for `purpose`.
    pub fn bitstring_list_uri(&self, list: i64, purpose: StatusPurpose) -> String {
        format!("{}/status/{list}/{}", self.issuer_id, purpose.as_str())
    }

    /// Where the BitstringStatusListCredential issued by `identity` is published: the
    /// https identifier's list (`jwt_vc_json` badges) or the did:web's (`ldp_vc` badges),
    /// so a list's issuer is always its badges' issuer (status-list libraries, such as
    /// openbadgeslib, require that).
    pub fn identity_list_uri(
        &self,
        identity: ListIssuer,
        list: i64,
        purpose: StatusPurpose,
    ) -> String {
        match identity {
            ListIssuer::Https => self.bitstring_list_uri(list, purpose),
            ListIssuer::DidWeb => {
                format!("{}/status/did/{list}/{}", self.issuer_id, purpose.as_str())
            }
        }
    }

    /// A fresh c_nonce (Nonce Endpoint, §7): `<expiry>.<random>.<tag>`, the tag a MAC
    /// under the seal key, so nothing is written until the nonce is used (every instance
    /// sharing the seal key accepts it); using it records it (`Store::issue_credentials`), once.
    pub fn new_nonce(&self) -> String {
        let body = format!(
            "{}.{}",
            self.clock.now() + self.config.nonce_ttl,
            protocol::b64::random(16)
        );
        let tag = protocol::b64::encode(&self.seal.mac(NONCE_MAC_LABEL, body.as_bytes())[..16]);
        format!("{body}.{tag}")
    }

    /// A c_nonce as it is recorded when used, `(hash, expires_at)`: if this issuer made it
    /// and it has not expired. Whether it was used before is the store's to say (used nonces
    /// are kept, hashed, until they expire).
    fn nonce_record(&self, nonce: &str, now: i64) -> Option<(String, i64)> {
        let (body, tag) = nonce.rsplit_once('.')?;
        let expected =
            protocol::b64::encode(&self.seal.mac(NONCE_MAC_LABEL, body.as_bytes())[..16]);
        if !protocol::secret::constant_time_eq(tag.as_bytes(), expected.as_bytes()) {
            return None;
        }
        let expires_at = body
            .split_once('.')
            .and_then(|(exp, _)| exp.parse::<i64>().ok())
            .filter(|exp| *exp > now)?;
        Some((protocol::b64::sha256(nonce), expires_at))
    }

    /// The Credential Endpoint (§8): `token` is the bearer access token, `request` the
    /// parsed body, checked here after the token.
    #[expect(clippy::expect_used, reason = "JWKs serialise")]
    pub async fn credential(
        &self,
        presented: &Presented,
        request: &CredentialRequest,
    ) -> Result<CredentialAnswer, AppError> {
        let token = presented.token.as_str();
        let now = self.clock.now();
        // The token's offer, its DPoP and holder bindings and the achievement: one read.
        let context = self
            .store
            .credential_context(&protocol::b64::sha256(token))
            .await?;
        self.sender_constraint_of(
            context.as_ref().map(|c| c.token_jkt.clone()),
            presented,
            "/credential",
        )
        .await?;
        let CredentialContext {
            offer,
            holder_jkt,
            achievement,
            token_granted,
            ..
        } = context
            .filter(|c| c.offer.token_expires_at.is_some_and(|exp| exp > now))
            .ok_or_else(|| AppError::InvalidToken("access token is unknown or expired".into()))?;

        let configuration = match request
            .check()
            .map_err(|e| AppError::protocol(e.error_code(), e))?
        {
            // §8.2: once the token response granted credential_identifiers, requests name
            // them; a configuration id would bypass what was granted.
            CredentialTarget::Configuration(id) if token_granted.is_some() => {
                return Err(AppError::oauth(
                    "invalid_credential_request",
                    format!(
                        "credential_configuration_id {id:?} is not allowed with this access token: its token response granted credential_identifiers (authorization_details), so the request must name one of them in `credential_identifier` (OpenID4VCI 1.0 §8.2)"
                    ),
                ));
            }
            CredentialTarget::Configuration(id) => id,
            // Given by the token response when the authorization request used
            // authorization_details, and bound to this token's offer.
            CredentialTarget::Identifier(identifier) => self
                .configuration_of_identifier(&offer.id, identifier)
                .ok_or_else(|| {
                    AppError::oauth(
                        "unknown_credential_identifier",
                        format!(
                            "credential_identifier {identifier:?} is not one this issuer's token response gave for this access token's offer"
                        ),
                    )
                })?,
        };
        let format = Format::of(configuration).ok_or_else(|| {
            AppError::oauth(
                "unknown_credential_configuration",
                format!("credential_configuration_id {configuration:?} is not offered"),
            )
        })?;
        // Checked before anything is issued: the response must be encryptable.
        if let Some(e) = &request.credential_response_encryption {
            e.recipient()
                .map_err(|why| AppError::oauth("invalid_encryption_parameters", why))?;
        }
        let proofs = request
            .proofs
            .as_ref()
            .ok_or_else(|| AppError::oauth("invalid_proof", "`proofs` is missing"))?;
        // Check every proof before using any nonce, so a bad proof wastes nothing.
        let (keys, nonces) = match (proofs.jwt.as_deref(), proofs.attestation.as_deref()) {
            (Some(_), _) if self.config.attestation_proofs_only => {
                return Err(AppError::oauth(
                    "invalid_proof",
                    "proofs.jwt: this issuer accepts only the `attestation` proof type (a key attestation by a wallet provider it trusts, Appendix F.3), as its metadata says",
                ));
            }
            (Some(jwts), _) => self.check_jwt_proofs(jwts, now)?,
            (None, Some([attestation])) => self.attestation_proof_keys(attestation, now)?,
            _ => {
                return Err(AppError::oauth(
                    "invalid_proof",
                    "only the `jwt` and `attestation` proof types are supported",
                ));
            }
        };
        if let Some(mismatch) = holder_binding_mismatch(holder_jkt.as_deref(), &keys) {
            // The code was spent by the wrong wallet: give it back, so a forwarded offer
            // cannot be burnt by whoever it was forwarded to.
            self.store
                .release_offer(&offer.id, &protocol::b64::sha256(token))
                .await?;
            return Err(AppError::oauth("invalid_proof", mismatch));
        }
        let nonces = nonces
            .iter()
            .map(|nonce| self.nonce_record(nonce, now).ok_or_else(invalid_nonce))
            .collect::<Result<Vec<_>, _>>()?;
        let achievement = achievement.ok_or_else(|| {
            AppError::Internal(format!("offer {} names a missing achievement", offer.id))
        })?;

        let claim = IssuanceClaim {
            nonces: &nonces,
            offer_id: &offer.id,
            configuration,
            now,
        };
        if achievement.requires_approval != 0 && offer.decision.as_deref() != Some("approved") {
            // The nonces used and the issuance claimed; no credential yet.
            self.store
                .issue_credentials(Spend::Request(claim), &[], &[], IssuedLog::default())
                .await?
                .map_err(claim_refused)?;
            match offer.decision.as_deref() {
                Some(_) => {
                    return Err(AppError::oauth(
                        "credential_request_denied",
                        "the issuer declined to issue this credential",
                    ));
                }
                None => {
                    let transaction_id = protocol::b64::random(24);
                    self.store
                        .insert_deferred(&DeferredRow {
                            transaction_hash: protocol::b64::sha256(&transaction_id),
                            offer_id: offer.id.clone(),
                            configuration: configuration.to_owned(),
                            holder_jwks: serde_json::to_string(
                                &keys.iter().map(Jwk::to_value).collect::<Vec<_>>(),
                            )
                            .expect("JWKs serialise"),
                            created_at: now,
                            expires_at: now + self.settings().offer_ttl,
                            completed_at: None,
                        })
                        .await?;
                    return Ok(CredentialAnswer::Deferred(deferred_response(
                        transaction_id,
                    )));
                }
            }
        }

        let rows = credential_rows(&offer, &achievement, configuration, format, &keys, now);
        Ok(CredentialAnswer::Issued(
            self.issue_and_log(
                Spend::Request(claim),
                &offer,
                &achievement,
                format,
                rows,
                &keys,
            )
            .await?,
        ))
    }

    /// `jwt` proofs (Appendix F.1): at most [`BATCH_SIZE`], each verified with its key
    /// attestation; the keys to bind, in order, and the distinct nonces to spend.
    fn check_jwt_proofs(
        &self,
        jwts: &[String],
        now: i64,
    ) -> Result<(Vec<Jwk>, Vec<String>), AppError> {
        if jwts.len() > BATCH_SIZE {
            return Err(AppError::oauth(
                "invalid_proof",
                format!("at most {BATCH_SIZE} proofs per request"),
            ));
        }
        let mut keys = Vec::with_capacity(jwts.len());
        let mut nonces: Vec<String> = Vec::new();
        for (i, jwt) in jwts.iter().enumerate() {
            let expect = protocol::oid4vci::ProofExpectations {
                aud: &self.issuer_id,
                now,
                max_age_secs: PROOF_MAX_AGE,
                leeway_secs: LEEWAY,
                accepted_algs: &[protocol::keys::Alg::ES256, protocol::keys::Alg::EdDSA],
            };
            let proof = protocol::oid4vci::verify_proof_jwt(jwt, &expect, &resolve_local_kid)
                .map_err(|e| AppError::oauth("invalid_proof", format!("proofs.jwt[{i}]: {e}")))?;
            self.check_key_attestation(&proof, now)
                .map_err(|e| AppError::oauth("invalid_proof", format!("proofs.jwt[{i}]: {e}")))?;
            let nonce = proof.nonce.ok_or_else(|| {
                AppError::oauth(
                    "invalid_proof",
                    format!("proofs.jwt[{i}]: `nonce` is missing"),
                )
            })?;
            if !nonces.contains(&nonce) {
                nonces.push(nonce);
            }
            keys.push(proof.jwk);
        }
        Ok((keys, nonces))
    }

    /// An `attestation` proof (Appendix F.3): the attested keys, at most [`BATCH_SIZE`],
    /// one credential each, and the attestation's nonce to spend.
    fn attestation_proof_keys(
        &self,
        attestation: &str,
        now: i64,
    ) -> Result<(Vec<Jwk>, Vec<String>), AppError> {
        let proof = self
            .check_attestation_proof(attestation, now, PROOF_MAX_AGE)
            .map_err(|e| AppError::oauth("invalid_proof", format!("proofs.attestation[0]: {e}")))?;
        if proof.keys.len() > BATCH_SIZE {
            return Err(AppError::oauth(
                "invalid_proof",
                format!(
                    "proofs.attestation[0]: {} attested keys, at most {BATCH_SIZE} per request (batch size)",
                    proof.keys.len()
                ),
            ));
        }
        Ok((proof.keys, vec![proof.nonce]))
    }

    /// The achievement an offer is for.
    async fn offer_achievement(&self, offer: &OfferRow) -> Result<AchievementRow, AppError> {
        self.store
            .achievement(&offer.achievement_id)
            .await?
            .ok_or_else(|| {
                AppError::Internal(format!("offer {} names a missing achievement", offer.id))
            })
    }

    /// Issues one credential per row for the key beside it and answers the Credential
    /// Response. Each credential is signed with its row's status index first; then one
    /// transaction spends `claim`, stores the rows and appends their log entries
    /// ([`crate::store::Store::issue_credentials`]): what is delivered is stored and
    /// logged, and a crash before that commit leaves no trace but a signature nobody
    /// received. A status index found taken is drawn again and that credential signed
    /// again, [`STATUS_INDEX_TRIES`] times at most.
    async fn issue_and_log(
        &self,
        claim: Spend<'_>,
        offer: &OfferRow,
        achievement: &AchievementRow,
        format: Format,
        mut rows: Vec<CredentialRow>,
        keys: &[Jwk],
    ) -> Result<CredentialResponse, AppError> {
        let mut signed: Vec<Option<Value>> = vec![None; rows.len()];
        for _ in 0..STATUS_INDEX_TRIES {
            for ((row, key), credential) in rows.iter().zip(keys).zip(signed.iter_mut()) {
                if credential.is_none() {
                    *credential = Some(
                        self.sign_credential(offer, achievement, format, row, key)
                            .await?,
                    );
                }
            }
            let credentials: Vec<Value> = signed.iter().flatten().cloned().collect();
            let texts: Vec<String> = credentials
                .iter()
                .map(|c| match c {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            let audits: Vec<AuditEntry> = rows.iter().map(issued_audit).collect();
            // Logged before they are delivered (domain::tlog), in the transaction that
            // stores them.
            let (entries, jwt_digests) = if self.config.bench_without_log {
                (Vec::new(), Vec::new())
            } else {
                Self::log_of_issued(&rows, &texts, &achievement.id)
            };
            let log = IssuedLog {
                entries: &entries,
                jwt_digests: &jwt_digests,
            };
            match self
                .store
                .issue_credentials(claim, &rows, &audits, log)
                .await?
            {
                Ok(()) => {
                    self.metrics.issued.add(
                        format.label(),
                        u64::try_from(credentials.len()).unwrap_or(u64::MAX),
                    );
                    let configuration = rows.first().map_or("", |r| r.configuration.as_str());
                    return Ok(CredentialResponse {
                        notification_id: Some(self.notification_id(&offer.id, configuration)),
                        credentials: credentials
                            .into_iter()
                            .map(|credential| IssuedCredential { credential })
                            .collect(),
                        ..CredentialResponse::default()
                    });
                }
                Err(ClaimRefused::IndicesTaken(taken)) => {
                    for i in taken {
                        if let (Some(row), Some(credential)) = (rows.get_mut(i), signed.get_mut(i))
                        {
                            row.status_idx = random_status_index();
                            *credential = None;
                        }
                    }
                }
                Err(why) => return Err(claim_refused(why)),
            }
        }
        Err(claim_refused(ClaimRefused::StatusListFull))
    }

    /// One credential of `format` for `row` (its status index drawn) and holder `key`.
    async fn sign_credential(
        &self,
        offer: &OfferRow,
        achievement: &AchievementRow,
        format: Format,
        row: &CredentialRow,
        key: &Jwk,
    ) -> Result<Value, AppError> {
        let now = row.issued_at;
        Ok(match format {
            Format::SdJwtVc => {
                Value::String(self.issue_sd_jwt(offer, achievement, row, key, now).await?)
            }
            Format::LdpVc => self.issue_ldp_vc(offer, achievement, row, key, now).await?,
            Format::JwtVc(alg) => Value::String(
                self.issue_jwt_vc(offer, achievement, row, alg, key, now)
                    .await?,
            ),
        })
    }

    /// The Deferred Credential Endpoint (§9): the access token of the original request
    /// (accepted after its expiry while the transaction lives) and the `transaction_id`.
    /// Pending: 202 again; approved: the credentials, once; declined:
    /// `credential_request_denied`.
    pub async fn deferred_credential(
        &self,
        presented: &Presented,
        request: &DeferredCredentialRequest,
    ) -> Result<CredentialAnswer, AppError> {
        self.sender_constraint(presented, "/deferred_credential")
            .await?;
        let token = presented.token.as_str();
        let now = self.clock.now();
        let offer = self
            .store
            .offer_by_token_any_time(&protocol::b64::sha256(token))
            .await?
            .ok_or_else(|| AppError::InvalidToken("access token is unknown".into()))?;
        let transaction_id = &request.transaction_id;
        let hash = protocol::b64::sha256(transaction_id);
        let deferred = self
            .store
            .deferred(&hash)
            .await?
            .filter(|d| d.offer_id == offer.id)
            .ok_or_else(|| {
                AppError::oauth(
                    "invalid_transaction_id",
                    "transaction_id is unknown for this access token",
                )
            })?;
        if deferred.completed_at.is_some() {
            return Err(AppError::oauth(
                "invalid_transaction_id",
                "the credentials of this transaction were already issued",
            ));
        }
        if deferred.expires_at <= now {
            return Err(AppError::oauth(
                "invalid_transaction_id",
                "the transaction has expired",
            ));
        }
        match offer.decision.as_deref() {
            None => Ok(CredentialAnswer::Deferred(deferred_response(
                transaction_id.clone(),
            ))),
            Some("approved") => {
                let format = Format::of(&deferred.configuration).ok_or_else(|| {
                    AppError::Internal(format!(
                        "deferred configuration {} unknown",
                        deferred.configuration
                    ))
                })?;
                let keys: Vec<Jwk> = serde_json::from_str(&deferred.holder_jwks)
                    .map_err(|e| AppError::Internal(format!("stored holder keys: {e}")))?;
                let achievement = self.offer_achievement(&offer).await?;
                let rows = credential_rows(
                    &offer,
                    &achievement,
                    &deferred.configuration,
                    format,
                    &keys,
                    now,
                );
                let claim = Spend::Deferred {
                    transaction_hash: &hash,
                    now,
                };
                Ok(CredentialAnswer::Issued(
                    self.issue_and_log(claim, &offer, &achievement, format, rows, &keys)
                        .await?,
                ))
            }
            Some(_) => Err(AppError::oauth(
                "credential_request_denied",
                "the issuer declined to issue this credential",
            )),
        }
    }

    /// Records the operator's decision on an offer whose achievement needs approval.
    pub async fn decide(&self, offer_id: &str, approve: bool, actor: &str) -> Result<(), AppError> {
        let offer = self
            .store
            .offer(offer_id)
            .await?
            .ok_or_else(|| AppError::NotFound("offer".into()))?;
        let decision = if approve { "approved" } else { "rejected" };
        if let Some(done) = &offer.decision {
            return Err(AppError::bad_request(
                "decision",
                format!("the offer was already {done}"),
            ));
        }
        let now = self.clock.now();
        let audit = AuditEntry {
            at: now,
            action: format!("offer.{decision}"),
            subject: offer_id.to_owned(),
            detail: json!({ "by": actor }).to_string(),
            operator_id: None,
        };
        if !self
            .store
            .decide_offer(offer_id, decision, now, &audit)
            .await?
        {
            return Err(AppError::bad_request(
                "decision",
                "the offer was decided meanwhile",
            ));
        }
        Ok(())
    }

    /// The `notification_id` of the credentials of `configuration` issued for an offer: a
    /// MAC, so it needs no storage and cannot be guessed for another offer.
    fn notification_id(&self, offer_id: &str, configuration: &str) -> String {
        protocol::b64::encode(self.seal.mac(
            "notification-id",
            format!("{offer_id}\n{configuration}").as_bytes(),
        ))
    }

    /// The Notification Endpoint (OpenID4VCI 1.0 §11): the wallet says what became of the
    /// credentials of one response; recorded in the audit log.
    #[expect(
        clippy::expect_used,
        reason = "a notification event serialises as a string"
    )]
    pub async fn notification(
        &self,
        presented: &Presented,
        request: &NotificationRequest,
    ) -> Result<(), AppError> {
        self.sender_constraint(presented, "/notification").await?;
        let token = presented.token.as_str();
        let now = self.clock.now();
        let offer = self
            .store
            .offer_by_token(&protocol::b64::sha256(token), now)
            .await?
            .ok_or_else(|| AppError::InvalidToken("access token is unknown or expired".into()))?;
        let configuration = CONFIGURATIONS
            .iter()
            .find(|c| {
                protocol::secret::constant_time_eq(
                    self.notification_id(&offer.id, c).as_bytes(),
                    request.notification_id.as_bytes(),
                )
            })
            .ok_or_else(|| {
                AppError::oauth(
                    "invalid_notification_id",
                    "notification_id was not issued with this access token",
                )
            })?;
        let credentials: Vec<String> = self
            .store
            .credentials_of_offer(&offer.id)
            .await?
            .into_iter()
            .filter(|c| c.configuration == *configuration)
            .map(|c| c.id)
            .collect();
        if credentials.is_empty() {
            return Err(AppError::oauth(
                "invalid_notification_id",
                "no credential was issued for this notification_id",
            ));
        }
        let event = serde_json::to_value(request.event)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .expect("a notification event serialises as a string");
        let audit = AuditEntry {
            at: now,
            action: format!("credential.notification.{event}"),
            subject: offer.id.clone(),
            detail: json!({
                "configuration": configuration,
                "credentials": credentials,
                "event_description": request.event_description,
            })
            .to_string(),
            operator_id: None,
        };
        self.store.insert_audit_entry(&audit).await?;
        Ok(())
    }

    /// The Open Badges 3.0 credential of `row` (no status, no proof) for `holder`, issued
    /// by `issuer` (our URL, or our did:web for Data Integrity proofs), with the offer's
    /// evidence and results: built by [`AchievementCredential::builder`], which adds the
    /// contexts, types and the 1EdTech `credentialSchema`.
    async fn ob3_credential(
        &self,
        offer: &OfferRow,
        achievement: &AchievementRow,
        row: &CredentialRow,
        holder: &Jwk,
        issuer: &str,
        now: i64,
    ) -> Result<AchievementCredential, AppError> {
        let holder = holder.public_only();
        let email_salt = protocol::b64::random(16);
        let mut subject = AchievementSubject::new(self.ob3_achievement(achievement))
            .with_id(protocol::did::did_jwk(&holder))
            .with_identifier(IdentityObject::plain(
                IDENTITY_TYPE_NAME,
                &offer.recipient_name,
            ))
            .with_identifier(IdentityObject::hashed(
                IDENTITY_TYPE_EMAIL,
                &offer.recipient_email,
                &email_salt,
            ));
        subject.result = stored_items(&offer.id, "results", offer.results.as_deref())?;
        let profile = Profile::new(issuer, &self.settings().name).with_url(&self.issuer_id);
        let mut builder =
            AchievementCredential::builder(&row.id, profile, subject, now).name(&achievement.name);
        if let Some(exp) = row.expires_at {
            builder = builder.valid_until(exp);
        }
        for evidence in stored_items(&offer.id, "evidence", offer.evidence.as_deref())? {
            builder = builder.evidence(evidence);
        }
        let mut credential = builder
            .build()
            .map_err(|e| AppError::Internal(format!("building the OB 3.0 credential: {e}")))?;
        if let Some(related) = self.related_resources(achievement).await? {
            credential.extra.insert("relatedResource".into(), related);
        }
        Ok(credential)
    }

    async fn issue_sd_jwt(
        &self,
        offer: &OfferRow,
        achievement: &AchievementRow,
        row: &CredentialRow,
        holder: &Jwk,
        now: i64,
    ) -> Result<String, AppError> {
        let ld = self
            .ob3_credential(offer, achievement, row, holder, &self.issuer_id, now)
            .await?
            .to_value();
        check_schema(&ld)?;
        let holder = holder.public_only();
        // The recipient's identifiers, evidence and results: each element and the whole
        // member selectively disclosable.
        let mut conceal: Vec<String> = Vec::new();
        for pointer in [
            "/ld/credentialSubject/identifier",
            "/ld/evidence",
            "/ld/credentialSubject/result",
        ] {
            let Some(items) = ld
                .pointer(pointer.trim_start_matches("/ld"))
                .and_then(Value::as_array)
            else {
                continue;
            };
            conceal.extend((0..items.len()).map(|i| format!("{pointer}/{i}")));
            conceal.push(pointer.to_owned());
        }
        let mut claims = Map::new();
        let iss = if self.config.sd_jwt_did_web {
            &self.did
        } else {
            &self.issuer_id
        };
        claims.insert("iss".into(), json!(iss));
        claims.insert("iat".into(), json!(now));
        claims.insert("nbf".into(), json!(now));
        if let Some(exp) = row.expires_at {
            claims.insert("exp".into(), json!(exp));
        }
        claims.insert("vct".into(), json!(self.vct()));
        claims.insert("cnf".into(), json!({ "jwk": holder.to_value() }));
        claims.insert(
            "status".into(),
            json!({ "status_list": { "idx": row.status_idx, "uri": self.status_list_uri(row.status_list) } }),
        );
        claims.insert("ld".into(), ld);
        let conceal: Vec<&str> = conceal.iter().map(String::as_str).collect();
        let sd = sd_jwt::issue(
            claims,
            &conceal,
            2,
            self.x509.header(sd_jwt::TYP_DC_SD_JWT),
            &self.x509.identity.key as &dyn Signer,
        )
        .map_err(|e| AppError::Internal(format!("building the SD-JWT: {e}")))?;
        Ok(sd.serialize())
    }

    /// An OB 3.0 VC-JWT signed with the issuer's `alg` key, with a BitstringStatusListEntry.
    async fn issue_jwt_vc(
        &self,
        offer: &OfferRow,
        achievement: &AchievementRow,
        row: &CredentialRow,
        alg: protocol::keys::Alg,
        holder: &Jwk,
        now: i64,
    ) -> Result<String, AppError> {
        let mut credential = self
            .ob3_credential(offer, achievement, row, holder, &self.issuer_id, now)
            .await?;
        credential.credential_status =
            Some(self.bitstring_entry(ListIssuer::Https, row.status_idx));
        let vc = credential.to_value();
        check_schema(&vc)?;
        let (signer, kid): (&dyn Signer, &str) = match alg {
            protocol::keys::Alg::RS256 => (&self.rs256, &self.kid_rs256),
            _ => (&self.es256, &self.kid),
        };
        protocol::vc::jwt::sign(&vc, kid, signer)
            .map_err(|e| AppError::Internal(format!("building the VC-JWT: {e}")))
    }

    /// An OB 3.0 credential with a Data Integrity `eddsa-rdfc-2022` proof (`proof` an array,
    /// as the 1EdTech schema wants) and a BitstringStatusListEntry. It is the form a holder
    /// publishes (the JSON-LD of a public page, baked into the badge image), and a Data
    /// Integrity proof cannot be redacted: so it carries the recipient's name and never
    /// the email identifier (whose salted hash would let anyone confirm a guessed address).
    /// The email stays in the SD-JWT VC, selectively disclosable, and in the VC-JWT.
    async fn issue_ldp_vc(
        &self,
        offer: &OfferRow,
        achievement: &AchievementRow,
        row: &CredentialRow,
        holder: &Jwk,
        now: i64,
    ) -> Result<Value, AppError> {
        let mut credential = self
            .ob3_credential(offer, achievement, row, holder, &self.did, now)
            .await?;
        credential
            .credential_subject
            .identifier
            .retain(|i| i.identity_type != IDENTITY_TYPE_EMAIL);
        credential.credential_status =
            Some(self.bitstring_entry(ListIssuer::DidWeb, row.status_idx));
        // `1EdTechJsonSchemaValidator2019` is defined by neither the VC 2.0 nor the OB 3.0.3
        // context: JSON-LD processors refuse it as a relative type IRI (ssi and jsonld.js
        // in safe mode alike), so a Data Integrity credential cannot carry the optional
        // `credentialSchema`. The credential is still checked against the schema below.
        credential.credential_schema.clear();
        let vc = credential.to_value();
        let signed =
            protocol::vc::data_integrity::sign(&vc, &self.ed25519, &self.kid_ed25519, &self.did)
                .await
                .map_err(|e| AppError::Internal(format!("signing the ldp_vc: {e}")))?;
        check_schema(&signed)?;
        Ok(signed)
    }

    /// The `credentialStatus` of a VC-format credential at `idx`. The 1EdTech schema allows
    /// one object, not an array: the entry names the revocation list; the suspension list
    /// at the same index is published beside it (see README). The list is `identity`'s,
    /// the identifier the credential is issued by.
    fn bitstring_entry(&self, identity: ListIssuer, idx: i64) -> CredentialStatus {
        CredentialStatus::bitstring(
            &self.identity_list_uri(identity, BITSTRING_LIST_ID, StatusPurpose::Revocation),
            idx.unsigned_abs(),
            StatusPurpose::Revocation.as_str(),
        )
    }

    /// Revokes, suspends or reinstates a badge (`status`: valid, revoked or suspended),
    /// named by any of its credentials: one badge, one status, so every credential issued
    /// from the same offer (each format, each key of a batch) changes with it, with the
    /// audit entry, in one transaction; `via` says who asked. The ids changed, the named
    /// one first.
    pub async fn set_status(
        &self,
        credential_id: &str,
        status: &str,
        via: &str,
    ) -> Result<Vec<String>, AppError> {
        self.set_status_as(credential_id, status, via, None).await
    }

    /// [`App::set_status`] by a console operator (`operator_id`), recorded with the change.
    pub async fn set_status_as(
        &self,
        credential_id: &str,
        status: &str,
        via: &str,
        operator_id: Option<&str>,
    ) -> Result<Vec<String>, AppError> {
        let value = match status {
            "valid" => protocol::status::VALID,
            "revoked" => protocol::status::INVALID,
            "suspended" => protocol::status::SUSPENDED,
            _ => {
                return Err(AppError::bad_request(
                    "status",
                    "must be valid, revoked or suspended",
                ));
            }
        };
        let audit = AuditEntry {
            at: self.clock.now(),
            action: format!("credential.{status}"),
            subject: credential_id.to_owned(),
            detail: json!({ "via": via }).to_string(),
            operator_id: operator_id.map(str::to_owned),
        };
        let changed = self
            .store
            .set_badge_status(credential_id, i64::from(value), &audit)
            .await?;
        if changed.is_empty() {
            return Err(AppError::NotFound(format!("credential {credential_id}")));
        }
        self.metrics.status_changes.add(status, 1);
        Ok(changed)
    }

    /// The Status List Token (draft-ietf-oauth-status-list §5.1) for `list`, signed by the
    /// `x5c` signer with its chain, as the SD-JWT VCs that reference it (HAIP 1.0 §6.1).
    #[expect(clippy::expect_used, reason = "2 bits per entry is a valid size")]
    pub async fn status_list_token(&self, list: i64) -> Result<String, AppError> {
        if list != STATUS_LIST_ID {
            return Err(AppError::NotFound("status list".into()));
        }
        // Read every time, so a status changed by any instance is in the next token; the
        // token is made again (compressed and signed) only when what was read changed,
        // or when the kept one is STATUS_TTL old (`domain::kept`). There is one list.
        let mut statuses = self.store.non_valid_statuses(list).await?;
        statuses.sort_unstable();
        let now = self.clock.now();
        if let Some(jwt) = self.status_token.get(&statuses, now) {
            return Ok(jwt);
        }
        let mut bits = protocol::status::StatusList::new(2, protocol::status::MIN_ENTRIES)
            .expect("2 bits per entry is a valid size");
        for (idx, status) in &statuses {
            bits.set(*idx as usize, *status as u8)
                .map_err(|e| AppError::Internal(format!("stored status index: {e}")))?;
        }
        let payload = json!({
            "sub": self.status_list_uri(list),
            "iat": now,
            "exp": now + 24 * 3600,
            "ttl": STATUS_TTL,
            "status_list": { "bits": bits.bits(), "lst": bits.encode() },
        });
        let jwt = protocol::jose::Jws::sign(
            self.x509.header(protocol::status::TYP_STATUSLIST_JWT),
            &payload,
            &self.x509.identity.key,
        );
        self.status_token.keep(statuses, now, jwt.clone());
        Ok(jwt)
    }

    /// The BitstringStatusListCredential of `list` for `purpose` (`revocation` or
    /// `suspension`) issued by `identity`, signed as a VC-JWT with the ES256 key (`kid`
    /// `<did>#key-1`, a verification method of the did:web): revoked credentials have their
    /// bit set in the revocation list, suspended ones in the suspension list. Both
    /// identities' lists carry the same bits.
    pub async fn bitstring_status_list(
        &self,
        identity: ListIssuer,
        list: i64,
        purpose: &str,
    ) -> Result<PublishedList, AppError> {
        let purpose = StatusPurpose::parse(purpose)
            .filter(|_| list == BITSTRING_LIST_ID)
            .ok_or_else(|| AppError::NotFound("status list".into()))?;
        let wanted = i64::from(match purpose {
            StatusPurpose::Revocation => protocol::status::INVALID,
            StatusPurpose::Suspension => protocol::status::SUSPENDED,
        });
        // The set indices, read every time; the credential is made again (encoded and
        // signed) only when they changed, or when the kept one is STATUS_TTL old.
        let mut set = Vec::new();
        for (idx, status) in self.store.non_valid_statuses(list).await? {
            if status == wanted {
                set.push(
                    usize::try_from(idx)
                        .map_err(|_| AppError::Internal(format!("stored status index {idx}")))?,
                );
            }
        }
        set.sort_unstable();
        let now = self.clock.now();
        let kept = &self.bitstring_lists[bitstring_slot(identity, purpose)];
        if let Some(published) = kept.get(&set, now) {
            return Ok(published);
        }
        let mut bits = Bitstring::new(protocol::status::MIN_ENTRIES);
        for idx in &set {
            bits.set(*idx, true)
                .map_err(|e| AppError::Internal(format!("stored status index: {e}")))?;
        }
        let uri = self.identity_list_uri(identity, list, purpose);
        let issuer = match identity {
            ListIssuer::Https => &self.issuer_id,
            ListIssuer::DidWeb => &self.did,
        };
        let vc = protocol::status::bitstring::list_credential(
            &uri,
            issuer,
            purpose,
            &bits,
            &protocol::clock::rfc3339(now),
            &protocol::clock::rfc3339(now + 24 * 3600),
            STATUS_TTL.unsigned_abs() * 1000,
        );
        let etag = format!(
            "W/\"{}\"",
            protocol::b64::sha256(vc["credentialSubject"]["encodedList"].to_string())
        );
        let jwt = protocol::vc::jwt::sign(&vc, &self.kid, &self.es256)
            .map_err(|e| AppError::Internal(format!("signing the status list: {e}")))?;
        let published = PublishedList { jwt, etag };
        kept.keep(set, now, published.clone());
        Ok(published)
    }
}

/// The Bitstring Status List credentials kept, one per issuer identity and purpose
/// ([`super::kept`]), each by the indices set in it.
pub type BitstringLists = [Kept<Vec<usize>, PublishedList>; 4];

/// Empty [`BitstringLists`].
pub const fn bitstring_lists() -> BitstringLists {
    [const { Kept::new(STATUS_TTL) }; 4]
}

/// Where the list of `identity` for `purpose` is kept in [`BitstringLists`].
fn bitstring_slot(identity: ListIssuer, purpose: StatusPurpose) -> usize {
    let identity = match identity {
        ListIssuer::Https => 0,
        ListIssuer::DidWeb => 2,
    };
    identity
        + match purpose {
            StatusPurpose::Revocation => 0,
            StatusPurpose::Suspension => 1,
        }
}

/// The identifier a Bitstring Status List is issued by: the badges' own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListIssuer {
    /// The https issuer identifier (VC-JWT badges).
    Https,
    /// The issuer's did:web (`ldp_vc` badges).
    DidWeb,
}

/// Seconds verifiers may cache a status list.
pub const STATUS_TTL: i64 = 60;

/// A published status list: the signed document and a weak ETag of its content (the same
/// while no status changes, whatever the signing time).
#[derive(Debug, Clone)]
pub struct PublishedList {
    pub jwt: String,
    pub etag: String,
}

/// The evidence or results an offer stored (OB 3.0 JSON, written by
/// `offers::evidence_and_results`); none when the offer has none.
fn stored_items<T: serde::de::DeserializeOwned>(
    offer_id: &str,
    what: &str,
    stored: Option<&str>,
) -> Result<Vec<T>, AppError> {
    let Some(text) = stored else {
        return Ok(Vec::new());
    };
    serde_json::from_str(text)
        .map_err(|e| AppError::Internal(format!("stored offer {offer_id} {what}: {e}")))
}

/// Refuses to sign a credential the 1EdTech OB 3.0 schema rejects (a bug of ours).
fn check_schema(credential: &Value) -> Result<(), AppError> {
    protocol::ob3::schema::validate(credential).map_err(|violations| {
        let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
        AppError::Internal(format!(
            "issued credential fails the OB 3.0 schema: {}",
            list.join("; ")
        ))
    })
}

/// Key proofs may name their key by did:key or did:jwk; both resolve without the network.
fn resolve_local_kid(kid: &str) -> Result<Jwk, String> {
    let did = kid.split('#').next().unwrap_or(kid);
    let parsed = if did.starts_with("did:jwk:") {
        protocol::did::parse_did_jwk(did)
    } else if did.starts_with("did:key:") {
        protocol::did::parse_did_key(did)
    } else {
        return Err(format!("`kid` {kid:?} is not a did:key or did:jwk URL"));
    };
    parsed.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::keys::{Alg, SigningKey};

    /// A bound offer is redeemed by a request whose first proof is the bound key; the
    /// other proofs of a batch add that wallet's keys. A request whose first proof is
    /// another key is refused, even when the bound key comes later.
    #[test]
    fn a_bound_offer_needs_the_bound_key_first() {
        let key = || SigningKey::generate(Alg::ES256).public_jwk();
        let (bound, other, third) = (key(), key(), key());
        let jkt = bound.thumbprint();
        assert_eq!(
            holder_binding_mismatch(Some(&jkt), std::slice::from_ref(&bound)),
            None
        );
        assert_eq!(
            holder_binding_mismatch(Some(&jkt), &[bound.clone(), other.clone(), third]),
            None
        );
        let refused = holder_binding_mismatch(Some(&jkt), &[other.clone(), bound]).unwrap();
        assert!(
            refused.starts_with("the first key (proofs.jwt[0], or an attestation's first attested key): holder binding"),
            "{refused}"
        );
        assert!(refused.contains(&other.thumbprint()), "{refused}");
        assert!(holder_binding_mismatch(Some(&jkt), &[]).is_some());
        assert_eq!(holder_binding_mismatch(None, &[other]), None);
    }
}
