//! Baked badges (Open Badges 3.0 §5.3, "Baking"): a credential carried inside its badge
//! image, so the image file alone can be checked.
//!
//! * PNG: one `iTXt` chunk with the keyword `openbadgecredential`, compression flag 0, the
//!   text being a compact JWS (or SD-JWT) or the credential JSON. Baking replaces any such
//!   chunk and puts the new one right after `IHDR`; unbaking checks the signature and every
//!   chunk's CRC and returns the text of the first such chunk.
//! * SVG: `xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"` on the root element, then
//!   immediately `<openbadges:credential>`: a compact JWS in its `verify` attribute, JSON in
//!   CDATA (a `]]>` inside the JSON is split across two CDATA sections). The SVG is read
//!   with quick-xml, which never expands DTD entities; an unknown entity is an error.

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};

/// The `iTXt` keyword of a baked PNG.
pub const PNG_KEYWORD: &str = "openbadgecredential";
/// The XML namespace of the `credential` element in a baked SVG.
pub const SVG_NAMESPACE: &str = "https://purl.imsglobal.org/ob/v3p0";
/// Largest image baked or unbaked.
pub const MAX_BAKED_IMAGE_BYTES: usize = 8 * 1024 * 1024;
/// Largest credential baked or unbaked.
pub const MAX_CREDENTIAL_BYTES: usize = 1024 * 1024;

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
/// PNG chunk lengths are at most 2^31 - 1 (PNG §5.3).
const MAX_PNG_CHUNK: usize = 0x7FFF_FFFF;

/// Why an image could not be baked or unbaked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum BakeError {
    #[error("the image is larger than {MAX_BAKED_IMAGE_BYTES} bytes")]
    ImageTooLarge,
    #[error("the credential is larger than {MAX_CREDENTIAL_BYTES} bytes")]
    CredentialTooLarge,
    #[error("the credential is empty")]
    EmptyCredential,
    #[error("the credential is neither a compact JWS / SD-JWT nor a JSON object: {0}")]
    CredentialForm(String),
    #[error("not a PNG image: {0}")]
    Png(String),
    #[error("the CRC of PNG chunk {chunk} at byte {offset} is wrong")]
    PngCrc { chunk: String, offset: usize },
    #[error("the openbadgecredential iTXt chunk is compressed (Open Badges 3.0 forbids it)")]
    Compressed,
    #[error("not an SVG image: {0}")]
    Svg(String),
    #[error("the image carries no Open Badges credential")]
    NotBaked,
    #[error("the baked credential is not UTF-8")]
    NotUtf8,
}

/// How a credential is carried: compact (JWS, SD-JWT) or as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Compact,
    Json,
}

/// Checks the credential text to bake and tells its form.
fn credential_form(credential: &str) -> Result<Form, BakeError> {
    if credential.len() > MAX_CREDENTIAL_BYTES {
        return Err(BakeError::CredentialTooLarge);
    }
    let text = credential.trim();
    if text.is_empty() {
        return Err(BakeError::EmptyCredential);
    }
    if text.starts_with('{') {
        return match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(_)) => Ok(Form::Json),
            Ok(_) => Err(BakeError::CredentialForm("JSON but not an object".into())),
            Err(e) => Err(BakeError::CredentialForm(format!("invalid JSON: {e}"))),
        };
    }
    let compact = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
    if !compact || !text.contains('.') {
        return Err(BakeError::CredentialForm(
            "not JSON, and not base64url segments joined by '.' and '~'".into(),
        ));
    }
    Ok(Form::Compact)
}

// ---- PNG ----

/// CRC-32 (ISO 3309, as PNG §5.5 uses it), one table entry per byte value.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// The CRC of a chunk: over its type and data.
fn chunk_crc(kind: &[u8; 4], data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in kind.iter().chain(data) {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

/// One PNG chunk, borrowed from the image.
struct Chunk<'a> {
    kind: [u8; 4],
    data: &'a [u8],
}

impl Chunk<'_> {
    fn name(&self) -> String {
        String::from_utf8_lossy(&self.kind).into_owned()
    }

    fn write(&self, out: &mut Vec<u8>) {
        write_chunk(out, &self.kind, self.data);
    }
}

