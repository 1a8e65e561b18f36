//! What a person or a program hands in for checking, turned into a credential: text
//! (a compact SD-JWT / VC-JWT or credential JSON), a baked PNG or SVG badge, a picture of
//! a QR code (a PNG screenshot or a JPEG phone photo, read by [`kit::picture`]), or the URL
//! of a wallet's public badge page.
//!
//! The badge page contract (holder agent, `GET {wallet}/p/{slug}`): an HTML page with
//! `<link rel="alternate" type="application/dc+sd-jwt" href="/p/{slug}/credential">` and,
//! when held, `<link rel="alternate" type="application/vc+ld+json" href="…/credential.json">`.
//! The page and the credential are fetched with the guarded fetcher; the alternate link is
//! resolved against the page URL and must stay on its origin; the SD-JWT is preferred. A
//! private or removed badge answers 404, reported as the failed `source` check. A URL that
//! answers with a credential (by its media type) is checked directly.

use protocol::verify::standalone::Submitted;
use protocol::verify::{Check, Sources};
use url::Url;

/// Largest credential text or credential file accepted.
pub const MAX_UPLOAD_BYTES: usize = 2 * 1024 * 1024;
/// Largest picture accepted (a phone photo): [`kit::picture::MAX_UPLOAD_BYTES`].
pub const MAX_PICTURE_BYTES: usize = kit::picture::MAX_UPLOAD_BYTES;

/// Media types of a compact credential.
const COMPACT_TYPES: &[&str] = &[
    "application/dc+sd-jwt",
    "application/vc+sd-jwt",
    "application/jwt",
    "application/vc+jwt",
    "text/plain",
];
/// Media types of a JSON credential.
const JSON_TYPES: &[&str] = &[
    "application/vc+ld+json",
    "application/vc",
    "application/ld+json",
    "application/json",
];
/// The alternate links of a badge page, most preferred first.
const ALTERNATE_TYPES: &[&str] = &[
    "application/dc+sd-jwt",
    "application/vc+sd-jwt",
    "application/vc+ld+json",
];

/// Why an input could not be turned into a credential to check.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    #[error("the upload is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Credential(String),
    #[error(
        "media type {0:?} is not accepted: send image/png, image/jpeg, image/svg+xml or a credential"
    )]
    MediaType(String),
    #[error("the badge image: {0}")]
    Baked(#[from] protocol::baked::BakeError),
    #[error("the picture: {0}")]
    Picture(String),
    #[error("no QR code found in the picture")]
    NoQrCode,
    #[error("{0:?} is not an http(s) URL")]
    NotUrl(String),
    #[error("the card link's proof: {0}")]
    Card(String),
}

/// What was found where: a credential, and how it was got (the `source` check).
#[derive(Debug)]
pub struct Found {
    pub submitted: Option<Submitted>,
    /// The `source` check of a URL (absent for a pasted or uploaded credential).
    pub source: Option<Check>,
}

impl Found {
    fn failed(detail: impl Into<String>) -> Found {
        Found {
            submitted: None,
            source: Some(Check::fail("source", detail)),
        }
    }
}

/// The media type without parameters, lower case.
pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A pasted text: a URL (fetched later) or a credential.
pub enum Pasted {
    Url(String),
    Credential(Submitted),
    /// A printed card's proof (`AK1:…`), given as it is or in a card link's fragment
    /// (`…/check/offline#AK1:…`, what the card's QR code holds).
    Card(String),
}

/// The card proof `text` is or links to: `AK1:…` itself, or the fragment of a card link
/// (an http(s) URL whose fragment starts with `AK1:`); `None` for anything else.
fn card_proof(text: &str) -> Result<Option<String>, InputError> {
    if text.starts_with(protocol::offline_card::PREFIX) {
        return Ok(Some(text.to_owned()));
    }
    if !(text.starts_with("https://") || text.starts_with("http://")) {
        return Ok(None);
    }
    match text.split_once('#') {
        Some((_, fragment)) if fragment.starts_with(protocol::offline_card::PREFIX) => {
            protocol::base45::from_fragment(fragment)
                .map(Some)
                .map_err(|e| InputError::Card(e.to_string()))
        }
        _ => Ok(None),
    }
}

