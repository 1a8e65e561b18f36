//! The nonce and credential endpoints (OpenID4VCI 1.0 §7, §8): key proofs checked, the
//! c_nonce used once, and the badge issued as an SD-JWT VC in the SD-JWT VCLD form (the
//! Open Badges 3.0 credential in the `ld` claim; `iss`, `vct`, `cnf`, `iat`, `nbf`, `exp`,
//! `status` as JWT claims; the recipient's identifiers selectively disclosable).

use serde_json::{Map, Value, json};
use shared::keys::{Jwk, Signer};
use shared::ob3::{IDENTITY_TYPE_EMAIL, IDENTITY_TYPE_NAME, IdentityObject};
use shared::sd_jwt;

use crate::App;
use crate::error::AppError;
use crate::store::{AuditEntry, CredentialRow, OfferRow};

/// The one credential configuration of the walking skeleton.
pub const CONFIGURATION_SD_JWT: &str = "OpenBadgeCredential_sd_jwt";
/// The Token Status List every credential is entered in.
pub const STATUS_LIST_ID: i64 = 1;
/// Most proofs (hence credentials) one request may carry (`batch_credential_issuance`).
pub const BATCH_SIZE: usize = 10;
/// Seconds a key proof's `iat` may lie in the past, and in the future.
const PROOF_MAX_AGE: i64 = 300;
const LEEWAY: i64 = 30;

impl App {
    /// The SD-JWT VC type of our badges.
    pub fn vct(&self) -> String {
        format!("{}/vct/open-badge-v3", self.issuer_id)
    }

    pub fn status_list_uri(&self, list: i64) -> String {
        format!("{}/status/{list}", self.issuer_id)
    }

    /// A fresh c_nonce (Nonce Endpoint, §7), stored hashed until it expires or is used.
    pub async fn new_nonce(&self) -> Result<String, AppError> {
        let nonce = shared::b64::random(16);
        let now = self.clock.now();
        self.store
            .insert_nonce(&shared::b64::sha256(&nonce), now + self.config.nonce_ttl)
            .await?;
        Ok(nonce)
    }

