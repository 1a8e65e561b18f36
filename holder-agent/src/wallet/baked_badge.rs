//! The baked badge of a public page (Open Badges 3.0 §5.3 "baking"; `spec/ob3.md` §4): the
//! issuer's badge image with the `ldp_vc` received with the badge embedded, a PNG in an
//! `iTXt` chunk keyed `openbadgecredential`, an SVG in an `<openbadges:credential>` element
//! ([`protocol::baked`]).
//!
//! The image is the achievement's (`credentialSubject.achievement.image`), as kept with the
//! badge when it was received ([`super::badge_image`]). What is served:
//!
//! * `badge.png`: the issuer's PNG, baked. When the issuer's image is an SVG or there is
//!   none, the wallet cannot draw it as a PNG: the PNG is then the QR code of the public
//!   page, baked, so the download still carries the credential and leads to the page.
//! * `badge.svg`: the issuer's SVG, baked; a PNG image is wrapped in an SVG (as a `data:`
//!   image) and baked; without an image, a plain generated SVG with the badge's name.
//!
//! Without an `ldp_vc` (an issuer that offered only the SD-JWT VC), or with one that would
//! show more than the holder chose for the page (the recipient's email identifier, say:
//! [`super::privacy`]), nothing is baked (the SD-JWT VC is not an OB 3.0 baking format): the
//! image is served as it is, carrying nothing about the recipient.

use base64::Engine;
use serde_json::Value;

use super::Account;
use super::AppError;
use super::card::{ImageType, xml_escape};
use crate::App;

/// Pixels per QR module of the fallback PNG.
const QR_SCALE: u32 = 8;

/// An image as fetched: PNG bytes or SVG text.
enum Image {
    Png(Vec<u8>),
    Svg(String),
}

impl App {
    /// The baked badge of the page `slug` (SVG when `svg`, else PNG), for `viewer`; `None`
    /// when the page is unknown or private to this viewer.
    pub async fn baked_badge(
        &self,
        slug: &str,
        viewer: Option<&Account>,
        svg: bool,
    ) -> Result<Option<Vec<u8>>, AppError> {
        let Some((row, page)) = self.visible_page(slug, viewer).await? else {
            return Ok(None);
        };
        // Baked only with an `ldp_vc` that shows no more than the holder chose.
        let vc = self.publishable_ldp_vc(&row, &page).await?;
        let claims: Value = serde_json::from_str(&row.claims)
            .map_err(|e| AppError::Internal(format!("stored claims of {}: {e}", row.id)))?;
        let achievement = vc
            .as_ref()
            .and_then(|v| v.pointer("/credentialSubject/achievement"))
            .or_else(|| claims.pointer("/ld/credentialSubject/achievement"))
            .cloned()
            .unwrap_or(Value::Null);
        let name = achievement
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("Open Badge")
            .to_owned();
        // The image kept with the badge when it was received (checked against its digest
        // and the size limits: [`super::badge_image`]).
        let image = self
            .badge_image_of(&row.id, &claims)
            .await
            .and_then(|i| match i.kind() {
                ImageType::Png => Some(Image::Png(i.bytes().to_vec())),
                ImageType::Svg => String::from_utf8(i.bytes().to_vec()).ok().map(Image::Svg),
            });
        let credential = vc.map(|v| v.to_string());
        let baked = if svg {
            let text = match image {
                Some(Image::Svg(text)) => text,
                Some(Image::Png(png)) => wrap_png(&png, &name),
                None => generated_svg(&name),
            };
            match &credential {
                Some(vc) => protocol::baked::bake_svg(&text, vc)
                    .map_err(|e| AppError::Internal(format!("baking the SVG: {e}")))?,
                None => text,
            }
            .into_bytes()
        } else {
            let png = match image {
                Some(Image::Png(png)) => png,
                _ => protocol::qr::Qr::new(&self.public_url(slug))
                    .map_err(|e| AppError::Internal(format!("QR code: {e}")))?
                    .png(QR_SCALE),
            };
            match &credential {
                Some(vc) => protocol::baked::bake_png(&png, vc)
                    .map_err(|e| AppError::Internal(format!("baking the PNG: {e}")))?,
                None => png,
            }
        };
        Ok(Some(baked))
    }
}

/// A PNG as an SVG image, 256 × 256.
fn wrap_png(png: &[u8], name: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"256\" height=\"256\" viewBox=\"0 0 256 256\">\
         <title>{}</title><image width=\"256\" height=\"256\" href=\"data:image/png;base64,{}\"/></svg>",
        xml_escape(name),
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// A plain badge when the issuer gave no image: a disc with the badge's name.
fn generated_svg(name: &str) -> String {
    let name = xml_escape(name);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"256\" height=\"256\" viewBox=\"0 0 256 256\">\
         <title>{name}</title><circle cx=\"128\" cy=\"128\" r=\"120\" fill=\"#1d3557\"/>\
         <text x=\"128\" y=\"136\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"18\" fill=\"#fff\">{name}</text></svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A badge name is the issuer's text: characters XML 1.0 forbids (control characters)
    /// are dropped, so the SVG stays well-formed and still unbakes.
    #[test]
    fn a_name_with_control_characters_still_makes_a_well_formed_svg() {
        let svg = generated_svg("Badge\u{1}\u{8} 'one'");
        assert!(!svg.contains('\u{1}') && !svg.contains('\u{8}'), "{svg:?}");
        let vc = r#"{"type":["VerifiableCredential","OpenBadgeCredential"]}"#;
        let baked = protocol::baked::bake_svg(&svg, vc).unwrap();
        assert_eq!(protocol::baked::unbake_svg(&baked).unwrap(), vc);
    }

    #[test]
    fn generated_images_escape_the_name_and_bake() {
        let svg = generated_svg("<script>alert(1)</script> & co");
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
        let vc = r#"{"type":["VerifiableCredential","OpenBadgeCredential"]}"#;
        let baked = protocol::baked::bake_svg(&svg, vc).unwrap();
        assert_eq!(protocol::baked::unbake_svg(&baked).unwrap(), vc);

        let png = protocol::qr::Qr::new("https://wallet.example/p/x")
            .unwrap()
            .png(2);
        let wrapped = wrap_png(&png, "A \"badge\"");
        assert!(wrapped.contains("A &quot;badge&quot;"));
    }
}
