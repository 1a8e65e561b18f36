//! Business cards and share images of a badge: pure functions from a [`Card`] (who, which
//! badge, its image, the public page's URL) to bytes, no database.
//!
//! * [`card_svg`] and [`card_pdf`]: a printable card of 91 × 55 mm with the holder's name,
//!   the badge's name, its issuer, the badge image and a QR code of the public page, drawn
//!   as vectors. The PDF embeds subsets of the two fonts in `fonts/` (DejaVu Sans for Latin,
//!   Greek and Cyrillic, MotoyaLCedar for Japanese) as real text with a `ToUnicode` map,
//!   so names print the same on any machine and can be searched and copied. The SVG uses
//!   `<text>` (escaped) with those font families, as a browser or editor shows them.
//! * [`qr_png`] and [`qr_svg`]: the QR code alone ([`protocol::qr`]).
//! * [`share_image_png`]: the 1200 × 630 picture behind a public page's `og:image`.
//!
//! Badge images come from credentials, i.e. from issuers: only PNG and SVG are taken, at
//! most [`MAX_IMAGE_BYTES`] and [`MAX_IMAGE_PIXELS`] a side; an SVG is rendered with no
//! access to files or the network (see [`raster`]).

mod pdf;
pub mod raster;
pub(crate) mod text;

use base64::Engine;
use protocol::qr::{Qr, QrError};

pub use text::FONT_FAMILIES;

/// Largest badge image accepted, in bytes.
pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;
/// Largest width or height of a PNG badge image, in pixels.
pub const MAX_IMAGE_PIXELS: u32 = 4096;

/// The card's width and height in millimetres (ISO 7810-like business card, 91 × 55 mm).
pub const CARD_WIDTH_MM: f32 = 91.0;
pub const CARD_HEIGHT_MM: f32 = 55.0;
/// Points per millimetre (1 pt = 1/72 in).
pub const PT_PER_MM: f32 = 72.0 / 25.4;
/// The share image's size in pixels (Open Graph's recommended 1.91:1).
pub const SHARE_WIDTH: u32 = 1200;
pub const SHARE_HEIGHT: u32 = 630;

/// Why a card or image could not be made: each names the check that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CardError {
    #[error("QR code: {0}")]
    Qr(#[from] QrError),
    #[error("badge image: {0}")]
    Image(String),
    #[error("font: {0}")]
    Font(String),
    #[error("rendering: {0}")]
    Render(String),
}

/// The language of the card's fixed texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Ja,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    fn issued_by(self, issuer: &str) -> String {
        match self {
            Lang::En => format!("Issued by {issuer}"),
            Lang::Ja => format!("発行: {issuer}"),
        }
    }

    fn earned_by(self, holder: &str) -> String {
        match self {
            Lang::En => format!("Earned by {holder}"),
            Lang::Ja => format!("取得者: {holder}"),
        }
    }

    fn scan_to_verify(self) -> &'static str {
        match self {
            Lang::En => "Scan the code to see and verify this badge",
            Lang::Ja => "QRコードでバッジを表示・検証できます",
        }
    }

    fn open_badge(self) -> &'static str {
        match self {
            Lang::En => "Open Badge",
            Lang::Ja => "オープンバッジ",
        }
    }
}

/// The media types a badge image may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageType {
    Png,
    Svg,
}

impl ImageType {
    pub fn media_type(self) -> &'static str {
        match self {
            ImageType::Png => "image/png",
            ImageType::Svg => "image/svg+xml",
        }
    }
}

/// A badge image, checked: PNG (with a sane size) or SVG, within [`MAX_IMAGE_BYTES`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadgeImage {
    kind: ImageType,
    bytes: Vec<u8>,
}

impl BadgeImage {
    /// Takes `bytes` of media type `media_type` (parameters such as `;charset=` ignored).
    pub fn new(media_type: &str, bytes: Vec<u8>) -> Result<BadgeImage, CardError> {
        let essence = media_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let kind = match essence.as_str() {
            "image/png" => ImageType::Png,
            "image/svg+xml" => ImageType::Svg,
            other => {
                return Err(CardError::Image(format!(
                    "media type {other:?} is not image/png or image/svg+xml"
                )));
            }
        };
        if bytes.len() > MAX_IMAGE_BYTES {
            return Err(CardError::Image(format!(
                "{} bytes is more than the {MAX_IMAGE_BYTES} allowed",
                bytes.len()
            )));
        }
        match kind {
            ImageType::Png => {
                let (w, h) = png_size(&bytes)?;
                if w == 0 || h == 0 || w > MAX_IMAGE_PIXELS || h > MAX_IMAGE_PIXELS {
                    return Err(CardError::Image(format!(
                        "PNG of {w} × {h} pixels; at most {MAX_IMAGE_PIXELS} a side"
                    )));
                }
            }
            ImageType::Svg => {
                if std::str::from_utf8(&bytes).is_err() {
                    return Err(CardError::Image("SVG is not UTF-8 text".into()));
                }
            }
        }
        Ok(BadgeImage { kind, bytes })
    }

