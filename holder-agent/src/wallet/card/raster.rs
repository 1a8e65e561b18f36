//! SVG to pixels with resvg: the share image, PNG cards, and badge images for the PDF.
//!
//! The font database holds only the two vendored fonts (never the system's), so a
//! rendering is the same on every machine. Images inside an SVG are taken only from
//! `data:` URIs, only as PNG within [`MAX_IMAGE_PIXELS`](super::MAX_IMAGE_PIXELS) or as
//! SVG: a badge image cannot make the wallet read a file, fetch a URL or decode a huge
//! bitmap.

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{self, ImageHrefResolver, ImageKind, fontdb};

use super::{BadgeImage, CardError, ImageType, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, text};

/// Largest rendering, in pixels a side.
pub const MAX_RENDER_PIXELS: u32 = 8192;

fn font_db() -> Arc<fontdb::Database> {
    static DB: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = fontdb::Database::new();
        db.load_font_data(text::LATIN_TTF.to_vec());
        db.load_font_data(text::CJK_TTF.to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        Arc::new(db)
    })
    .clone()
}

/// Options for untrusted SVG: our fonts only, no files, `data:` PNGs only.
fn options() -> usvg::Options<'static> {
    let mut opt = usvg::Options {
        font_family: "DejaVu Sans".to_owned(),
        fontdb: font_db(),
        resources_dir: None,
        ..usvg::Options::default()
    };
    opt.image_href_resolver = ImageHrefResolver {
        resolve_data: Box::new(|mime, data, opts| {
            if data.len() > MAX_IMAGE_BYTES {
                return None;
            }
            if mime == "image/svg+xml" {
                // Nested SVG: the same options, and never anything but data: URIs.
                return usvg::Tree::from_data_nested(&data, opts)
                    .ok()
                    .map(ImageKind::SVG);
            }
            match super::png_size(&data) {
                Ok((w, h)) if w <= MAX_IMAGE_PIXELS && h <= MAX_IMAGE_PIXELS => {
                    Some(ImageKind::PNG(data))
                }
                _ => None,
            }
        }),
        resolve_string: Box::new(|_href, _opts| None),
    };
    opt
}

fn parse(svg: &[u8]) -> Result<usvg::Tree, CardError> {
    usvg::Tree::from_data(svg, &options()).map_err(|e| CardError::Render(format!("SVG: {e}")))
}

/// Renders `svg` to a pixmap `width` pixels wide (height to scale).
fn render(tree: &usvg::Tree, width: u32) -> Result<Pixmap, CardError> {
    let size = tree.size();
    let width = width.clamp(1, MAX_RENDER_PIXELS);
    let scale = width as f32 / size.width();
    let height = (size.height() * scale).round();
    if !(1.0..=MAX_RENDER_PIXELS as f32).contains(&height) {
        return Err(CardError::Render(format!(
            "a rendering {width} pixels wide would be {height} high"
        )));
    }
    let mut pixmap =
        Pixmap::new(width, height as u32).ok_or_else(|| CardError::Render("no pixmap".into()))?;
    resvg::render(
        tree,
        Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    Ok(pixmap)
}

/// `svg` as a PNG `width` pixels wide.
pub fn svg_to_png(svg: &str, width: u32) -> Result<Vec<u8>, CardError> {
    let pixmap = render(&parse(svg.as_bytes())?, width)?;
    pixmap
        .encode_png()
        .map_err(|e| CardError::Render(format!("PNG: {e}")))
}

/// A badge image drawn into a `side` × `side` square (centred, aspect kept), as
/// non-premultiplied RGBA rows.
pub(crate) fn badge_rgba(image: &BadgeImage, side: u32) -> Result<Vec<u8>, CardError> {
    let tree = match image.kind() {
        ImageType::Svg => parse(image.bytes())
            .map_err(|e| CardError::Image(format!("SVG does not render: {e}")))?,
        ImageType::Png => {
            let wrapper = format!(
                concat!(
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" ",
                    "width=\"{s}\" height=\"{s}\" viewBox=\"0 0 {s} {s}\">",
                    "<image width=\"{s}\" height=\"{s}\" preserveAspectRatio=\"xMidYMid meet\" xlink:href=\"{href}\"/></svg>"
                ),
                s = side,
                href = image.data_uri()
            );
            parse(wrapper.as_bytes())?
        }
    };
    let size = tree.size();
    let side = side.clamp(1, MAX_RENDER_PIXELS);
    let scale = side as f32 / size.width().max(size.height());
    let dx = (side as f32 - size.width() * scale) / 2.0;
    let dy = (side as f32 - size.height() * scale) / 2.0;
    let mut pixmap =
        Pixmap::new(side, side).ok_or_else(|| CardError::Render("no pixmap".into()))?;
    resvg::render(
        &tree,
        Transform::from_row(scale, 0.0, 0.0, scale, dx, dy),
        &mut pixmap.as_mut(),
    );
    Ok(pixmap
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect())
}

/// Whether `svg` parses with the options every badge image is drawn with (no files, no
/// network, the XML parser's entity limits): an SVG that would not render is refused when
/// it is received, not discovered on every page.
pub(crate) fn check_svg(svg: &[u8]) -> Result<(), CardError> {
    usvg::Tree::from_data(svg, &options())
        .map(|_| ())
        .map_err(|e| CardError::Image(format!("SVG does not parse: {e}")))
}

/// Whether `png` decodes, row by row (never the whole bitmap at once), within
/// [`MAX_IMAGE_PIXELS`](super::MAX_IMAGE_PIXELS) a side: a header that promises more rows
/// than the data holds is refused.
pub(crate) fn check_png(png: &[u8]) -> Result<(), CardError> {
    let bad = |e: png::DecodingError| CardError::Image(format!("PNG does not decode: {e}"));
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_limits(png::Limits {
        bytes: 4 * (super::MAX_IMAGE_PIXELS as usize) * (super::MAX_IMAGE_PIXELS as usize),
    });
    let mut reader = decoder.read_info().map_err(bad)?;
    let (width, height) = (reader.info().width, reader.info().height);
    if width > super::MAX_IMAGE_PIXELS || height > super::MAX_IMAGE_PIXELS {
        return Err(CardError::Image(format!(
            "PNG of {width} × {height} pixels; at most {} a side",
            super::MAX_IMAGE_PIXELS
        )));
    }
    let mut rows = 0u32;
    while reader.next_row().map_err(bad)?.is_some() {
        rows += 1;
    }
    if rows < height {
        return Err(CardError::Image(format!(
            "PNG has {rows} of its {height} rows"
        )));
    }
    Ok(())
}
