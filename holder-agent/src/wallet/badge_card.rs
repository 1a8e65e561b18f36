//! From a held credential to a [`Card`]: the holder's name, the badge's name and issuer,
//! its image and what the QR code carries: the public page's URL, or (the holder's choice,
//! [`QrChoice::Offline`]) the verifier's offline check page with a card credential in its
//! fragment ([`protocol::offline_card`]), which the issuer signs for this badge on request.

use protocol::keys::Signer;
use protocol::offline_card;
use protocol::sd_jwt::{KeyBinding, SdJwt};
use serde_json::Value;

use super::AppError;
use super::card::{Card, Lang};
use crate::store::CredentialRow;
use crate::{Account, App};

/// Why a held badge has no card.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CardRefused {
    #[error("this badge has no public page: make it public first, then print its card")]
    NotPublic,
    #[error("this wallet has no offline check page configured (WALLET_OFFLINE_CHECK_URL)")]
    NoOfflineCheck,
    #[error("the issuer did not sign a card for this badge: {0}")]
    Issuer(String),
}

/// What the card's QR code carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QrChoice {
    /// The badge's public page (the default).
    #[default]
    Page,
    /// The verifier's offline check page with the card credential in its fragment.
    Offline,
}

impl App {
    /// The card of credential `id` of `account`: `Ok(None)` when the account holds no such
    /// credential.
    pub async fn badge_card(
        &self,
        account: &Account,
        id: &str,
        lang: Lang,
        qr: QrChoice,
    ) -> Result<Option<Result<Card, CardRefused>>, AppError> {
        let Some(row) = self.store.credential_of(&account.id, id).await? else {
            return Ok(None);
        };
        let public_url = match qr {
            QrChoice::Page => match public_url(self, &row).await? {
                Some(url) => url,
                None => return Ok(Some(Err(CardRefused::NotPublic))),
            },
            QrChoice::Offline => match self.offline_qr_text(account, &row).await? {
                Ok(text) => text,
                Err(refused) => return Ok(Some(Err(refused))),
            },
        };
        let view = super::credential_view(&row)?;
        let claims: Value = serde_json::from_str(&row.claims)
            .map_err(|e| AppError::Internal(format!("stored claims of {}: {e}", row.id)))?;
        Ok(Some(Ok(Card {
            holder_name: view.recipient_name.unwrap_or_else(|| account.name.clone()),
            badge_name: view.achievement_name.unwrap_or(view.vct),
            issuer_name: view.issuer_name.unwrap_or(view.issuer),
            badge_image: self.badge_image_of(&row.id, &claims).await,
            public_url,
            lang,
        })))
    }

    /// The share preview image (1200 × 630 PNG: the `og:image` of the public page) of the
    /// badge at `slug`, built from what the public page shows: the recipient's name only
    /// when the holder chose to disclose it. `Ok(None)` when the page is not visible.
    pub async fn share_image(
        &self,
        slug: &str,
        viewer: Option<&Account>,
        lang: Lang,
        now: i64,
    ) -> Result<Option<Vec<u8>>, AppError> {
        let Some(badge) = self.public_badge(slug, viewer, now).await? else {
            return Ok(None);
        };
        let c = &badge.claims;
        let s = |p: &str| c.pointer(p).and_then(Value::as_str).map(str::to_owned);
        let card = Card {
            holder_name: super::recipient_name(c).unwrap_or_default(),
            badge_name: s("/ld/credentialSubject/achievement/name")
                .unwrap_or_else(|| "Open Badge".to_owned()),
            issuer_name: s("/ld/issuer/name")
                .or(badge.issuer_display_name.clone())
                .unwrap_or_else(|| badge.issuer.clone()),
            badge_image: self.badge_image_of(&badge.credential_id, c).await,
            public_url: self.public_url(slug),
            lang,
        };
        super::card::share_image_png(&card)
            .map(Some)
            .map_err(|e| AppError::Internal(format!("share image: {e}")))
    }
}