/// Reads pasted text: a printed card's proof or link, an `http(s)://` URL, or a
/// credential.
pub fn pasted(text: &str) -> Result<Pasted, InputError> {
    let text = text.trim();
    if text.len() > MAX_UPLOAD_BYTES {
        return Err(InputError::TooLarge(MAX_UPLOAD_BYTES));
    }
    if let Some(card) = card_proof(text)? {
        return Ok(Pasted::Card(card));
    }
    if text.starts_with("https://") || text.starts_with("http://") {
        return Ok(Pasted::Url(text.to_owned()));
    }
    Submitted::from_text(text)
        .map(Pasted::Credential)
        .map_err(InputError::Credential)
}

/// An uploaded file: a baked badge, a credential, or a picture of a QR code (whose text is
/// handed back as a URL to fetch).
pub fn uploaded(media_type: &str, body: &[u8]) -> Result<Pasted, InputError> {
    let media = essence(media_type);
    let limit = if media.starts_with("image/") {
        MAX_PICTURE_BYTES
    } else {
        MAX_UPLOAD_BYTES
    };
    if body.len() > limit {
        return Err(InputError::TooLarge(limit));
    }
    let text = |body: &[u8]| {
        std::str::from_utf8(body)
            .map_err(|_| InputError::Credential("the credential is not UTF-8 text".into()))
            .map(str::to_owned)
    };
    match media.as_str() {
        "image/png" => match protocol::baked::unbake_png(body) {
            Ok(credential) => Ok(Pasted::Credential(
                Submitted::from_text(&credential).map_err(InputError::Credential)?,
            )),
            Err(protocol::baked::BakeError::NotBaked) => qr_url(body),
            Err(e) => Err(e.into()),
        },
        // A phone photo of a QR code.
        "image/jpeg" | "image/jpg" | "image/pjpeg" => qr_url(body),
        "image/svg+xml" => {
            let credential = protocol::baked::unbake_svg(&text(body)?)?;
            Ok(Pasted::Credential(
                Submitted::from_text(&credential).map_err(InputError::Credential)?,
            ))
        }
        m if COMPACT_TYPES.contains(&m) || JSON_TYPES.contains(&m) => pasted(&text(body)?),
        other => Err(InputError::MediaType(other.to_owned())),
    }
}

/// The URL in a picture's QR code.
fn qr_url(picture: &[u8]) -> Result<Pasted, InputError> {
    // A link, a printed card's proof, or the credential itself (small VC-JWTs fit).
    pasted(&scan_picture(picture)?)
}

/// The text of the first QR code found in a picture (a camera frame, a photo, a
/// screenshot; PNG or JPEG), with the picture's size bounded before decoding
/// ([`kit::picture`]).
pub fn scan_picture(bytes: &[u8]) -> Result<String, InputError> {
    match kit::picture::read_qr(bytes) {
        Ok(texts) => texts.into_iter().next().ok_or(InputError::NoQrCode),
        Err(kit::picture::ScanError::NoQrCode) => Err(InputError::NoQrCode),
        Err(e) => Err(InputError::Picture(e.to_string())),
    }
}