    /// Takes a `data:` URI (`data:image/png;base64,…`, or a percent-encoded SVG).
    pub fn from_data_uri(uri: &str) -> Result<BadgeImage, CardError> {
        let (media_type, bytes) = decode_data_uri(uri)?;
        BadgeImage::new(&media_type, bytes)
    }

    pub fn kind(&self) -> ImageType {
        self.kind
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The image as a `data:` URI (base64).
    pub fn data_uri(&self) -> String {
        format!(
            "data:{};base64,{}",
            self.kind.media_type(),
            base64::engine::general_purpose::STANDARD.encode(&self.bytes)
        )
    }
}

/// The media type and bytes of a `data:` URI (base64 or percent-encoded), refused
/// before decoding when its text is longer than an image of [`MAX_IMAGE_BYTES`].
pub fn decode_data_uri(uri: &str) -> Result<(String, Vec<u8>), CardError> {
    let rest = uri
        .strip_prefix("data:")
        .ok_or_else(|| CardError::Image("not a data: URI".into()))?;
    let (meta, data) = rest
        .split_once(',')
        .ok_or_else(|| CardError::Image("data: URI without a comma".into()))?;
    let (media_type, base64) = match meta.strip_suffix(";base64") {
        Some(m) => (m, true),
        None => (meta, false),
    };
    // Roughly: base64 is 4/3 the size; refuse before decoding a huge text.
    if data.len() > MAX_IMAGE_BYTES / 3 * 4 + 4 {
        return Err(CardError::Image(format!(
            "data: URI of {} characters is more than an image of {MAX_IMAGE_BYTES} bytes",
            data.len()
        )));
    }
    let bytes = if base64 {
        base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| CardError::Image(format!("data: URI base64: {e}")))?
    } else {
        percent_encoding::percent_decode_str(data).collect()
    };
    Ok((media_type.to_owned(), bytes))
}

/// Width and height from a PNG's IHDR chunk.
pub(crate) fn png_size(bytes: &[u8]) -> Result<(u32, u32), CardError> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return Err(CardError::Image(
            "not a PNG (signature or IHDR missing)".into(),
        ));
    }
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    Ok((be(16), be(20)))
}

/// What a card shows.
#[derive(Clone, Debug)]
pub struct Card {
    pub holder_name: String,
    pub badge_name: String,
    pub issuer_name: String,
    pub badge_image: Option<BadgeImage>,
    /// The badge's public page: what the QR code encodes.
    pub public_url: String,
    pub lang: Lang,
}

/// Where things go on the card, in millimetres from the top left.
pub(crate) mod layout {
    /// The QR code's square, quiet zone included (for a URL; a dense code grows it
    /// leftward, [`super::QrSquare`]), vertically centred.
    pub const QR_X: f32 = 58.0;
    pub const QR_SIDE: f32 = 30.0;
    /// The badge image's square.
    pub const IMAGE_X: f32 = 6.0;
    pub const IMAGE_Y: f32 = 6.0;
    pub const IMAGE_SIDE: f32 = 16.0;
    /// The left column of text.
    pub const TEXT_X: f32 = 6.0;
    pub const TEXT_WIDTH: f32 = 51.0;
    /// The accent bar on the left edge.
    pub const BAR_WIDTH: f32 = 2.0;
    pub const ACCENT: (u8, u8, u8) = (0x1f, 0x4e, 0x79);
    pub const INK: (u8, u8, u8) = (0x11, 0x11, 0x11);
    pub const GREY: (u8, u8, u8) = (0x55, 0x55, 0x55);
}

/// The smallest QR module the card draws, in mm: what a phone camera reads from a printed
/// card at arm's length.
pub const MIN_QR_MODULE_MM: f32 = 0.35;
/// The largest QR square (quiet zone included), in mm.
pub const MAX_QR_SIDE_MM: f32 = 36.0;