impl App {
    /// The offline QR code's text: `<offline check page>#` + the packed card credential
    /// with its `name` disclosed (the card prints the name; a QR that did not prove it
    /// would prove less than the card says). The card credential is asked of the issuer
    /// (`POST <issuer>/card`) with the badge presented under a KB-JWT for `<issuer>/card`:
    /// every disclosure, as the issuer made them all.
    async fn offline_qr_text(
        &self,
        account: &Account,
        row: &CredentialRow,
    ) -> Result<Result<String, CardRefused>, AppError> {
        let Some(page) = self.config.offline_check_url.as_deref() else {
            return Ok(Err(CardRefused::NoOfflineCheck));
        };
        let sd = SdJwt::parse(&row.raw).map_err(|e| {
            AppError::Internal(format!("stored credential {} does not parse: {e}", row.id))
        })?;
        let issuer = row.issuer.trim_end_matches('/');
        let aud = format!("{issuer}/card");
        let all: Vec<usize> = (0..sd.disclosures.len()).collect();
        let presentation = sd.present(
            &all,
            Some(KeyBinding {
                aud: &aud,
                nonce: CARD_NONCE,
                iat: self.clock.now(),
                signer: &account.key as &dyn Signer,
                log_entry: None,
            }),
        );
        let answer = match self
            .fetcher
            .post_bytes(
                &aud,
                "application/dc+sd-jwt",
                &[],
                presentation.serialize().into_bytes(),
            )
            .await
        {
            Ok(a) => a,
            Err(e) => return Ok(Err(CardRefused::Issuer(e.to_string()))),
        };
        let body = String::from_utf8_lossy(&answer.body).into_owned();
        if answer.status != 200 {
            let detail: String = body.chars().take(300).collect();
            return Ok(Err(CardRefused::Issuer(format!(
                "HTTP {}: {detail}",
                answer.status
            ))));
        }
        let card = match SdJwt::parse(&body) {
            Ok(c) => c,
            Err(e) => return Ok(Err(CardRefused::Issuer(format!("the card: {e}")))),
        };
        match card.issuer_jwt() {
            Ok(jws) if jws.typ() == Some(offline_card::TYP_CARD) => {}
            _ => {
                return Ok(Err(CardRefused::Issuer(format!(
                    "the answer is not a card credential ({})",
                    offline_card::TYP_CARD
                ))));
            }
        }
        let keep: Vec<usize> = card
            .disclosures
            .iter()
            .enumerate()
            .filter(|(_, d)| d.name.as_deref() == Some("name"))
            .map(|(i, _)| i)
            .collect();
        let packed = match offline_card::pack(&card.present(&keep, None)) {
            Ok(p) => p,
            Err(e) => return Ok(Err(CardRefused::Issuer(format!("packing the card: {e}")))),
        };
        Ok(Ok(format!(
            "{}#{}",
            page.split('#').next().unwrap_or(page),
            protocol::base45::to_fragment(&packed)
        )))
    }
}

/// The KB-JWT `nonce` of a card request (the issuer's `domain::card::CARD_NONCE`).
pub const CARD_NONCE: &str = "akashi-card";

/// Where the OB 3.0 achievement's image is (an `Image` object's `id`, or a plain URL).
pub fn image_href(claims: &Value) -> Option<String> {
    [
        "/ld/credentialSubject/achievement/image/id",
        "/ld/credentialSubject/achievement/image",
        "/ld/image/id",
        "/ld/image",
    ]
    .iter()
    .find_map(|p| claims.pointer(p).and_then(Value::as_str))
    .map(str::to_owned)
}

/// The badge's public page, which the card's QR code encodes; `None` while the badge is
/// private (a card would point at a page nobody can open), so [`App::badge_card`]
/// refuses with [`CardRefused::NotPublic`].
async fn public_url(app: &App, row: &CredentialRow) -> Result<Option<String>, AppError> {
    let page = app.page_of(row, app.clock.now()).await?;
    Ok(page.is_public().then(|| app.public_url(&page.slug)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_from_an_image_object_or_a_url() {
        let obj = serde_json::json!({"ld": {"credentialSubject": {"achievement": {
            "image": {"id": "data:image/png;base64,AAAA", "type": "Image"}}}}});
        assert_eq!(
            image_href(&obj).as_deref(),
            Some("data:image/png;base64,AAAA")
        );
        let plain = serde_json::json!({"ld": {"credentialSubject": {"achievement": {
            "image": "https://example.org/b.png"}}}});
        assert_eq!(
            image_href(&plain).as_deref(),
            Some("https://example.org/b.png")
        );
        assert_eq!(image_href(&serde_json::json!({"ld": {}})), None);
    }
}