/// Fetches `url`: a badge page (its alternate credential link followed) or a credential.
pub async fn from_url<S: Sources>(sources: &S, url: &str) -> Result<Found, InputError> {
    let page_url = Url::parse(url.trim()).map_err(|_| InputError::NotUrl(url.to_owned()))?;
    if !matches!(page_url.scheme(), "https" | "http") {
        return Err(InputError::NotUrl(url.to_owned()));
    }
    let accept = "text/html, application/dc+sd-jwt, application/vc+ld+json;q=0.9, */*;q=0.1";
    let page = match sources.resource(page_url.as_str(), accept).await {
        Ok(r) => r,
        Err(e) => {
            return Ok(Found::failed(format!(
                "{page_url} could not be fetched: {e}"
            )));
        }
    };
    match page.status {
        200 => {}
        404 | 410 => {
            return Ok(Found::failed(format!(
                "the badge page is not available ({}): private or removed ({page_url})",
                page.status
            )));
        }
        s => {
            return Ok(Found::failed(format!(
                "{page_url} answered HTTP status {s}"
            )));
        }
    }
    let media = page.media_type.clone().unwrap_or_default();
    if media != "text/html" {
        return Ok(match credential_body(&media, &page.body) {
            Ok(submitted) => Found {
                submitted: Some(submitted),
                source: Some(Check::pass(
                    "source",
                    format!("{page_url} is a credential ({media})"),
                )),
            },
            Err(e) => Found::failed(format!("{page_url}: {e}")),
        });
    }
    let html = String::from_utf8_lossy(&page.body);
    let links = alternate_links(&html);
    let Some((kind, href)) = ALTERNATE_TYPES
        .iter()
        .find_map(|t| links.iter().find(|(k, _)| k == t))
    else {
        return Ok(Found::failed(format!(
            "the page {page_url} links no credential (no <link rel=\"alternate\" type=\"application/dc+sd-jwt\">)"
        )));
    };
    let Ok(credential_url) = page_url.join(href) else {
        return Ok(Found::failed(format!(
            "the page's credential link {href:?} is not a URL"
        )));
    };
    if credential_url.origin() != page_url.origin() {
        return Ok(Found::failed(format!(
            "the page's credential link {credential_url} leaves the page's origin"
        )));
    }
    let fetched = match sources.resource(credential_url.as_str(), kind).await {
        Ok(r) => r,
        Err(e) => {
            return Ok(Found::failed(format!(
                "the badge's credential {credential_url} could not be fetched: {e}"
            )));
        }
    };
    match fetched.status {
        200 => {}
        404 | 410 => {
            return Ok(Found::failed(format!(
                "the badge's credential is not available ({}): private or removed ({credential_url})",
                fetched.status
            )));
        }
        s => {
            return Ok(Found::failed(format!(
                "{credential_url} answered HTTP status {s}"
            )));
        }
    }
    let media = fetched.media_type.clone().unwrap_or_default();
    if media != *kind {
        return Ok(Found::failed(format!(
            "{credential_url} is {media:?}, but the page links it as {kind}"
        )));
    }
    Ok(match credential_body(&media, &fetched.body) {
        Ok(submitted) => Found {
            submitted: Some(submitted),
            source: Some(Check::pass(
                "source",
                format!("badge page {page_url}: its credential {credential_url} ({kind})"),
            )),
        },
        Err(e) => Found::failed(format!("{credential_url}: {e}")),
    })
}

/// A fetched credential by its media type.
fn credential_body(media: &str, body: &[u8]) -> Result<Submitted, String> {
    if COMPACT_TYPES.contains(&media) || JSON_TYPES.contains(&media) {
        let text =
            std::str::from_utf8(body).map_err(|_| "the credential is not UTF-8 text".to_owned())?;
        return Submitted::from_text(text);
    }
    match media {
        "image/png" => protocol::baked::unbake_png(body)
            .map_err(|e| e.to_string())
            .and_then(|t| Submitted::from_text(&t)),
        "image/svg+xml" => std::str::from_utf8(body)
            .map_err(|_| "the SVG is not UTF-8".to_owned())
            .and_then(|svg| protocol::baked::unbake_svg(svg).map_err(|e| e.to_string()))
            .and_then(|t| Submitted::from_text(&t)),
        other => Err(format!(
            "media type {other:?} is neither a badge page nor a credential"
        )),
    }
}

/// `(type, href)` of each `<link rel="alternate" type=… href=…>` of an HTML page.
pub fn alternate_links(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(i) = lower[at..].find("<link") {
        let start = at + i + 5;
        let Some(end) = lower[start..].find('>') else {
            break;
        };
        let attrs = attributes(&html[start..start + end]);
        at = start + end;
        let get = |name: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let alternate = get("rel").is_some_and(|rel| {
            rel.split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case("alternate"))
        });
        if let (true, Some(kind), Some(href)) = (alternate, get("type"), get("href")) {
            out.push((essence(kind), href.to_owned()));
        }
    }
    out
}

