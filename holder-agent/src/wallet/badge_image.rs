//! A held badge's image (the OB 3.0 achievement's `image`), fetched once when the badge is
//! received, checked, and kept with the badge: the wallet's pages, the business card, the
//! share image and the baked downloads all use the kept copy, so the issuer's server is
//! asked once and an image changed after issuance is never shown.
//!
//! What is checked, in order, each refusal a precise [`ImageError`]:
//!
//! * the URL: `data:` is decoded here; `https:` (and `http:` on a loopback host only when
//!   the wallet is configured for development, `WALLET_ALLOW_LOOPBACK`, the launcher's
//!   setting) is fetched with the SSRF-guarded client ([`kit::fetch`]), which refuses
//!   private addresses and redirects and reads at most [`MAX_IMAGE_BYTES`];
//! * the digest: when the credential lists the image in `relatedResource` with a
//!   `digestSRI` (VC Data Model 2.0 §5.3; the issuer agent does), the bytes must match it;
//! * the size and pixels: PNG or SVG only, at most [`MAX_IMAGE_BYTES`]; a PNG at most
//!   [`MAX_IMAGE_PIXELS`] a side (read from its header, so a small file that would
//!   decompress to a huge bitmap is refused before any decoding) and it must decode within
//!   that; an SVG must parse with the renderer's safe options (no files, no network, the
//!   XML parser's entity limits stop a "billion laughs").

use serde_json::Value;

use super::AppError;
use super::card::{self, BadgeImage, CardError, ImageType, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS};
use crate::App;
use crate::store::{BadgeImageRow, StoreError};
use kit::fetch::FetchError;

/// Why a badge's image was not kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    #[error("the badge names no image")]
    NoImage,
    #[error(
        "badge image {url}: only https:, data: (and http: on this machine in development) are fetched"
    )]
    Scheme { url: String },
    #[error("badge image {url} was not fetched: {source}")]
    Fetch {
        url: String,
        #[source]
        source: FetchError,
    },
    #[error("badge image {url} does not match the credential's digest: {detail}")]
    Digest { url: String, detail: String },
    #[error("badge image {url} is larger than the {MAX_IMAGE_BYTES} bytes accepted")]
    TooLarge { url: String },
    #[error(
        "badge image {url} is a PNG of {width} × {height} pixels; at most {MAX_IMAGE_PIXELS} a side are accepted"
    )]
    TooManyPixels {
        url: String,
        width: u32,
        height: u32,
    },
    #[error("badge image {url} is not a usable PNG or SVG: {source}")]
    Unusable {
        url: String,
        #[source]
        source: CardError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a URL is shown in errors and kept as the source: a `data:` URI by its start only.
fn shown(url: &str) -> String {
    if url.starts_with("data:") {
        let head: String = url.chars().take(32).collect();
        format!("{head}…")
    } else {
        url.to_owned()
    }
}

/// The `digestSRI` the credential gives for `url` (`relatedResource`), if any.
fn digest_of(claims: &Value, url: &str) -> Option<String> {
    let related = claims
        .pointer("/ld/relatedResource")
        .or_else(|| claims.get("relatedResource"))?;
    let entries: Vec<&Value> = match related {
        Value::Array(items) => items.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => return None,
    };
    entries
        .into_iter()
        .find(|e| e.get("id").and_then(Value::as_str) == Some(url))
        .and_then(|e| e.get("digestSRI").and_then(Value::as_str))
        .map(str::to_owned)
}

/// Checks fetched (or decoded) bytes: the digest when the credential gives one, then the
/// size, type and pixel limits.
pub fn check_image(
    url: &str,
    media_type: &str,
    bytes: Vec<u8>,
    digest: Option<&str>,
) -> Result<BadgeImage, ImageError> {
    let shown_url = shown(url);
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ImageError::TooLarge { url: shown_url });
    }
    if let Some(sri) = digest {
        protocol::verify::image_digest::matches_sri(sri, &bytes).map_err(|detail| {
            ImageError::Digest {
                url: shown_url.clone(),
                detail,
            }
        })?;
    }
    // A PNG's size comes from its header, before anything is decoded.
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        && let Ok((width, height)) = card::png_size(&bytes)
        && (width > MAX_IMAGE_PIXELS || height > MAX_IMAGE_PIXELS)
    {
        return Err(ImageError::TooManyPixels {
            url: shown_url,
            width,
            height,
        });
    }
    let unusable = |source| ImageError::Unusable {
        url: shown_url.clone(),
        source,
    };
    let image = BadgeImage::new(media_type, bytes).map_err(unusable)?;
    match image.kind() {
        ImageType::Png => card::raster::check_png(image.bytes()).map_err(unusable)?,
        ImageType::Svg => card::raster::check_svg(image.bytes()).map_err(unusable)?,
    }
    Ok(image)
}