/// Where the card's QR code goes (mm, quiet zone included): the 30 mm square of the
/// layout, grown toward the left for a dense code (an offline card's proof) so its modules
/// stay at least [`MIN_QR_MODULE_MM`], up to [`MAX_QR_SIDE_MM`]; the text column narrows
/// by as much.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QrSquare {
    pub x: f32,
    pub y: f32,
    pub side: f32,
}

impl QrSquare {
    /// The square for a code of `modules` modules a side, quiet zone included.
    pub fn for_modules(modules: usize) -> QrSquare {
        use layout::*;
        let side = (modules as f32 * MIN_QR_MODULE_MM).clamp(QR_SIDE, MAX_QR_SIDE_MM);
        QrSquare {
            x: QR_X + QR_SIDE - side,
            y: (CARD_HEIGHT_MM - side) / 2.0,
            side,
        }
    }

    /// The width left to the text column, left of the square with 1 mm between.
    pub fn text_width(&self) -> f32 {
        (self.x - 1.0 - layout::TEXT_X).min(layout::TEXT_WIDTH)
    }

    /// One module's side, in mm.
    pub fn module_mm(&self, modules: usize) -> f32 {
        self.side / modules.max(1) as f32
    }
}

/// A line of text on the card: what, where (baseline, mm), how big, which colour.
pub(crate) struct CardLine {
    pub line: text::Line,
    pub y: f32,
    pub colour: (u8, u8, u8),
}

/// The card's text lines, laid out with the real font metrics (shared by SVG and PDF) in a
/// column `w` mm wide.
pub(crate) fn card_lines(card: &Card, fonts: &text::Fonts, w: f32) -> Vec<CardLine> {
    use layout::*;
    let mut lines = vec![
        CardLine {
            line: text::fit(fonts, &card.holder_name, w, 5.2, 3.0),
            y: 31.0,
            colour: INK,
        },
        CardLine {
            line: text::fit(fonts, &card.badge_name, w, 3.6, 2.4),
            y: 38.0,
            colour: ACCENT,
        },
        CardLine {
            line: text::fit(
                fonts,
                &card.lang.issued_by(&text::clean(&card.issuer_name)),
                w,
                2.6,
                2.0,
            ),
            y: 43.5,
            colour: GREY,
        },
        CardLine {
            line: text::fit(fonts, card.lang.scan_to_verify(), w, 2.2, 1.6),
            y: 50.0,
            colour: GREY,
        },
    ];
    lines.retain(|l| !l.line.runs.is_empty());
    lines
}

/// Text for XML character data and attribute values: `& < > " '` escaped, and characters
/// XML 1.0 does not allow dropped.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Trims a float for SVG attributes.
fn num(v: f32) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// The card as an SVG document, 91 × 55 mm with a `viewBox` in millimetres.
pub fn card_svg(card: &Card) -> Result<String, CardError> {
    card_svg_drawn(card, false)
}