/// The attributes of a start tag's inside (after the name), names lower-cased, values
/// with the basic character references decoded.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = tag.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let name_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        if name_start == i {
            break;
        }
        let name = tag[name_start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            let value = if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let s = i + 1;
                let e = b[s..]
                    .iter()
                    .position(|&c| c == q)
                    .map_or(b.len(), |p| s + p);
                i = (e + 1).min(b.len());
                &tag[s..e.min(tag.len())]
            } else {
                let s = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                &tag[s..i]
            };
            out.push((name, decode_references(value)));
        } else {
            out.push((name, String::new()));
        }
    }
    out
}

fn decode_references(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternate_links_are_found_in_any_attribute_order() {
        let html = r#"<!doctype html><html><head>
<link rel="stylesheet" href="/s.css">
<LINK href='/p/abc/credential.json' type="application/vc+ld+json" rel="alternate">
<link rel="alternate" type="application/dc+sd-jwt" href="/p/abc/credential?x=1&amp;y=2"/>
</head></html>"#;
        assert_eq!(
            alternate_links(html),
            [
                (
                    "application/vc+ld+json".to_owned(),
                    "/p/abc/credential.json".to_owned()
                ),
                (
                    "application/dc+sd-jwt".to_owned(),
                    "/p/abc/credential?x=1&y=2".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn pasted_text_is_a_url_or_a_credential() {
        assert!(
            matches!(pasted(" https://w.example/p/a "), Ok(Pasted::Url(u)) if u == "https://w.example/p/a")
        );
        assert!(matches!(
            pasted("a.b.c~"),
            Ok(Pasted::Credential(Submitted::Compact(_)))
        ));
        assert!(matches!(
            pasted("{\"a\":1}"),
            Ok(Pasted::Credential(Submitted::Json(_)))
        ));
        assert!(matches!(pasted("{nope"), Err(InputError::Credential(_))));
        assert!(matches!(pasted("  "), Err(InputError::Credential(_))));
    }

    #[test]
    fn a_qr_picture_decodes_to_its_text_and_a_blank_one_does_not() {
        let url = "https://wallet.example/p/abc";
        let qr = protocol::qr::Qr::new(url).expect("QR");
        let png = qr.png(6);
        assert_eq!(scan_picture(&png).expect("decodes"), url);
        assert!(matches!(uploaded("image/png", &png), Ok(Pasted::Url(u)) if u == url));
        // An RGBA picture with the code on a transparent ground decodes too.
        let blank = {
            let mut out = Vec::new();
            let mut enc = png::Encoder::new(&mut out, 40, 40);
            enc.set_color(png::ColorType::Rgba);
            let mut w = enc.write_header().expect("header");
            w.write_image_data(&[255; 40 * 40 * 4]).expect("data");
            drop(w);
            out
        };
        assert_eq!(scan_picture(&blank), Err(InputError::NoQrCode));
        assert!(matches!(
            scan_picture(b"not a png"),
            Err(InputError::Picture(_))
        ));
        assert!(matches!(
            uploaded("image/gif", b"GIF89a"),
            Err(InputError::MediaType(m)) if m == "image/gif"
        ));
    }

    #[test]
    fn baked_badges_give_their_credential() {
        let qr = protocol::qr::Qr::new("x").expect("QR").png(4);
        let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln";
        let baked = protocol::baked::bake_png(&qr, jwt).expect("bakes");
        assert!(
            matches!(uploaded("image/png", &baked), Ok(Pasted::Credential(Submitted::Compact(c))) if c == jwt)
        );
        let svg = protocol::baked::bake_svg(
            "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            "{\"proof\":{}}",
        )
        .expect("bakes");
        assert!(matches!(
            uploaded("image/svg+xml; charset=utf-8", svg.as_bytes()),
            Ok(Pasted::Credential(Submitted::Json(_)))
        ));
        assert!(matches!(
            uploaded("image/svg+xml", b"<svg/>"),
            Err(InputError::Baked(protocol::baked::BakeError::NotBaked))
        ));
    }
}