impl App {
    /// Fetches (or decodes) and checks the image the badge with `claims` names.
    pub async fn fetch_badge_image(&self, claims: &Value) -> Result<BadgeImage, ImageError> {
        let url = super::badge_card::image_href(claims).ok_or(ImageError::NoImage)?;
        if url.starts_with("data:") {
            let (media_type, bytes) =
                card::decode_data_uri(&url).map_err(|source| ImageError::Unusable {
                    url: shown(&url),
                    source,
                })?;
            return check_image(&url, &media_type, bytes, None);
        }
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ImageError::Scheme { url: shown(&url) });
        }
        // The guard decides: http: and loopback only in development, never a private
        // address, never a redirect, never more than the image limit.
        let fetched = self
            .verify_sources
            .resources
            .get(&url, "image/png, image/svg+xml")
            .await
            .map_err(|source| match source {
                FetchError::TooLarge { .. } => ImageError::TooLarge { url: url.clone() },
                source => ImageError::Fetch {
                    url: url.clone(),
                    source,
                },
            })?;
        let media_type = fetched.content_type.clone().unwrap_or_default();
        check_image(
            &url,
            &media_type,
            fetched.body.to_vec(),
            digest_of(claims, &url).as_deref(),
        )
    }

    /// Fetches, checks and keeps the image of held credential `credential_id`.
    pub async fn keep_badge_image(
        &self,
        credential_id: &str,
        claims: &Value,
        now: i64,
    ) -> Result<BadgeImage, ImageError> {
        let image = self.fetch_badge_image(claims).await?;
        let source = super::badge_card::image_href(claims)
            .map(|u| shown(&u))
            .unwrap_or_default();
        self.store
            .insert_badge_image(&BadgeImageRow {
                credential_id: credential_id.to_owned(),
                media_type: image.kind().media_type().to_owned(),
                bytes: image.bytes().to_vec(),
                source,
                fetched_at: now,
            })
            .await?;
        Ok(image)
    }

    /// The kept image of held credential `credential_id`; a badge received before images
    /// were kept gets its image fetched and kept now. `None` when the badge has no image
    /// or it was refused (logged with the reason).
    pub async fn badge_image_of(&self, credential_id: &str, claims: &Value) -> Option<BadgeImage> {
        match self.store.badge_image(credential_id).await {
            Ok(Some(row)) => match BadgeImage::new(&row.media_type, row.bytes) {
                Ok(image) => return Some(image),
                Err(e) => tracing::warn!(credential_id, error = %e, "kept badge image unusable"),
            },
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(credential_id, error = %e, "kept badge image not read");
                return None;
            }
        }
        match self
            .keep_badge_image(credential_id, claims, self.clock.now())
            .await
        {
            Ok(image) => Some(image),
            Err(ImageError::NoImage) => None,
            Err(e) => {
                tracing::warn!(credential_id, error = %e, "badge image refused");
                None
            }
        }
    }

    /// The image of the signed-in holder's credential `id`: `Ok(None)` when the account
    /// holds no such credential or it has no usable image.
    pub async fn held_badge_image(
        &self,
        account: &super::Account,
        id: &str,
    ) -> Result<Option<BadgeImage>, AppError> {
        let Some(row) = self.store.credential_of(&account.id, id).await? else {
            return Ok(None);
        };
        let claims: Value = serde_json::from_str(&row.claims)
            .map_err(|e| AppError::Internal(format!("stored claims of {}: {e}", row.id)))?;
        Ok(self.badge_image_of(&row.id, &claims).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    /// `sha256-<base64>` of `bytes` (SRI uses standard base64).
    fn sri(bytes: &[u8]) -> String {
        let raw = protocol::b64::decode(&protocol::b64::sha256(bytes)).unwrap();
        format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    fn png() -> Vec<u8> {
        protocol::qr::Qr::new("badge art").unwrap().png(2)
    }

    /// A PNG whose header says `w` × `h` with one tiny compressed row of zeros: a few dozen
    /// bytes that would decompress to gigabytes.
    pub(crate) fn bomb_png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(std::io::Cursor::new(&mut out), 1, 1);
        encoder.set_color(png::ColorType::Rgba);
        encoder
            .write_header()
            .unwrap()
            .write_image_data(&[0, 0, 0, 0])
            .unwrap();
        // Rewrite IHDR's width and height (and its CRC).
        out[16..20].copy_from_slice(&w.to_be_bytes());
        out[20..24].copy_from_slice(&h.to_be_bytes());
        let crc = crc32(&out[12..29]);
        out[29..33].copy_from_slice(&crc.to_be_bytes());
        out
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn a_matching_digest_is_accepted_and_a_wrong_one_refused() {
        let art = png();
        let url = "https://issuer.example/a/image";
        assert!(check_image(url, "image/png", art.clone(), Some(&sri(&art))).is_ok());
        assert!(check_image(url, "image/png", art.clone(), None).is_ok());
        let err = check_image(url, "image/png", art, Some(&sri(b"other bytes"))).unwrap_err();
        assert!(matches!(err, ImageError::Digest { .. }), "{err:?}");
        assert!(
            err.to_string().starts_with(
                "badge image https://issuer.example/a/image does not match the credential's digest"
            ),
            "{err}"
        );
    }

    #[test]
    fn oversize_and_decompression_bombs_are_refused() {
        let url = "https://issuer.example/a/image";
        let big = vec![0u8; MAX_IMAGE_BYTES + 1];
        assert!(matches!(
            check_image(url, "image/png", big, None),
            Err(ImageError::TooLarge { .. })
        ));
        let bomb = bomb_png(100_000, 100_000);
        assert!(bomb.len() < 200, "{} bytes", bomb.len());
        let err = check_image(url, "image/png", bomb, None).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::TooManyPixels {
                    width: 100_000,
                    height: 100_000,
                    ..
                }
            ),
            "{err:?}"
        );
        // Within the side limit but lying about its data: it must decode, and does not.
        let liar = bomb_png(4000, 4000);
        let err = check_image(url, "image/png", liar, None).unwrap_err();
        assert!(matches!(err, ImageError::Unusable { .. }), "{err:?}");
        // An SVG "billion laughs" does not parse.
        let mut laughs = String::from("<?xml version=\"1.0\"?><!DOCTYPE svg [<!ENTITY a \"lol\">");
        let mut prev = 'a';
        for e in 'b'..='k' {
            laughs.push_str(&format!(
                "<!ENTITY {e} \"{}\">",
                format!("&{prev};").repeat(10)
            ));
            prev = e;
        }
        laughs.push_str("]><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><text>&k;</text></svg>");
        let err = check_image(url, "image/svg+xml", laughs.into_bytes(), None).unwrap_err();
        assert!(matches!(err, ImageError::Unusable { .. }), "{err:?}");
        // Neither PNG nor SVG.
        let err = check_image(url, "text/html", b"<html>".to_vec(), None).unwrap_err();
        assert!(err.to_string().contains("not a usable PNG or SVG"), "{err}");
    }

    /// The production configuration (no `WALLET_ALLOW_LOOPBACK`): an image on a private or
    /// loopback address, or over http, is refused by the guarded client before any
    /// connection; in development, http on loopback is let through to the fetch.
    #[tokio::test]
    async fn private_addresses_are_refused_in_production() {
        let dir = tempfile::tempdir().unwrap();
        let image = |url: &str| {
            serde_json::json!({"ld": {"credentialSubject": {"achievement": {
                "image": {"id": url, "type": "Image"}}}}})
        };
        for (allow_loopback, name) in [(false, "prod"), (true, "dev")] {
            let db = format!("sqlite://{}/{name}.db", dir.path().display());
            let mut config =
                crate::Config::for_dir(dir.path().join(name), "https://wallet.example".into(), db);
            config.allow_loopback = allow_loopback;
            let (app, _) = App::open(config, protocol::clock::Clock::system())
                .await
                .unwrap();
            for url in [
                "https://10.0.0.7/badge.png",
                "https://192.168.1.1/badge.png",
                "https://[fd00::1]/badge.png",
                "https://169.254.169.254/latest/meta-data",
            ] {
                let err = app.fetch_badge_image(&image(url)).await.unwrap_err();
                assert!(
                    matches!(
                        &err,
                        ImageError::Fetch {
                            source: FetchError::ForbiddenAddress { .. },
                            ..
                        }
                    ),
                    "{name} {url}: {err:?}"
                );
                assert!(err.to_string().contains("forbidden address"), "{err}");
            }
            let err = app
                .fetch_badge_image(&image("http://127.0.0.1:9/badge.png"))
                .await
                .unwrap_err();
            if allow_loopback {
                // Let through to the connection, which finds nothing listening.
                assert!(
                    matches!(
                        &err,
                        ImageError::Fetch {
                            source: FetchError::Network(_) | FetchError::Timeout,
                            ..
                        }
                    ),
                    "{err:?}"
                );
            } else {
                assert!(
                    matches!(
                        &err,
                        ImageError::Fetch {
                            source: FetchError::NotHttps { .. },
                            ..
                        }
                    ),
                    "{err:?}"
                );
                let err = app
                    .fetch_badge_image(&image("https://127.0.0.1/badge.png"))
                    .await
                    .unwrap_err();
                assert!(
                    matches!(
                        &err,
                        ImageError::Fetch {
                            source: FetchError::ForbiddenAddress { .. },
                            ..
                        }
                    ),
                    "{err:?}"
                );
            }
            assert!(matches!(
                app.fetch_badge_image(&image("file:///etc/passwd")).await,
                Err(ImageError::Scheme { .. })
            ));
            assert!(matches!(
                app.fetch_badge_image(&serde_json::json!({})).await,
                Err(ImageError::NoImage)
            ));
            // A data: image is checked like a fetched one.
            let bomb = format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(bomb_png(50_000, 50_000))
            );
            assert!(matches!(
                app.fetch_badge_image(&image(&bomb)).await,
                Err(ImageError::TooManyPixels {
                    width: 50_000,
                    height: 50_000,
                    ..
                })
            ));
            app.store.db.close().await;
        }
    }

    #[test]
    fn the_digest_is_found_by_the_image_url() {
        let claims = serde_json::json!({"ld": {"relatedResource": [
            {"id": "https://i.example/other", "digestSRI": "sha256-AAAA"},
            {"id": "https://i.example/img", "digestSRI": "sha256-BBBB"}]}});
        assert_eq!(
            digest_of(&claims, "https://i.example/img").as_deref(),
            Some("sha256-BBBB")
        );
        assert_eq!(digest_of(&claims, "https://i.example/none"), None);
        assert_eq!(digest_of(&serde_json::json!({}), "x"), None);
    }
}
