//! Badge images: PNG or SVG, type and size checked; an SVG is rewritten keeping only what
//! draws (no scripts, no event handlers, no animation, no external references, no
//! DOCTYPE), so the image a wallet or a browser shows cannot run or fetch anything. The
//! SHA-256 of the stored bytes goes in the credential (`relatedResource` with `digestSRI`),
//! so a verifier can tell the image was not changed.

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, Writer};

/// Largest image accepted.
pub const MAX_IMAGE_BYTES: usize = 1024 * 1024;
/// Largest PNG side in pixels.
pub const MAX_PNG_SIDE: u32 = 4096;

/// Why an image was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    #[error("is larger than {MAX_IMAGE_BYTES} bytes")]
    TooLarge,
    #[error("must be image/png or image/svg+xml (got {0:?})")]
    Type(String),
    #[error("is not a PNG image: {0}")]
    Png(String),
    #[error("PNG is {0}×{1} pixels; at most {MAX_PNG_SIDE} on each side")]
    PngSize(u32, u32),
    #[error("is not an SVG image: {0}")]
    Svg(String),
}

/// A checked image, ready to store.
#[derive(Debug, Clone)]
pub struct Checked {
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
    /// `sha256-<base64>`: the Subresource Integrity form VC 2.0 `digestSRI` uses.
    pub digest_sri: String,
}

/// Checks (PNG) or sanitises (SVG) an uploaded image.
pub fn check(media_type: &str, body: &[u8]) -> Result<Checked, ImageError> {
    if body.len() > MAX_IMAGE_BYTES {
        return Err(ImageError::TooLarge);
    }
    let media = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (media_type, bytes) = match media.as_str() {
        "image/png" => {
            let decoder = png::Decoder::new(std::io::Cursor::new(body));
            let reader = decoder
                .read_info()
                .map_err(|e| ImageError::Png(e.to_string()))?;
            let info = reader.info();
            if info.width > MAX_PNG_SIDE || info.height > MAX_PNG_SIDE {
                return Err(ImageError::PngSize(info.width, info.height));
            }
            ("image/png", body.to_vec())
        }
        "image/svg+xml" => ("image/svg+xml", sanitise_svg(body)?),
        other => return Err(ImageError::Type(other.to_owned())),
    };
    Ok(Checked {
        media_type,
        digest_sri: digest_sri(&bytes),
        bytes,
    })
}

/// `sha256-` and the base64 (standard alphabet, padded) SHA-256 of `bytes`.
pub fn digest_sri(bytes: &[u8]) -> String {
    use base64::Engine as _;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// SVG elements kept (everything else is dropped with its content).
const ELEMENTS: &[&str] = &[
    "svg",
    "g",
    "path",
    "rect",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "text",
    "tspan",
    "textPath",
    "defs",
    "linearGradient",
    "radialGradient",
    "stop",
    "clipPath",
    "mask",
    "pattern",
    "symbol",
    "use",
    "title",
    "desc",
    "image",
    "filter",
    "feGaussianBlur",
    "feOffset",
    "feBlend",
    "feColorMatrix",
    "feFlood",
    "feComposite",
    "feMerge",
    "feMergeNode",
    "marker",
    "metadata",
];

/// Whether an attribute may stay, given its raw (still escaped) value.
fn attribute_allowed(element: &str, key: &str, raw: &str) -> bool {
    let key_lc = key.to_ascii_lowercase();
    let value_lc = raw.to_ascii_lowercase();
    if key_lc.starts_with("on") {
        return false;
    }
    // Entities could spell anything; none is needed in an attribute that refers.
    let refers = key_lc == "href" || key_lc.ends_with(":href") || key_lc == "src";
    if refers {
        if raw.contains('&') {
            return false;
        }
        return raw.starts_with('#')
            || (element == "image"
                && [
                    "data:image/png;base64,",
                    "data:image/jpeg;base64,",
                    "data:image/gif;base64,",
                ]
                .iter()
                .any(|p| value_lc.starts_with(p)));
    }
    if value_lc.contains("javascript:") || value_lc.contains("expression(") {
        return false;
    }
    // Paint and filter references must stay inside the document: `url(#id)` only.
    if value_lc.contains("url(") {
        if raw.contains('&') {
            return false;
        }
        let mut rest = value_lc.as_str();
        while let Some(i) = rest.find("url(") {
            let after = rest[i + 4..].trim_start_matches([' ', '"', '\'']);
            if !after.starts_with('#') {
                return false;
            }
            rest = &rest[i + 4..];
        }
    }
    if value_lc.contains("@import") {
        return false;
    }
    true
}

fn local_name(e: &BytesStart) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

/// The element with only its allowed attributes.
fn clean_start(e: &BytesStart) -> Result<BytesStart<'static>, ImageError> {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let local = local_name(e);
    let mut out = BytesStart::new(name);
    for attr in e.attributes() {
        let attr = attr.map_err(|err| ImageError::Svg(err.to_string()))?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let raw = String::from_utf8_lossy(&attr.value).into_owned();
        if attribute_allowed(&local, &key, &raw) {
            out.push_attribute(quick_xml::events::attributes::Attribute {
                key: quick_xml::name::QName(key.as_bytes()),
                value: std::borrow::Cow::Borrowed(attr.value.as_ref()),
            });
        }
    }
    Ok(out.into_owned())
}