/// The card as SVG; `for_raster`: each font's run a `<text>` of its own at the position
/// the layout measured (resvg, given a line that mixes scripts, would draw the Latin part
/// in the Japanese font's monospaced Latin), else one `<text>` per line with both font
/// families, as browsers and editors take it.
fn card_svg_drawn(card: &Card, for_raster: bool) -> Result<String, CardError> {
    use layout::*;
    let fonts = text::Fonts::load()?;
    let qr = Qr::new(&card.public_url)?;
    let n = qr.size_with_quiet_zone();
    let square = QrSquare::for_modules(n);
    let mut svg = String::new();
    svg.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    svg.push_str(&format!(
        concat!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" ",
            "version=\"1.1\" width=\"{w}mm\" height=\"{h}mm\" viewBox=\"0 0 {w} {h}\" lang=\"{lang}\">\n",
            "<title>{title}</title>\n",
            "<rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n",
            "<rect width=\"{bar}\" height=\"{h}\" fill=\"{accent}\"/>\n",
        ),
        w = num(CARD_WIDTH_MM),
        h = num(CARD_HEIGHT_MM),
        lang = card.lang.code(),
        title = xml_escape(&format!(
            "{} — {}",
            text::clean(&card.holder_name),
            text::clean(&card.badge_name)
        )),
        bar = num(BAR_WIDTH),
        accent = hex(ACCENT),
    ));
    if let Some(image) = &card.badge_image {
        svg.push_str(&format!(
            "<image x=\"{x}\" y=\"{y}\" width=\"{s}\" height=\"{s}\" preserveAspectRatio=\"xMidYMid meet\" xlink:href=\"{href}\"/>\n",
            x = num(IMAGE_X),
            y = num(IMAGE_Y),
            s = num(IMAGE_SIDE),
            href = xml_escape(&image.data_uri()),
        ));
    }
    for l in card_lines(card, &fonts, square.text_width()) {
        if for_raster {
            svg.push_str(&positioned_runs(
                &l.line,
                TEXT_X,
                l.y,
                &hex(l.colour),
                "line",
            ));
            svg.push('\n');
            continue;
        }
        svg.push_str(&format!(
            "<text x=\"{x}\" y=\"{y}\" font-family=\"{family}\" font-size=\"{size}\" fill=\"{fill}\">{text}</text>\n",
            x = num(TEXT_X),
            y = num(l.y),
            family = FONT_FAMILIES,
            size = num(l.line.size),
            fill = hex(l.colour),
            text = xml_escape(&l.line.text()),
        ));
    }
    let scale = square.side / n as f32;
    svg.push_str(&format!(
        concat!(
            "<a xlink:href=\"{url}\">",
            "<rect x=\"{x}\" y=\"{y}\" width=\"{s}\" height=\"{s}\" fill=\"#ffffff\"/>",
            "<path transform=\"translate({x} {y}) scale({scale})\" fill=\"#000000\" shape-rendering=\"crispEdges\" d=\"{d}\"/>",
            "</a>\n</svg>\n"
        ),
        url = xml_escape(&card.public_url),
        x = num(square.x),
        y = num(square.y),
        s = num(square.side),
        scale = format!("{scale:.6}"),
        d = qr.path_data(),
    ));
    Ok(svg)
}

/// The card as a one-page PDF (MediaBox 257.95 × 155.91 pt = 91 × 55 mm).
pub fn card_pdf(card: &Card) -> Result<Vec<u8>, CardError> {
    pdf::card_pdf(card)
}

/// The QR code of `url` alone, as a PNG with `scale` pixels per module.
pub fn qr_png(url: &str, scale: u32) -> Result<Vec<u8>, CardError> {
    Ok(Qr::new(url)?.png(scale))
}

/// The QR code of `url` alone, as a standalone SVG.
pub fn qr_svg(url: &str) -> Result<String, CardError> {
    Ok(Qr::new(url)?.svg())
}

/// The share preview (`og:image`, `twitter:image`): 1200 × 630 PNG with the badge image,
/// the badge's name, its issuer and its holder.
pub fn share_image_png(card: &Card) -> Result<Vec<u8>, CardError> {
    raster::svg_to_png(&share_svg(card)?, SHARE_WIDTH)
}

/// A line of the share image: its text laid out, its baseline and colour.
#[derive(Clone, Debug)]
pub(crate) struct ShareLine {
    pub role: ShareRole,
    pub line: text::Line,
    pub x: f32,
    /// Baseline, in pixels from the top.
    pub y: f32,
    pub fill: &'static str,
}

/// What a line of the share image says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ShareRole {
    Label,
    Name,
    Issuer,
    Holder,
    Host,
}

impl ShareRole {
    /// The `class` of its SVG `<text>`.
    fn class(self) -> &'static str {
        match self {
            ShareRole::Label => "label",
            ShareRole::Name => "name",
            ShareRole::Issuer => "issuer",
            ShareRole::Holder => "holder",
            ShareRole::Host => "host",
        }
    }
}

/// Where the share image's text goes: right of the 420 px image box, up to 60 px from
/// the right edge.
const SHARE_TEXT_X: f32 = 520.0;
const SHARE_TEXT_WIDTH: f32 = 620.0;

