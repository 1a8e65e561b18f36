//! Achievements, credential offers and the token endpoint's pre-authorized code grant
//! (OpenID4VCI 1.0 §4.1, §6).

use protocol::ob3::{AchievementResult, Evidence};
use protocol::oid4vci::{
    AuthorizationCodeGrant, CredentialOffer, GRANT_TYPE_PRE_AUTHORIZED_CODE, Grants, OfferedName,
    PreAuthorizedCode, PreAuthorizedCodeGrant, TokenRequest, TokenResponse, TxCode,
    TxCodeInputMode,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::App;
use crate::error::AppError;
use crate::store::OfferRow;

/// Wrong transaction codes allowed before an offer is locked.
pub const MAX_TX_CODE_FAILURES: i64 = 5;
/// Length of the numeric PIN generated for offers that ask for one.
pub const TX_CODE_LENGTH: usize = 6;
/// The grant type of OpenID4VCI §4.1.1.
pub const PRE_AUTHORIZED_GRANT: &str = GRANT_TYPE_PRE_AUTHORIZED_CODE;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewOffer {
    pub achievement_id: String,
    pub recipient_name: String,
    pub recipient_email: String,
    /// Ask the wallet for a PIN (`tx_code`) sent to the recipient by another channel.
    #[serde(default)]
    pub tx_code: bool,
    /// Evidence of this recipient's achievement (OB 3.0 `Evidence`), selectively disclosable.
    #[serde(default)]
    pub evidence: Vec<EvidenceInput>,
    /// This recipient's results (OB 3.0 `Result`), selectively disclosable.
    #[serde(default)]
    pub results: Vec<ResultInput>,
}

/// One piece of evidence: a URL, a narrative, or both.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceInput {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub narrative: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// One result: its value (a grade, a score, a level).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultInput {
    pub value: String,
}

