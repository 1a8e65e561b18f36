//! From a held credential to a [`Card`]: the holder's name, the badge's name and issuer,
//! its image and the public page the QR code leads to.

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
}

impl App {
    /// The card of credential `id` of `account`: `Ok(None)` when the account holds no such
    /// credential.
    pub async fn badge_card(
        &self,
        account: &Account,
        id: &str,
        lang: Lang,
    ) -> Result<Option<Result<Card, CardRefused>>, AppError> {
        let Some(row) = self.store.credential_of(&account.id, id).await? else {
            return Ok(None);
        };
        let Some(public_url) = public_url(self, &row).await? else {
            return Ok(Some(Err(CardRefused::NotPublic)));
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