fn write_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    // Callers keep data under MAX_PNG_CHUNK (the image and credential limits are far below).
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&chunk_crc(kind, data).to_be_bytes());
}

/// The chunks from `IHDR` to `IEND` (inclusive), each CRC checked. Bytes after `IEND` are
/// ignored.
fn png_chunks(png: &[u8]) -> Result<Vec<Chunk<'_>>, BakeError> {
    if png.len() > MAX_BAKED_IMAGE_BYTES {
        return Err(BakeError::ImageTooLarge);
    }
    if png.len() < PNG_SIGNATURE.len() || png[..8] != PNG_SIGNATURE {
        return Err(BakeError::Png("no PNG signature".into()));
    }
    let mut chunks = Vec::new();
    let mut at = PNG_SIGNATURE.len();
    loop {
        let header = png
            .get(at..at + 8)
            .ok_or_else(|| BakeError::Png(format!("truncated at byte {at}: no IEND chunk")))?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = [header[4], header[5], header[6], header[7]];
        if len > MAX_PNG_CHUNK {
            return Err(BakeError::Png(format!("chunk length {len} at byte {at}")));
        }
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(BakeError::Png(format!("invalid chunk type at byte {at}")));
        }
        let data = png
            .get(at + 8..at + 8 + len)
            .ok_or_else(|| BakeError::Png(format!("chunk at byte {at} is truncated")))?;
        let crc = png
            .get(at + 8 + len..at + 12 + len)
            .ok_or_else(|| BakeError::Png(format!("chunk at byte {at} is truncated")))?;
        let chunk = Chunk { kind, data };
        if u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]) != chunk_crc(&kind, data) {
            return Err(BakeError::PngCrc {
                chunk: chunk.name(),
                offset: at,
            });
        }
        if chunks.is_empty() && &kind != b"IHDR" {
            return Err(BakeError::Png("the first chunk is not IHDR".into()));
        }
        at += 12 + len;
        let end = &kind == b"IEND";
        chunks.push(chunk);
        if end {
            return Ok(chunks);
        }
    }
}

/// An `iTXt` chunk's keyword and the rest of its data.
fn itxt_keyword(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let nul = data.iter().position(|&b| b == 0)?;
    Some((&data[..nul], &data[nul + 1..]))
}

fn is_credential_chunk(chunk: &Chunk<'_>) -> bool {
    &chunk.kind == b"iTXt"
        && itxt_keyword(chunk.data).is_some_and(|(k, _)| k == PNG_KEYWORD.as_bytes())
}

/// Bakes `credential` into a PNG: one uncompressed `iTXt` chunk `openbadgecredential`
/// right after `IHDR`, replacing any that was there.
pub fn bake_png(png: &[u8], credential: &str) -> Result<Vec<u8>, BakeError> {
    credential_form(credential)?;
    let text = credential.trim();
    let chunks = png_chunks(png)?;
    let mut itxt = Vec::with_capacity(PNG_KEYWORD.len() + 5 + text.len());
    itxt.extend_from_slice(PNG_KEYWORD.as_bytes());
    // NUL, compression flag 0, compression method 0, empty language tag + NUL, empty
    // translated keyword + NUL (PNG §11.3.4.5).
    itxt.extend_from_slice(&[0, 0, 0, 0, 0]);
    itxt.extend_from_slice(text.as_bytes());
    let mut out = Vec::with_capacity(png.len() + itxt.len() + 12);
    out.extend_from_slice(&PNG_SIGNATURE);
    for (i, chunk) in chunks.iter().enumerate() {
        if is_credential_chunk(chunk) {
            continue;
        }
        chunk.write(&mut out);
        if i == 0 {
            write_chunk(&mut out, b"iTXt", &itxt);
        }
    }
    Ok(out)
}