/// The OB 3.0 JSON of the offer's evidence and results, checked; `None` when empty.
#[expect(
    clippy::expect_used,
    reason = "OB 3.0 evidence serialises; OB 3.0 results serialise"
)]
pub fn evidence_and_results(
    evidence: &[EvidenceInput],
    results: &[ResultInput],
) -> Result<(Option<String>, Option<String>), AppError> {
    let mut ev = Vec::with_capacity(evidence.len());
    for (i, e) in evidence.iter().enumerate() {
        let field = |name: &str| format!("evidence[{i}].{name}");
        if e.id.is_none() && e.narrative.is_none() && e.name.is_none() {
            return Err(AppError::bad_request(
                &format!("evidence[{i}]"),
                "needs an id (URL), a name or a narrative",
            ));
        }
        if let Some(id) = &e.id
            && !url::Url::parse(id).is_ok_and(|u| matches!(u.scheme(), "https" | "http"))
        {
            return Err(AppError::bad_request(
                &field("id"),
                "must be an absolute http(s) URL",
            ));
        }
        for (name, value) in [
            ("name", &e.name),
            ("narrative", &e.narrative),
            ("description", &e.description),
        ] {
            if value.as_ref().is_some_and(|v| v.trim().is_empty()) {
                return Err(AppError::bad_request(&field(name), "must not be empty"));
            }
        }
        let item = Evidence {
            id: e.id.clone(),
            types: vec!["Evidence".into()],
            narrative: e.narrative.clone(),
            name: e.name.clone(),
            description: e.description.clone(),
            genre: None,
            audience: None,
            extra: serde_json::Map::new(),
        };
        ev.push(serde_json::to_value(item).expect("OB 3.0 evidence serialises"));
    }
    let mut rs = Vec::with_capacity(results.len());
    for (i, r) in results.iter().enumerate() {
        if r.value.trim().is_empty() {
            return Err(AppError::bad_request(
                &format!("results[{i}].value"),
                "must not be empty",
            ));
        }
        rs.push(
            serde_json::to_value(AchievementResult::value(&r.value))
                .expect("OB 3.0 results serialise"),
        );
    }
    let text = |v: Vec<serde_json::Value>| {
        (!v.is_empty()).then(|| serde_json::Value::Array(v).to_string())
    };
    Ok((text(ev), text(rs)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OfferCreated {
    pub offer_id: String,
    /// `openid-credential-offer://?credential_offer_uri=…`, for any wallet.
    pub offer_link: String,
    /// Where the offer document is served (by reference).
    pub credential_offer_uri: String,
    /// The PIN, shown once: only its hash is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<String>,
    pub expires_at: i64,
}

impl App {
    /// The pre-authorized code of an offer: a MAC of its id, so it is never stored (only its
    /// hash is) yet the offer document can be served again.
    fn pre_authorized_code(&self, offer_id: &str) -> String {
        protocol::b64::encode(self.seal.mac("pre-authorized-code", offer_id.as_bytes()))
    }

    pub fn offer_uri(&self, offer_id: &str) -> String {
        format!("{}/offers/{offer_id}", self.issuer_id)
    }

    pub async fn create_offer(&self, req: NewOffer) -> Result<OfferCreated, AppError> {
        self.achievement_or_400(&req.achievement_id).await?;
        let recipient = Recipient::check(&req.recipient_name, &req.recipient_email)?;
        let (evidence, results) = evidence_and_results(&req.evidence, &req.results)?;
        let row = self.new_offer(
            &req.achievement_id,
            &recipient,
            req.tx_code,
            evidence,
            results,
            None,
        );
        self.store.insert_offer(&row).await?;
        Ok(self.offer_created(&row))
    }

    /// A new offer row (not stored yet) for `recipient`, expiring after the configured TTL.
    pub fn new_offer(
        &self,
        achievement_id: &str,
        recipient: &Recipient,
        tx_code: bool,
        evidence: Option<String>,
        results: Option<String>,
        registration_id: Option<String>,
    ) -> OfferRow {
        let now = self.clock.now();
        let id = protocol::b64::random(16);
        OfferRow {
            code_hash: protocol::b64::sha256(self.pre_authorized_code(&id)),
            tx_code_hash: tx_code.then(|| tx_code_hash(&id, &self.tx_code(&id))),
            id,
            achievement_id: achievement_id.to_owned(),
            recipient_name: recipient.name.clone(),
            recipient_email: recipient.email.clone(),
            tx_code_failures: 0,
            expires_at: now + self.settings().offer_ttl,
            redeemed_at: None,
            token_hash: None,
            token_expires_at: None,
            created_at: now,
            evidence,
            results,
            registration_id,
            decision: None,
            decided_at: None,
        }
    }

    /// What the API and the CLI show of a new offer: its links, and the PIN once.
    pub fn offer_created(&self, row: &OfferRow) -> OfferCreated {
        let credential_offer_uri = self.offer_uri(&row.id);
        OfferCreated {
            offer_id: row.id.clone(),
            offer_link: self.offer_link(&row.id),
            credential_offer_uri,
            tx_code: row.tx_code_hash.is_some().then(|| self.tx_code(&row.id)),
            expires_at: row.expires_at,
        }
    }

    /// `openid-credential-offer://?credential_offer_uri=…` for an offer.
    pub fn offer_link(&self, offer_id: &str) -> String {
        format!(
            "openid-credential-offer://?credential_offer_uri={}",
            percent_encoding::utf8_percent_encode(
                &self.offer_uri(offer_id),
                percent_encoding::NON_ALPHANUMERIC
            )
        )
    }

    /// The offer's PIN: a MAC of its id reduced to [`TX_CODE_LENGTH`] digits, so only its
    /// hash is stored, yet the PIN email can be written when it is sent.
    #[expect(clippy::expect_used, reason = "a MAC has 8 bytes; digits are ASCII")]
    pub fn tx_code(&self, offer_id: &str) -> String {
        let mac = self.seal.mac("tx-code", offer_id.as_bytes());
        let mut n = u64::from_be_bytes(mac[..8].try_into().expect("a MAC has 8 bytes"));
        let mut digits = vec![b'0'; TX_CODE_LENGTH];
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        String::from_utf8(digits).expect("digits are ASCII")
    }

    /// An offer as the operator sees it: state, decision and the credentials issued.
    pub async fn offer_state(&self, id: &str) -> Result<serde_json::Value, AppError> {
        let offer = self
            .store
            .offer(id)
            .await?
            .ok_or_else(|| AppError::NotFound("offer".into()))?;
        let credentials = self.store.credentials_of_offer(id).await?;
        let now = self.clock.now();
        let state = if !credentials.is_empty() {
            "issued"
        } else if offer.redeemed_at.is_some() {
            "redeemed"
        } else if offer.expires_at <= now {
            "expired"
        } else {
            "offered"
        };
        Ok(json!({
            "offer_id": offer.id,
            "achievement_id": offer.achievement_id,
            "recipient_name": offer.recipient_name,
            "recipient_email": offer.recipient_email,
            "state": state,
            "expires_at": offer.expires_at,
            "redeemed_at": offer.redeemed_at,
            "tx_code_failures": offer.tx_code_failures,
            "decision": offer.decision,
            "credentials": credentials.iter().map(|c| json!({
                "id": c.id,
                "configuration": c.configuration,
                "status_list": self.status_list_uri(c.status_list),
                "status_idx": c.status_idx,
                "status": crate::domain::status_name(c.status),
                "issued_at": c.issued_at,
                "expires_at": c.expires_at,
            })).collect::<Vec<_>>(),
        }))
    }

    /// The Credential Offer document (OpenID4VCI §4.1.1) served at `credential_offer_uri`.
    /// Gone once redeemed or expired.
    pub async fn offer_document(&self, offer_id: &str) -> Result<CredentialOffer, AppError> {
        let offer = self
            .store
            .offer(offer_id)
            .await?
            .ok_or_else(|| AppError::NotFound("offer".into()))?;
        if offer.redeemed_at.is_some() || offer.expires_at <= self.clock.now() {
            return Err(AppError::NotFound("offer (already used or expired)".into()));
        }
        let tx_code = offer.tx_code_hash.is_some().then(|| TxCode {
            input_mode: Some(TxCodeInputMode::Numeric),
            length: Some(TX_CODE_LENGTH as u32),
            description: Some("The PIN sent to you separately by the issuer".into()),
        });
        // The badge's name in each language it has, for the wallet's receive page.
        let badge_names = match self.store.achievement(&offer.achievement_id).await? {
            Some(a) => {
                let mut names: Vec<OfferedName> = Vec::new();
                for language in ["en", "ja"] {
                    let shown = crate::domain::achievements::localized(&a, language);
                    if shown.language == language {
                        names.push(OfferedName {
                            locale: language.to_owned(),
                            name: shown.name.to_owned(),
                        });
                    }
                }
                names
            }
            None => Vec::new(),
        };
        Ok(CredentialOffer {
            badge_names,
            credential_issuer: self.issuer_id.clone(),
            credential_configuration_ids: crate::domain::issuance::CONFIGURATIONS
                .iter()
                .map(|id| (*id).to_owned())
                .collect(),
            grants: Some(Grants {
                // The authorization code flow identifies the person by this document's
                // link; an offer with a PIN keeps to the pre-authorized code and its PIN.
                authorization_code: offer
                    .tx_code_hash
                    .is_none()
                    .then(|| AuthorizationCodeGrant {
                        issuer_state: Some(self.issuer_state(&offer.id)),
                        authorization_server: None,
                    }),
                pre_authorized_code: Some(PreAuthorizedCodeGrant {
                    pre_authorized_code: PreAuthorizedCode(self.pre_authorized_code(&offer.id)),
                    tx_code,
                    authorization_server: None,
                }),
            }),
        })
    }

    /// The token endpoint for the pre-authorized code grant: checks the code and PIN and
    /// redeems the code exactly once (one conditional update). `dpop_jkt`: the key of the
    /// request's checked DPoP proof, which the access token is then bound to.
    pub async fn redeem(
        &self,
        form: &TokenRequest,
        dpop_jkt: Option<&str>,
    ) -> Result<TokenResponse, AppError> {
        let now = self.clock.now();
        if form.grant_type != PRE_AUTHORIZED_GRANT {
            return Err(AppError::oauth(
                "unsupported_grant_type",
                format!("grant_type must be {PRE_AUTHORIZED_GRANT}"),
            ));
        }
        let code = form
            .pre_authorized_code
            .as_ref()
            .map(PreAuthorizedCode::as_str)
            .ok_or_else(|| AppError::oauth("invalid_request", "pre-authorized_code is missing"))?;
        let offer = self
            .store
            .offer_by_code(&protocol::b64::sha256(code))
            .await?
            .ok_or_else(|| AppError::oauth("invalid_grant", "pre-authorized_code is unknown"))?;
        if offer.redeemed_at.is_some() {
            return Err(AppError::oauth(
                "invalid_grant",
                "pre-authorized_code was already used",
            ));
        }
        if offer.expires_at <= now {
            return Err(AppError::oauth(
                "invalid_grant",
                "pre-authorized_code has expired",
            ));
        }
        match (&offer.tx_code_hash, form.tx_code.as_deref()) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(AppError::oauth(
                    "invalid_request",
                    "tx_code sent but the offer has none",
                ));
            }
            (Some(_), None) => {
                return Err(AppError::oauth(
                    "invalid_request",
                    "tx_code is required by this offer",
                ));
            }
            (Some(expected), Some(given)) => {
                if offer.tx_code_failures >= MAX_TX_CODE_FAILURES {
                    return Err(AppError::oauth(
                        "invalid_grant",
                        "offer locked after too many wrong tx_code attempts; ask the issuer to re-issue it",
                    ));
                }
                if !protocol::secret::constant_time_eq(
                    expected.as_bytes(),
                    tx_code_hash(&offer.id, given).as_bytes(),
                ) {
                    let failures = self.store.record_tx_code_failure(&offer.id).await?;
                    let left = (MAX_TX_CODE_FAILURES - failures).max(0);
                    return Err(AppError::oauth(
                        "invalid_grant",
                        format!("tx_code is wrong ({left} attempts left)"),
                    ));
                }
            }
        }
        let token = protocol::b64::random(32);
        let expires_in = self.config.token_ttl;
        let redeemed = self
            .store
            .redeem_offer(
                &offer.id,
                &protocol::b64::sha256(&token),
                now + expires_in,
                now,
                MAX_TX_CODE_FAILURES,
                dpop_jkt,
            )
            .await?;
        if !redeemed {
            return Err(AppError::oauth(
                "invalid_grant",
                "pre-authorized_code was already used",
            ));
        }
        Ok(TokenResponse {
            access_token: token,
            token_type: match dpop_jkt {
                Some(_) => protocol::oauth::TOKEN_TYPE_DPOP.into(),
                None => protocol::oauth::TOKEN_TYPE_BEARER.into(),
            },
            expires_in: Some(u64::try_from(expires_in).unwrap_or(0)),
            scope: None,
            refresh_token: None,
            authorization_details: None,
        })
    }
}

fn tx_code_hash(offer_id: &str, pin: &str) -> String {
    protocol::b64::sha256(format!("{offer_id}:{pin}"))
}

/// A recipient's name and address, checked.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub name: String,
    pub email: String,
}

impl Recipient {
    /// Trims both; the name must not be empty and the address must look like one.
    pub fn check(name: &str, email: &str) -> Result<Recipient, AppError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(AppError::bad_request("recipient_name", "must not be empty"));
        }
        if name.chars().count() > 200 {
            return Err(AppError::bad_request(
                "recipient_name",
                "is longer than 200 characters",
            ));
        }
        let email = email.trim();
        if !is_plausible_email(email) {
            return Err(AppError::bad_request(
                "recipient_email",
                "is not an email address",
            ));
        }
        Ok(Recipient {
            name: name.to_owned(),
            email: email.to_owned(),
        })
    }
}

pub fn is_plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"".contains(c))
        && s.len() <= 254
}