    /// The Credential Endpoint (§8): `bearer` is the access token, `request` the JSON body.
    pub async fn credential(
        &self,
        bearer: Option<&str>,
        request: Value,
    ) -> Result<Value, AppError> {
        let now = self.clock.now();
        let token =
            bearer.ok_or_else(|| AppError::InvalidToken("no bearer access token".into()))?;
        let offer = self
            .store
            .offer_by_token(&shared::b64::sha256(token), now)
            .await?
            .ok_or_else(|| AppError::InvalidToken("access token is unknown or expired".into()))?;

        let request = request.as_object().ok_or_else(|| {
            AppError::oauth("invalid_credential_request", "body must be a JSON object")
        })?;
        for draft in ["proof", "format", "credential_definition"] {
            if request.contains_key(draft) {
                return Err(AppError::oauth(
                    "invalid_credential_request",
                    format!("`{draft}` is not an OpenID4VCI 1.0 request parameter"),
                ));
            }
        }
        if request.contains_key("credential_identifier") {
            return Err(AppError::oauth(
                "unknown_credential_identifier",
                "this issuer returns no credential_identifiers; use credential_configuration_id",
            ));
        }
        match request
            .get("credential_configuration_id")
            .and_then(Value::as_str)
        {
            Some(CONFIGURATION_SD_JWT) => {}
            Some(other) => {
                return Err(AppError::oauth(
                    "unknown_credential_configuration",
                    format!("credential_configuration_id {other:?} is not offered"),
                ));
            }
            None => {
                return Err(AppError::oauth(
                    "invalid_credential_request",
                    "credential_configuration_id is missing",
                ));
            }
        }
        if request.contains_key("credential_response_encryption") {
            return Err(AppError::oauth(
                "invalid_encryption_parameters",
                "credential response encryption is not supported by this issuer",
            ));
        }
        let proofs = request
            .get("proofs")
            .and_then(Value::as_object)
            .ok_or_else(|| AppError::oauth("invalid_proof", "`proofs` is missing"))?;
        if proofs.len() != 1 {
            return Err(AppError::oauth(
                "invalid_proof",
                "`proofs` must hold exactly one proof type",
            ));
        }
        let jwts = proofs.get("jwt").and_then(Value::as_array).ok_or_else(|| {
            AppError::oauth("invalid_proof", "only the `jwt` proof type is supported")
        })?;
        if jwts.is_empty() {
            return Err(AppError::oauth("invalid_proof", "`proofs.jwt` is empty"));
        }
        if jwts.len() > BATCH_SIZE {
            return Err(AppError::oauth(
                "invalid_proof",
                format!("at most {BATCH_SIZE} proofs per request"),
            ));
        }

        // Check every proof before using any nonce, so a bad proof wastes nothing.
        let mut keys = Vec::with_capacity(jwts.len());
        let mut nonces: Vec<String> = Vec::new();
        for (i, jwt) in jwts.iter().enumerate() {
            let jwt = jwt.as_str().ok_or_else(|| {
                AppError::oauth("invalid_proof", format!("proofs.jwt[{i}] is not a string"))
            })?;
            let expect = shared::oid4vci::ProofExpectations {
                aud: &self.issuer_id,
                now,
                max_age_secs: PROOF_MAX_AGE,
                leeway_secs: LEEWAY,
                accepted_algs: &[shared::keys::Alg::ES256, shared::keys::Alg::EdDSA],
            };
            let proof = shared::oid4vci::verify_proof_jwt(jwt, &expect, &resolve_local_kid)
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
        for nonce in &nonces {
            if !self
                .store
                .consume_nonce(&shared::b64::sha256(nonce), now)
                .await?
            {
                return Err(AppError::oauth(
                    "invalid_nonce",
                    "c_nonce is unknown, expired or already used; fetch a new one from the nonce endpoint",
                ));
            }
        }

        if !self
            .store
            .claim_issuance(&offer.id, CONFIGURATION_SD_JWT, now)
            .await?
        {
            return Err(AppError::oauth(
                "credential_request_denied",
                "this offer's credential was already issued; ask the issuer for a new offer",
            ));
        }
        let mut credentials = Vec::with_capacity(keys.len());
        for key in &keys {
            credentials.push(json!({ "credential": self.issue_sd_jwt(&offer, key, now).await? }));
        }
        Ok(json!({ "credentials": credentials }))
    }

    async fn issue_sd_jwt(
        &self,
        offer: &OfferRow,
        holder: &Jwk,
        now: i64,
    ) -> Result<String, AppError> {
        let achievement = self
            .store
            .achievement(&offer.achievement_id)
            .await?
            .ok_or_else(|| {
                AppError::Internal(format!("offer {} names a missing achievement", offer.id))
            })?;
        let credential_id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        let expires_at = achievement.valid_days.map(|d| now + d * 86_400);
        let holder = holder.public_only();
        let idx = self
            .allocate_status_index(&CredentialRow {
                id: credential_id.clone(),
                offer_id: offer.id.clone(),
                configuration: CONFIGURATION_SD_JWT.into(),
                holder_jwk: holder.to_value().to_string(),
                status_list: STATUS_LIST_ID,
                status_idx: 0,
                status: 0,
                issued_at: now,
                expires_at,
            })
            .await?;

        let email_salt = shared::b64::random(16);
        let achievement_json = self.achievement_json(&achievement);
        let related = self.related_resources(&achievement).await?;
        let mut ld = json!({
            "@context": [shared::ob3::CONTEXT_VC_V2, shared::ob3::CONTEXT_OB_V3P0_3],
            "id": credential_id,
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": achievement.name,
            "issuer": {
                "id": self.issuer_id,
                "type": ["Profile"],
                "name": self.config.name,
                "url": self.issuer_id,
            },
            "validFrom": shared::clock::rfc3339(now),
            "credentialSubject": {
                "id": shared::did::did_jwk(&holder),
                "type": ["AchievementSubject"],
                "identifier": [
                    IdentityObject::plain(IDENTITY_TYPE_NAME, &offer.recipient_name),
                    IdentityObject::hashed(IDENTITY_TYPE_EMAIL, &offer.recipient_email, &email_salt)
                ],
                "achievement": achievement_json,
            },
            "credentialSchema": [{
                "id": shared::ob3::SCHEMA_ACHIEVEMENT_CREDENTIAL,
                "type": shared::ob3::SCHEMA_VALIDATOR_1EDTECH,
            }],
        });
        if let Some(exp) = expires_at {
            ld["validUntil"] = json!(shared::clock::rfc3339(exp));
        }
        if let Some(related) = related {
            ld["relatedResource"] = related;
        }
        // Evidence (credential level) and results (subject level): each element and the
        // whole member selectively disclosable, like the recipient's identifiers.
        let mut conceal: Vec<String> = Vec::new();
        let identifiers = ld["credentialSubject"]["identifier"]
            .as_array()
            .map_or(0, Vec::len);
        conceal.extend((0..identifiers).map(|i| format!("/ld/credentialSubject/identifier/{i}")));
        conceal.push("/ld/credentialSubject/identifier".into());
        for (stored, at, pointer) in [
            (&offer.evidence, "/evidence", "/ld/evidence"),
            (
                &offer.results,
                "/credentialSubject/result",
                "/ld/credentialSubject/result",
            ),
        ] {
            let Some(text) = stored else { continue };
            let items: Vec<Value> = serde_json::from_str(text)
                .map_err(|e| AppError::Internal(format!("stored offer {} {at}: {e}", offer.id)))?;
            conceal.extend((0..items.len()).map(|i| format!("{pointer}/{i}")));
            conceal.push(pointer.to_owned());
            let target = ld
                .pointer_mut(at.rsplit_once('/').map_or("", |(parent, _)| parent))
                .ok_or_else(|| AppError::Internal(format!("credential has no parent for {at}")))?;
            target[at.rsplit('/').next().unwrap_or(at)] = Value::Array(items);
        }
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer_id));
        claims.insert("iat".into(), json!(now));
        claims.insert("nbf".into(), json!(now));
        if let Some(exp) = expires_at {
            claims.insert("exp".into(), json!(exp));
        }
        claims.insert("vct".into(), json!(self.vct()));
        claims.insert("cnf".into(), json!({ "jwk": holder.to_value() }));
        claims.insert(
            "status".into(),
            json!({ "status_list": { "idx": idx, "uri": self.status_list_uri(STATUS_LIST_ID) } }),
        );
        claims.insert("ld".into(), ld);
        let conceal: Vec<&str> = conceal.iter().map(String::as_str).collect();
        let sd = sd_jwt::issue(
            claims,
            &conceal,
            2,
            shared::jose::header(sd_jwt::TYP_DC_SD_JWT, Some(&self.kid)),
            &self.es256 as &dyn Signer,
        )
        .map_err(|e| AppError::Internal(format!("building the SD-JWT: {e}")))?;
        Ok(sd.serialize())
    }

    /// Enters the credential in the status list at a random free index (HAIP: unique and
    /// unpredictable), retrying on the rare collision.
    async fn allocate_status_index(&self, row: &CredentialRow) -> Result<i64, AppError> {
        use rand::Rng;
        for _ in 0..64 {
            let idx = rand::rng().random_range(0..shared::status::MIN_ENTRIES as i64);
            let audit = AuditEntry {
                at: row.issued_at,
                action: "credential.issued".into(),
                subject: row.id.clone(),
                detail: json!({
                    "offer_id": row.offer_id,
                    "configuration": row.configuration,
                    "status_list": row.status_list,
                    "status_idx": idx,
                })
                .to_string(),
            };
            if self
                .store
                .insert_credential(
                    &CredentialRow {
                        status_idx: idx,
                        ..row.clone()
                    },
                    &audit,
                )
                .await?
            {
                return Ok(idx);
            }
        }
        Err(AppError::Internal("status list is full".into()))
    }

    /// Revokes, suspends or reinstates an issued credential (`status`: valid, revoked or
    /// suspended), writing the audit entry in the same transaction; `via` says who asked.
    pub async fn set_status(
        &self,
        credential_id: &str,
        status: &str,
        via: &str,
    ) -> Result<(), AppError> {
        let value = match status {
            "valid" => shared::status::VALID,
            "revoked" => shared::status::INVALID,
            "suspended" => shared::status::SUSPENDED,
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
        };
        if !self
            .store
            .set_credential_status(credential_id, i64::from(value), &audit)
            .await?
        {
            return Err(AppError::NotFound(format!("credential {credential_id}")));
        }
        Ok(())
    }

    /// The Status List Token (draft-ietf-oauth-status-list §5.1) for `list`.
    pub async fn status_list_token(&self, list: i64) -> Result<String, AppError> {
        if list != STATUS_LIST_ID {
            return Err(AppError::NotFound("status list".into()));
        }
        let mut bits = shared::status::StatusList::new(2, shared::status::MIN_ENTRIES)
            .expect("2 bits per entry is a valid size");
        for (idx, status) in self.store.non_valid_statuses(list).await? {
            bits.set(idx as usize, status as u8)
                .map_err(|e| AppError::Internal(format!("stored status index: {e}")))?;
        }
        let now = self.clock.now();
        let payload = json!({
            "sub": self.status_list_uri(list),
            "iat": now,
            "exp": now + 24 * 3600,
            "ttl": STATUS_TTL,
            "status_list": { "bits": bits.bits(), "lst": bits.encode() },
        });
        Ok(shared::jose::Jws::sign(
            shared::jose::header(shared::status::TYP_STATUSLIST_JWT, Some(&self.kid)),
            &payload,
            &self.es256,
        ))
    }
}

/// Seconds verifiers may cache a status list.
pub const STATUS_TTL: i64 = 60;

/// Key proofs may name their key by did:key or did:jwk; both resolve without the network.
fn resolve_local_kid(kid: &str) -> Result<Jwk, String> {
    let did = kid.split('#').next().unwrap_or(kid);
    let parsed = if did.starts_with("did:jwk:") {
        shared::did::parse_did_jwk(did)
    } else if did.starts_with("did:key:") {
        shared::did::parse_did_key(did)
    } else {
        return Err(format!("`kid` {kid:?} is not a did:key or did:jwk URL"));
    };
    parsed.map_err(|e| e.to_string())
}