/// The credential baked in a PNG: the text of the first `iTXt` chunk `openbadgecredential`.
pub fn unbake_png(png: &[u8]) -> Result<String, BakeError> {
    let chunks = png_chunks(png)?;
    let chunk = chunks
        .iter()
        .find(|c| is_credential_chunk(c))
        .ok_or(BakeError::NotBaked)?;
    let (_, rest) = itxt_keyword(chunk.data).ok_or(BakeError::NotBaked)?;
    let bad = || BakeError::Png("malformed openbadgecredential iTXt chunk".into());
    let (&flag, rest) = rest.split_first().ok_or_else(bad)?;
    let (_method, rest) = rest.split_first().ok_or_else(bad)?;
    if flag != 0 {
        return Err(BakeError::Compressed);
    }
    // Language tag, then translated keyword, each NUL-terminated.
    let (_, rest) = itxt_keyword(rest).ok_or_else(bad)?;
    let (_, text) = itxt_keyword(rest).ok_or_else(bad)?;
    if text.len() > MAX_CREDENTIAL_BYTES {
        return Err(BakeError::CredentialTooLarge);
    }
    let text = std::str::from_utf8(text)
        .map_err(|_| BakeError::NotUtf8)?
        .trim();
    if text.is_empty() {
        return Err(BakeError::EmptyCredential);
    }
    Ok(text.to_owned())
}

// ---- SVG ----

fn svg_err(e: impl std::fmt::Display) -> BakeError {
    BakeError::Svg(e.to_string())
}

fn is_ob_namespace(ns: &ResolveResult<'_>) -> bool {
    matches!(ns, ResolveResult::Bound(Namespace(uri)) if *uri == SVG_NAMESPACE.as_bytes())
}

/// Where the root element and any old `openbadges:credential` elements are in an SVG.
struct SvgLayout {
    /// Byte range of the root start tag.
    root: std::ops::Range<usize>,
    /// The root's qualified name, as written.
    root_name: String,
    /// The root is `<svg …/>`.
    root_empty: bool,
    /// The root already declares `xmlns:openbadges` with the Open Badges namespace.
    has_prefix: bool,
    /// Byte ranges of `credential` elements in the Open Badges namespace.
    old: Vec<std::ops::Range<usize>>,
}

fn svg_layout(svg: &str) -> Result<SvgLayout, BakeError> {
    let mut reader = NsReader::from_str(svg);
    let mut root: Option<(std::ops::Range<usize>, String, bool, bool)> = None;
    let mut old = Vec::new();
    // Start of an old credential element and the depth inside it.
    let mut skipping: Option<(usize, usize)> = None;
    loop {
        let before = reader.buffer_position() as usize;
        let (ns, event) = reader.read_resolved_event().map_err(svg_err)?;
        let in_ob = is_ob_namespace(&ns);
        let is_credential = |local: &[u8]| in_ob && local == b"credential";
        let after = reader.buffer_position() as usize;
        match event {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if root.is_none() => {
                if e.local_name().as_ref() != b"svg" {
                    return Err(BakeError::Svg("the root element is not <svg>".into()));
                }
                let mut has_prefix = false;
                for attr in e.attributes() {
                    let attr = attr.map_err(svg_err)?;
                    if attr.key.as_ref() == b"xmlns:openbadges" {
                        if attr.value.as_ref() != SVG_NAMESPACE.as_bytes() {
                            return Err(BakeError::Svg(
                                "the root binds the prefix openbadges to another namespace".into(),
                            ));
                        }
                        has_prefix = true;
                    }
                }
                let empty = svg.as_bytes().get(after.saturating_sub(2)..after) == Some(b"/>");
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                root = Some((before..after, name, empty, has_prefix));
            }
            Event::Start(e) => match skipping {
                Some((start, depth)) => skipping = Some((start, depth + 1)),
                None if is_credential(e.local_name().as_ref()) => skipping = Some((before, 1)),
                None => {}
            },
            Event::Empty(e) if skipping.is_none() && is_credential(e.local_name().as_ref()) => {
                old.push(before..after);
            }
            Event::End(_) => match skipping {
                Some((start, 1)) => {
                    old.push(start..after);
                    skipping = None;
                }
                Some((start, depth)) => skipping = Some((start, depth - 1)),
                None => {}
            },
            _ => {}
        }
    }
    let (root, root_name, root_empty, has_prefix) =
        root.ok_or_else(|| BakeError::Svg("no root element".into()))?;
    Ok(SvgLayout {
        root,
        root_name,
        root_empty,
        has_prefix,
        old,
    })
}