/// The share image's text, laid out with the fonts' metrics: the label, the badge's name
/// on at most two lines (shrunk, then cut with "…" only if even that is too long), the
/// issuer, "Earned by" and the holder's name only when there is a name to show, and the
/// wallet's host.
pub(crate) fn share_layout(card: &Card, fonts: &text::Fonts) -> Vec<ShareLine> {
    let (x, w) = (SHARE_TEXT_X, SHARE_TEXT_WIDTH);
    let mut out = Vec::new();
    let mut push = |role, line: text::Line, y: f32, fill| {
        if !line.runs.is_empty() {
            out.push(ShareLine {
                role,
                line,
                x,
                y,
                fill,
            });
        }
    };
    push(
        ShareRole::Label,
        text::fit(fonts, card.lang.open_badge(), w, 28.0, 24.0),
        165.0,
        "#555555",
    );
    let name = text::wrap(fonts, &card.badge_name, w, 2, 60.0, 32.0);
    let mut y = 245.0;
    let mut last = y;
    for line in name {
        let size = line.size;
        push(ShareRole::Name, line, y, "#111111");
        last = y;
        y += size * 1.22;
    }
    let issuer_y = last + 72.0;
    push(
        ShareRole::Issuer,
        text::fit(
            fonts,
            &card.lang.issued_by(&text::clean(&card.issuer_name)),
            w,
            34.0,
            24.0,
        ),
        issuer_y,
        "#333333",
    );
    let holder = text::clean(&card.holder_name);
    if !holder.is_empty() {
        push(
            ShareRole::Holder,
            text::fit(fonts, &card.lang.earned_by(&holder), w, 34.0, 24.0),
            issuer_y + 56.0,
            "#333333",
        );
    }
    let host = url::Url::parse(&card.public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    push(
        ShareRole::Host,
        text::fit(fonts, &host, w, 26.0, 20.0),
        560.0,
        "#1f4e79",
    );
    out
}

/// One laid-out line as a `<g>` of one `<text>` per run, each in the one font that was
/// measured for it and at the position the layout gave it, so the drawing matches the
/// layout: Latin in DejaVu Sans, Japanese in MotoyaLCedar. (Runs as `<tspan>`s of one
/// `<text>` are not enough: resvg then draws a mixed line's Latin in MotoyaLCedar's
/// monospaced Latin.)
pub(crate) fn positioned_runs(
    line: &text::Line,
    x: f32,
    y: f32,
    fill: &str,
    class: &str,
) -> String {
    let mut out = format!(
        "<g class=\"{class}\" font-size=\"{}\" fill=\"{fill}\">",
        num(line.size)
    );
    let mut at = x;
    for run in &line.runs {
        let family = match run.font {
            text::FontId::Latin => "DejaVu Sans",
            text::FontId::Cjk => "MotoyaLCedar",
        };
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-family=\"{family}\" xml:space=\"preserve\">{}</text>",
            num(at),
            num(y),
            xml_escape(&run.text)
        ));
        at += run.glyphs.iter().map(|g| g.advance).sum::<f32>() * line.size;
    }
    out.push_str("</g>");
    out
}

/// The share preview as SVG, 1200 × 630 px.
pub fn share_svg(card: &Card) -> Result<String, CardError> {
    let fonts = text::Fonts::load()?;
    let mut svg = format!(
        concat!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" ",
            "width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">",
            "<rect width=\"{w}\" height=\"{h}\" fill=\"#f4f6f9\"/>",
            "<rect width=\"{w}\" height=\"14\" fill=\"{accent}\"/>",
            "<rect x=\"60\" y=\"105\" width=\"420\" height=\"420\" rx=\"24\" fill=\"#ffffff\"/>",
        ),
        w = SHARE_WIDTH,
        h = SHARE_HEIGHT,
        accent = hex(layout::ACCENT),
    );
    match &card.badge_image {
        Some(image) => svg.push_str(&format!(
            "<image x=\"90\" y=\"135\" width=\"360\" height=\"360\" preserveAspectRatio=\"xMidYMid meet\" xlink:href=\"{}\"/>",
            xml_escape(&image.data_uri())
        )),
        None => svg.push_str(&format!(
            "<circle cx=\"270\" cy=\"315\" r=\"150\" fill=\"{}\"/>",
            hex(layout::ACCENT)
        )),
    }
    for l in share_layout(card, &fonts) {
        svg.push_str(&positioned_runs(&l.line, l.x, l.y, l.fill, l.role.class()));
    }
    svg.push_str("</svg>\n");
    Ok(svg)
}

/// Width of the PNG business card: 91 mm at 300 dpi.
pub const CARD_PNG_WIDTH: u32 = 1075;

/// The business card as a PNG [`CARD_PNG_WIDTH`] pixels wide, rendered from
/// [`card_svg`] with resvg (our fonts only, within [`raster::MAX_RENDER_PIXELS`]).
pub fn card_png(card: &Card) -> Result<Vec<u8>, CardError> {
    raster::svg_to_png(&card_svg_drawn(card, true)?, CARD_PNG_WIDTH)
}

#[cfg(test)]
mod tests;