/// Rewrites an SVG keeping only drawing elements and safe attributes.
pub fn sanitise_svg(body: &[u8]) -> Result<Vec<u8>, ImageError> {
    let text = std::str::from_utf8(body).map_err(|_| ImageError::Svg("not UTF-8".into()))?;
    let mut reader = Reader::from_str(text);
    let mut writer = Writer::new(Vec::with_capacity(body.len()));
    // Depth inside a dropped element (0: not dropping).
    let mut dropping = 0usize;
    let mut saw_root = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| ImageError::Svg(e.to_string()))?;
        let write = |w: &mut Writer<Vec<u8>>, ev: Event| {
            w.write_event(ev)
                .map_err(|e| ImageError::Svg(e.to_string()))
        };
        match event {
            Event::Eof => break,
            Event::DocType(_) => {
                return Err(ImageError::Svg(
                    "a DOCTYPE is not allowed (entities could expand or fetch)".into(),
                ));
            }
            Event::PI(_) => {}
            Event::Decl(d) => write(&mut writer, Event::Decl(d))?,
            Event::Start(e) => {
                if dropping > 0 {
                    dropping += 1;
                    continue;
                }
                let local = local_name(&e);
                if !saw_root {
                    if local != "svg" {
                        return Err(ImageError::Svg(format!(
                            "the root element is <{local}>, not <svg>"
                        )));
                    }
                    saw_root = true;
                }
                if ELEMENTS.contains(&local.as_str()) {
                    write(&mut writer, Event::Start(clean_start(&e)?))?;
                } else {
                    dropping = 1;
                }
            }
            Event::Empty(e) => {
                if dropping > 0 {
                    continue;
                }
                let local = local_name(&e);
                if !saw_root {
                    return Err(ImageError::Svg(format!(
                        "the root element is <{local}>, not <svg>"
                    )));
                }
                if ELEMENTS.contains(&local.as_str()) {
                    write(&mut writer, Event::Empty(clean_start(&e)?))?;
                }
            }
            Event::End(e) => {
                if dropping > 0 {
                    dropping -= 1;
                    continue;
                }
                write(&mut writer, Event::End(e))?;
            }
            Event::Comment(_) => {}
            other => {
                if dropping == 0 && saw_root {
                    write(&mut writer, other)?;
                }
            }
        }
    }
    if !saw_root {
        return Err(ImageError::Svg("no <svg> element".into()));
    }
    Ok(writer.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(svg: &str) -> String {
        String::from_utf8(sanitise_svg(svg.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn scripts_handlers_and_external_references_are_removed() {
        let out = clean(
            r##"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert(1)" viewBox="0 0 10 10">
<script>alert(2)</script>
<foreignObject><iframe src="https://evil.example"/></foreignObject>
<style>@import url(https://evil.example/x.css);</style>
<a href="javascript:alert(3)"><circle r="4"/></a>
<rect width="10" height="10" fill="url(#g)" onclick="x()"/>
<rect fill="url(https://evil.example/p)"/>
<use xlink:href="https://evil.example/s.svg#a"/><use href="#local"/>
<image href="https://evil.example/t.png"/><image href="data:image/png;base64,AAAA"/>
<animate attributeName="href" to="javascript:alert(4)"/>
<text x="1" y="5">Badge &amp; more</text>
</svg>"##,
        );
        for bad in [
            "script",
            "alert",
            "foreignObject",
            "iframe",
            "evil.example",
            "@import",
            "onclick",
            "onload",
            "<a ",
            "animate",
        ] {
            assert!(!out.contains(bad), "{bad} in {out}");
        }
        assert!(out.contains(r##"fill="url(#g)""##), "{out}");
        assert!(out.contains(r##"<use href="#local"/>"##), "{out}");
        assert!(out.contains("data:image/png;base64,AAAA"), "{out}");
        assert!(out.contains("Badge &amp; more"), "{out}");
        assert!(out.contains(r#"viewBox="0 0 10 10""#), "{out}");
    }

    #[test]
    fn doctype_and_non_svg_are_refused() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>"#;
        assert!(
            matches!(sanitise_svg(bomb.as_bytes()), Err(ImageError::Svg(m)) if m.contains("DOCTYPE"))
        );
        assert!(sanitise_svg(b"<html><body/></html>").is_err());
        assert!(sanitise_svg(b"not xml at all").is_err());
        assert!(sanitise_svg(b"\xff\xfe").is_err());
    }

    #[test]
    fn png_is_checked_and_digested() {
        let png = protocol::qr::Qr::new("x").unwrap().png(2);
        let c = check("image/png", &png).unwrap();
        assert_eq!(c.media_type, "image/png");
        assert!(c.digest_sri.starts_with("sha256-"));
        assert_eq!(c.digest_sri, digest_sri(&png));
        assert!(matches!(
            check("image/png", b"\x89PNG nope"),
            Err(ImageError::Png(_))
        ));
        assert!(matches!(
            check("image/gif", b"GIF89a"),
            Err(ImageError::Type(_))
        ));
        assert_eq!(
            check("image/png", &vec![0u8; MAX_IMAGE_BYTES + 1]).unwrap_err(),
            ImageError::TooLarge
        );
    }

    #[test]
    fn the_digest_is_sri_sha256() {
        // SHA-256("abc"), base64.
        assert_eq!(
            digest_sri(b"abc"),
            "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }
}
