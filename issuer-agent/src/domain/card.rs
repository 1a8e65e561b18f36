//! Card credentials: the small SD-JWT a holder prints in a business card's QR code so that
//! a verifier can check the badge with no network ([`protocol::offline_card`]).
//!
//! The holder sends the badge's SD-JWT VC with a KB-JWT (`aud` [`App::card_audience`],
//! `nonce` [`CARD_NONCE`], made within [`CARD_MAX_AGE`] seconds) so only the holder of the
//! badge's key gets a card for it. The issuer checks its own signature, the key binding and
//! the badge's status (a revoked or suspended badge gets no card), then signs a card with
//! its ES256 key (`kid` `<did>#key-1`, published in `/.well-known/jwt-vc-issuer`) holding
//! the achievement's and the issuer's names, the recipient's name as a disclosure, the
//! badge's `exp` and the badge's own status list entry: revoking the badge revokes the card.
//! Each card is appended to the transparency log (an `Entry::Card` with the digest of its
//! issuer-signed JWT and the badge's status reference) before it is delivered.

use protocol::keys::Signer;
use protocol::offline_card::{self, CardClaims};
use protocol::sd_jwt::{self, SdJwt};
use protocol::tlog::entry::{Entry, StatusRef};
use serde_json::Value;

use super::issuance::STATUS_LIST_ID;
use crate::App;
use crate::error::AppError;

/// The KB-JWT `nonce` of a card request: fixed, as the KB-JWT's `iat`, `aud` and
/// `sd_hash` already bind it to this issuer, this badge and the last few minutes.
pub const CARD_NONCE: &str = "akashi-card";
/// How old a card request's KB-JWT may be, in seconds.
pub const CARD_MAX_AGE: i64 = 300;
/// The largest card request body.
pub const CARD_BODY_LIMIT: usize = 256 * 1024;

fn refused(detail: impl Into<String>) -> AppError {
    AppError::BadRequest {
        field: "presentation".into(),
        detail: detail.into(),
    }
}

impl App {
    /// The `aud` of a card request's KB-JWT: `<issuer>/card`.
    pub fn card_audience(&self) -> String {
        format!("{}/card", self.issuer_id)
    }

    /// A card credential (compact SD-JWT with its one disclosure) for `presentation`, an
    /// SD-JWT VC this issuer issued, presented with a KB-JWT; every refusal names its check.
    pub async fn card_credential(&self, presentation: &str, now: i64) -> Result<String, AppError> {
        let sd = SdJwt::parse(presentation).map_err(|e| refused(e.to_string()))?;
        let jws = sd.issuer_jwt().map_err(|e| refused(e.to_string()))?;
        // Our badges name the issuer URL, or its did:web under ISSUER_SD_JWT_DID_WEB.
        if !matches!(jws.claim_str("iss"), Some(iss) if iss == self.issuer_id || iss == self.did) {
            return Err(refused(format!(
                "`iss` {:?} is not this issuer ({} or {})",
                jws.claim_str("iss"),
                self.issuer_id,
                self.did
            )));
        }
        let key = self
            .x509
            .identity
            .key
            .public_jwk()
            .verifying_key()
            .map_err(|e| AppError::Internal(format!("the issuer's own key: {e}")))?;
        let revealed = sd
            .verify(
                &key,
                &[sd_jwt::TYP_DC_SD_JWT, sd_jwt::TYP_VC_SD_JWT],
                now,
                60,
            )
            .map_err(|e| refused(format!("the badge: {e}")))?;
        sd.verify_key_binding(
            &revealed,
            &self.card_audience(),
            CARD_NONCE,
            now,
            CARD_MAX_AGE,
            60,
        )
        .map_err(|e| refused(format!("key binding: {e}")))?;
        let c = &Value::Object(revealed.claims.clone());
        let idx = c
            .pointer("/status/status_list/idx")
            .and_then(Value::as_i64)
            .ok_or_else(|| refused("the badge has no status list entry"))?;
        let uri = c
            .pointer("/status/status_list/uri")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if uri != self.status_list_uri(STATUS_LIST_ID) {
            return Err(refused(format!("status list {uri:?} is not this issuer's")));
        }
        if let Some((_, status)) = self
            .store
            .non_valid_statuses(STATUS_LIST_ID)
            .await?
            .into_iter()
            .find(|(i, _)| *i == idx)
        {
            return Err(refused(format!(
                "the badge is {}",
                super::status_name(status)
            )));
        }
        let text = |p: &str| c.pointer(p).and_then(Value::as_str).map(str::to_owned);
        let holder_name = c
            .pointer("/ld/credentialSubject/identifier")
            .and_then(Value::as_array)
            .and_then(|ids| {
                ids.iter().find(|id| {
                    id.get("identityType").and_then(Value::as_str) == Some("name")
                        && id.get("hashed").and_then(Value::as_bool) != Some(true)
                })
            })
            .and_then(|id| id.get("identityHash"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let claims = CardClaims {
            iss: self.issuer_id.clone(),
            iat: now,
            exp: c.get("exp").and_then(Value::as_i64),
            status_uri: uri.to_owned(),
            status_idx: idx,
            holder_name,
            badge: text("/ld/credentialSubject/achievement/name")
                .ok_or_else(|| refused("the badge has no achievement name"))?,
            issuer_name: text("/ld/issuer/name").unwrap_or_else(|| self.issuer_id.clone()),
        };
        let card = offline_card::issue(&claims, &self.kid, &self.es256)
            .map_err(|e| AppError::Internal(format!("signing the card: {e}")))?
            .serialize();
        // Logged before it is delivered, as every credential this issuer signs: a card
        // minted with a stolen key shows in the log, or fails the verifiers' check.
        let jwt = card.split('~').next().unwrap_or(&card);
        let entry = Entry::Card {
            jwt: protocol::b64::sha256(jwt),
            status: StatusRef {
                list: STATUS_LIST_ID,
                index: idx,
            },
            at: now,
        };
        self.store
            .append_tlog_credential(&entry.to_bytes(), &protocol::b64::sha256(jwt), now)
            .await?;
        Ok(card)
    }

    /// The status lists this issuer publishes (Token Status List "status list
    /// aggregation"): the one list every SD-JWT VC refers to.
    pub fn status_lists(&self) -> Vec<String> {
        vec![self.status_list_uri(STATUS_LIST_ID)]
    }
}