/// Bakes `credential` into an SVG: declares the `openbadges` prefix on the root and puts
/// `<openbadges:credential>` first inside it, removing any old one.
pub fn bake_svg(svg: &str, credential: &str) -> Result<String, BakeError> {
    if svg.len() > MAX_BAKED_IMAGE_BYTES {
        return Err(BakeError::ImageTooLarge);
    }
    let form = credential_form(credential)?;
    let text = credential.trim();
    let layout = svg_layout(svg)?;
    let element = match form {
        Form::Compact => format!(r#"<openbadges:credential verify="{text}"/>"#),
        Form::Json => format!(
            "<openbadges:credential><![CDATA[{}]]></openbadges:credential>",
            text.replace("]]>", "]]]]><![CDATA[>")
        ),
    };
    let mut out = String::with_capacity(svg.len() + element.len() + 64);
    out.push_str(&svg[..layout.root.start]);
    let tag = &svg[layout.root.clone()];
    // `<` + name, then the declaration, then the rest of the tag as written.
    let name_end = 1 + layout.root_name.len();
    out.push_str(&tag[..name_end]);
    if !layout.has_prefix {
        out.push_str(&format!(r#" xmlns:openbadges="{SVG_NAMESPACE}""#));
    }
    if layout.root_empty {
        out.push_str(tag[name_end..tag.len() - 2].trim_end());
        out.push('>');
        out.push_str(&element);
        out.push_str(&format!("</{}>", layout.root_name));
    } else {
        out.push_str(&tag[name_end..]);
        out.push_str(&element);
    }
    let mut at = layout.root.end;
    for range in &layout.old {
        out.push_str(&svg[at..range.start]);
        at = range.end;
    }
    out.push_str(&svg[at..]);
    Ok(out)
}

/// The credential baked in an SVG: the `verify` attribute of the first
/// `credential` element in the Open Badges namespace, or its text / CDATA content.
pub fn unbake_svg(svg: &str) -> Result<String, BakeError> {
    if svg.len() > MAX_BAKED_IMAGE_BYTES {
        return Err(BakeError::ImageTooLarge);
    }
    let mut reader = NsReader::from_str(svg);
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(svg_err)?;
        let (e, empty) = match event {
            Event::Eof => return Err(BakeError::NotBaked),
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            _ => continue,
        };
        if !(is_ob_namespace(&ns) && e.local_name().as_ref() == b"credential") {
            continue;
        }
        for attr in e.attributes() {
            let attr = attr.map_err(svg_err)?;
            if attr.key.as_ref() == b"verify" {
                let value = attr.unescape_value().map_err(svg_err)?;
                return credential_text(&value);
            }
        }
        if empty {
            return Err(BakeError::EmptyCredential);
        }
        let mut text = String::new();
        loop {
            match reader.read_event().map_err(svg_err)? {
                Event::Text(t) => text.push_str(&t.decode().map_err(svg_err)?),
                Event::CData(c) => text.push_str(&c.decode().map_err(svg_err)?),
                Event::GeneralRef(r) => {
                    if let Some(c) = r.resolve_char_ref().map_err(svg_err)? {
                        text.push(c);
                    } else {
                        let name = r.decode().map_err(svg_err)?;
                        let value = quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| {
                                BakeError::Svg(format!("unknown entity &{name}; (not expanded)"))
                            })?;
                        text.push_str(value);
                    }
                }
                Event::Comment(_) => {}
                Event::End(_) => return credential_text(&text),
                Event::Eof => return Err(BakeError::Svg("unclosed credential element".into())),
                _ => {
                    return Err(BakeError::Svg(
                        "unexpected markup inside the credential element".into(),
                    ));
                }
            }
            if text.len() > MAX_CREDENTIAL_BYTES {
                return Err(BakeError::CredentialTooLarge);
            }
        }
    }
}

fn credential_text(text: &str) -> Result<String, BakeError> {
    let text = text.trim();
    if text.len() > MAX_CREDENTIAL_BYTES {
        return Err(BakeError::CredentialTooLarge);
    }
    if text.is_empty() {
        return Err(BakeError::EmptyCredential);
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWS: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2EuZXhhbXBsZSJ9.c2ln";
    const SD_JWT: &str = "eyJhbGciOiJFUzI1NiJ9.eyJfc2QiOltdfQ.c2ln~WyJzIiwibiIsInYiXQ~";

    /// A 2×2 RGB PNG made by the `png` crate (IHDR, IDAT, IEND).
    fn png() -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, 2, 2);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header().expect("header");
            w.write_image_data(&[255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9])
                .expect("data");
        }
        out
    }

    fn chunk_names(png: &[u8]) -> Vec<String> {
        png_chunks(png)
            .expect("chunks")
            .iter()
            .map(Chunk::name)
            .collect()
    }

    /// The `png` crate still decodes the image and sees the text chunk.
    fn decoded_itxt(png_bytes: &[u8]) -> Vec<(String, bool, String)> {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().expect("decodes");
        let mut buf = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buf).expect("frame");
        reader
            .info()
            .utf8_text
            .iter()
            .map(|t| (t.keyword.clone(), t.compressed, t.get_text().expect("text")))
            .collect()
    }

    #[test]
    fn crc_matches_the_png_spec_check_value() {
        // The IEND chunk's CRC is AE 42 60 82 in every PNG.
        assert_eq!(chunk_crc(b"IEND", &[]), 0xAE42_6082);
    }

    #[test]
    fn png_round_trip_compact_and_json() {
        for credential in [JWS, SD_JWT, r#"{"id":"urn:uuid:1","name":"A ]]> B"}"#] {
            let baked = bake_png(&png(), credential).expect("bakes");
            assert_eq!(unbake_png(&baked).expect("unbakes"), credential);
            assert_eq!(
                chunk_names(&baked),
                ["IHDR", "iTXt", "IDAT", "IEND"],
                "one chunk right after IHDR"
            );
            assert_eq!(
                decoded_itxt(&baked),
                [(PNG_KEYWORD.to_owned(), false, credential.to_owned())]
            );
        }
    }

    #[test]
    fn png_rebaking_replaces_the_chunk() {
        let once = bake_png(&png(), JWS).expect("bakes");
        let twice = bake_png(&once, SD_JWT).expect("rebakes");
        assert_eq!(chunk_names(&twice), ["IHDR", "iTXt", "IDAT", "IEND"]);
        assert_eq!(unbake_png(&twice).expect("unbakes"), SD_JWT);
    }

    #[test]
    fn png_chunk_elsewhere_is_found_and_the_first_one_wins() {
        // Put the chunk just before IEND, and a second one after it, by hand.
        let plain = png();
        let chunks = png_chunks(&plain).expect("chunks");
        let text = |t: &str| {
            let mut d = PNG_KEYWORD.as_bytes().to_vec();
            d.extend_from_slice(&[0, 0, 0, b'e', b'n', 0, 0]);
            d.extend_from_slice(t.as_bytes());
            d
        };
        let mut out = PNG_SIGNATURE.to_vec();
        for c in &chunks {
            if &c.kind == b"IEND" {
                write_chunk(&mut out, b"tEXt", b"Comment\0hello");
                write_chunk(&mut out, b"iTXt", &text(JWS));
                write_chunk(&mut out, b"iTXt", &text(SD_JWT));
            }
            c.write(&mut out);
        }
        assert_eq!(unbake_png(&out).expect("unbakes"), JWS);
        // Baking removes both and keeps the other text chunk.
        let baked = bake_png(&out, "{}").expect("bakes");
        assert_eq!(
            chunk_names(&baked),
            ["IHDR", "iTXt", "IDAT", "tEXt", "IEND"]
        );
        assert_eq!(unbake_png(&baked).expect("unbakes"), "{}");
    }

    #[test]
    fn png_malformed_inputs_are_refused_with_the_reason() {
        let baked = bake_png(&png(), JWS).expect("bakes");
        assert!(matches!(unbake_png(b"GIF89a"), Err(BakeError::Png(_))));
        assert_eq!(unbake_png(&png()), Err(BakeError::NotBaked));
        // Truncated: no IEND.
        assert!(matches!(
            unbake_png(&baked[..baked.len() - 12]),
            Err(BakeError::Png(m)) if m.contains("no IEND")
        ));
        assert!(matches!(
            unbake_png(&baked[..baked.len() - 6]),
            Err(BakeError::Png(m)) if m.contains("truncated")
        ));
        // A flipped byte inside the credential text breaks the iTXt CRC.
        let mut flipped = baked.clone();
        let at = 8 + 25 + 8 + PNG_KEYWORD.len() + 5 + 3;
        flipped[at] ^= 1;
        assert!(matches!(
            unbake_png(&flipped),
            Err(BakeError::PngCrc { chunk, offset: 33 }) if chunk == "iTXt"
        ));
        // Compressed text is refused.
        let mut out = PNG_SIGNATURE.to_vec();
        for c in png_chunks(&png()).expect("chunks") {
            c.write(&mut out);
            if &c.kind == b"IHDR" {
                let mut d = PNG_KEYWORD.as_bytes().to_vec();
                d.extend_from_slice(&[0, 1, 0, 0, 0, 0x78, 0x9c]);
                write_chunk(&mut out, b"iTXt", &d);
            }
        }
        assert_eq!(unbake_png(&out), Err(BakeError::Compressed));
        // Oversized images and bad credentials.
        assert_eq!(
            unbake_png(&vec![0; MAX_BAKED_IMAGE_BYTES + 1]),
            Err(BakeError::ImageTooLarge)
        );
        assert_eq!(bake_png(&png(), "  "), Err(BakeError::EmptyCredential));
        assert!(matches!(
            bake_png(&png(), "not a credential"),
            Err(BakeError::CredentialForm(_))
        ));
        assert!(matches!(
            bake_png(&png(), "[1,2]"),
            Err(BakeError::CredentialForm(_))
        ));
        assert_eq!(
            bake_png(&png(), &"a.".repeat(MAX_CREDENTIAL_BYTES)),
            Err(BakeError::CredentialTooLarge)
        );
    }

    const SVG: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>"#;

    #[test]
    fn svg_round_trip_jws_in_verify_attribute() {
        let baked = bake_svg(SVG, JWS).expect("bakes");
        assert!(
            baked.contains(&format!(
                r#"<svg xmlns:openbadges="{SVG_NAMESPACE}" xmlns="http://www.w3.org/2000/svg" width="10" height="10"><openbadges:credential verify="{JWS}"/><circle"#
            )),
            "{baked}"
        );
        assert_eq!(unbake_svg(&baked).expect("unbakes"), JWS);
        assert_eq!(
            unbake_svg(&bake_svg(SVG, SD_JWT).expect("bakes")).expect("unbakes"),
            SD_JWT
        );
    }

    #[test]
    fn svg_round_trip_json_in_cdata_with_terminator_inside() {
        let json = r#"{"name":"a]]>b <c> & d","x":"]]>]]>"}"#;
        let baked = bake_svg(SVG, json).expect("bakes");
        assert!(!baked.contains("verify="));
        assert_eq!(unbake_svg(&baked).expect("unbakes"), json);
        // Still well-formed XML: one circle, one credential.
        let mut reader = quick_xml::Reader::from_str(&baked);
        let mut elements = 0;
        loop {
            match reader.read_event().expect("well-formed") {
                Event::Eof => break,
                Event::Start(_) | Event::Empty(_) => elements += 1,
                _ => {}
            }
        }
        assert_eq!(elements, 3);
    }

    #[test]
    fn svg_rebaking_replaces_and_keeps_an_existing_prefix() {
        let once = bake_svg(SVG, r#"{"a":1}"#).expect("bakes");
        let twice = bake_svg(&once, JWS).expect("rebakes");
        assert_eq!(twice.matches("openbadges:credential").count(), 1, "{twice}");
        assert_eq!(twice.matches("xmlns:openbadges").count(), 1, "{twice}");
        assert_eq!(unbake_svg(&twice).expect("unbakes"), JWS);
    }

    #[test]
    fn svg_empty_root_and_other_prefixes() {
        let baked = bake_svg(r#"<svg xmlns="http://www.w3.org/2000/svg" />"#, JWS).expect("bakes");
        assert_eq!(
            baked,
            format!(
                r#"<svg xmlns:openbadges="{SVG_NAMESPACE}" xmlns="http://www.w3.org/2000/svg"><openbadges:credential verify="{JWS}"/></svg>"#
            )
        );
        // Any prefix bound to the namespace is read; entities and CDATA are decoded.
        let other = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:ob="{SVG_NAMESPACE}"><g/><ob:credential>
  {{"a":"&lt;&#x41;"<![CDATA[ ]]>}}
</ob:credential></svg>"#
        );
        assert_eq!(unbake_svg(&other).expect("unbakes"), r#"{"a":"<A" }"#);
        // The same local name in another namespace is not a credential.
        let wrong = r#"<svg xmlns:o="https://example.com/ns"><o:credential verify="a.b.c"/></svg>"#;
        assert_eq!(unbake_svg(wrong), Err(BakeError::NotBaked));
    }

    #[test]
    fn svg_malformed_inputs_are_refused_with_the_reason() {
        assert!(matches!(bake_svg("<html/>", JWS), Err(BakeError::Svg(_))));
        assert!(matches!(
            bake_svg("<svg><g></svg>", JWS),
            Err(BakeError::Svg(_))
        ));
        assert!(matches!(bake_svg("", JWS), Err(BakeError::Svg(_))));
        assert!(matches!(
            bake_svg(r#"<svg xmlns:openbadges="urn:other"/>"#, JWS),
            Err(BakeError::Svg(m)) if m.contains("another namespace")
        ));
        assert_eq!(unbake_svg(SVG), Err(BakeError::NotBaked));
        let empty =
            format!(r#"<svg xmlns:openbadges="{SVG_NAMESPACE}"><openbadges:credential/></svg>"#);
        assert_eq!(unbake_svg(&empty), Err(BakeError::EmptyCredential));
        // A DTD entity is never expanded.
        let entity = format!(
            r#"<!DOCTYPE svg [<!ENTITY x "secret">]><svg xmlns:openbadges="{SVG_NAMESPACE}"><openbadges:credential>&x;</openbadges:credential></svg>"#
        );
        assert!(matches!(
            unbake_svg(&entity),
            Err(BakeError::Svg(m)) if m.contains("unknown entity &x;")
        ));
        let nested = format!(
            r#"<svg xmlns:openbadges="{SVG_NAMESPACE}"><openbadges:credential><g/></openbadges:credential></svg>"#
        );
        assert!(matches!(unbake_svg(&nested), Err(BakeError::Svg(_))));
        assert_eq!(
            unbake_svg(&" ".repeat(MAX_BAKED_IMAGE_BYTES + 1)),
            Err(BakeError::ImageTooLarge)
        );
    }
}
