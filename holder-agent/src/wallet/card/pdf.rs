//! The card as PDF (pdf-writer): one page of 91 × 55 mm; text in subsets of the vendored
//! fonts (Type 0 / CIDFontType2, Identity-H, with a `ToUnicode` map so the names can be
//! searched and copied), the QR code as filled rectangles, the badge image as an RGB image
//! with a soft mask, and a link annotation over the QR code to the public page.

use std::collections::BTreeMap;
use std::io::Write;

use pdf_writer::types::{
    ActionType, AnnotationType, CidFontType, FontFlags, SystemInfo, UnicodeCmap,
};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use protocol::qr::Qr;

use super::text::{FontId, Fonts};
use super::{CARD_HEIGHT_MM, CARD_WIDTH_MM, Card, CardError, PT_PER_MM, layout, raster};

/// Pixels a side of the badge image in the PDF: 16 mm at ~600 dpi.
const IMAGE_PIXELS: u32 = 384;

fn pt(mm: f32) -> f32 {
    mm * PT_PER_MM
}

/// A PDF y coordinate (from the bottom, pt) of a card y coordinate (from the top, mm).
fn y_pt(mm_from_top: f32) -> f32 {
    pt(CARD_HEIGHT_MM - mm_from_top)
}

fn deflate(data: &[u8]) -> Result<Vec<u8>, CardError> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data)
        .and_then(|_| e.finish())
        .map_err(|e| CardError::Render(format!("deflate: {e}")))
}

fn rgb(c: (u8, u8, u8)) -> (f32, f32, f32) {
    (
        f32::from(c.0) / 255.0,
        f32::from(c.1) / 255.0,
        f32::from(c.2) / 255.0,
    )
}

/// The glyphs of one font a document uses, renumbered for its subset.
#[derive(Default)]
struct FontUse {
    remapper: subsetter::GlyphRemapper,
    /// New glyph id → the character it was used for (for `ToUnicode`).
    chars: BTreeMap<u16, char>,
}

pub(crate) fn card_pdf(card: &Card) -> Result<Vec<u8>, CardError> {
    use layout::*;
    let fonts = Fonts::load()?;
    let qr = Qr::new(&card.public_url)?;
    let square = super::QrSquare::for_modules(qr.size_with_quiet_zone());
    let lines = super::card_lines(card, &fonts, square.text_width());

    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog_id = alloc();
    let pages_id = alloc();
    let page_id = alloc();
    let content_id = alloc();
    let info_id = alloc();
    let annot_id = alloc();

    let (w, h) = (pt(CARD_WIDTH_MM), pt(CARD_HEIGHT_MM));
    let mut content = Content::new();

    // Ground and accent bar.
    content.set_fill_rgb(1.0, 1.0, 1.0);
    content.rect(0.0, 0.0, w, h);
    content.fill_nonzero();
    let (r, g, b) = rgb(ACCENT);
    content.set_fill_rgb(r, g, b);
    content.rect(0.0, 0.0, pt(BAR_WIDTH), h);
    content.fill_nonzero();

    // The badge image.
    let image = match &card.badge_image {
        Some(img) => Some(raster::badge_rgba(img, IMAGE_PIXELS)?),
        None => None,
    };
    if image.is_some() {
        content.save_state();
        content.transform([
            pt(IMAGE_SIDE),
            0.0,
            0.0,
            pt(IMAGE_SIDE),
            pt(IMAGE_X),
            y_pt(IMAGE_Y + IMAGE_SIDE),
        ]);
        content.x_object(Name(b"Im1"));
        content.restore_state();
    }

    // Text: one text object per line, switching fonts between runs.
    let mut uses: [FontUse; 2] = Default::default();
    let index = |f: FontId| match f {
        FontId::Latin => 0,
        FontId::Cjk => 1,
    };
    for l in &lines {
        let (r, g, b) = rgb(l.colour);
        content.set_fill_rgb(r, g, b);
        content.begin_text();
        content.next_line(pt(TEXT_X), y_pt(l.y));
        for run in &l.line.runs {
            let name = match run.font {
                FontId::Latin => Name(b"F1"),
                FontId::Cjk => Name(b"F2"),
            };
            content.set_font(name, pt(l.line.size));
            let u = &mut uses[index(run.font)];
            let mut codes = Vec::with_capacity(run.glyphs.len() * 2);
            for glyph in &run.glyphs {
                let new = u.remapper.remap(glyph.gid);
                u.chars.entry(new).or_insert(glyph.c);
                codes.extend_from_slice(&new.to_be_bytes());
            }
            content.show(Str(&codes));
        }
        content.end_text();
    }

    // The QR code: one filled rectangle per run of dark modules, on white.
    let n = qr.size_with_quiet_zone() as f32;
    let side = pt(square.side);
    let module = side / n;
    let (qx, qy_top) = (pt(square.x), y_pt(square.y));
    content.set_fill_rgb(1.0, 1.0, 1.0);
    content.rect(qx, qy_top - side, side, side);
    content.fill_nonzero();
    content.set_fill_rgb(0.0, 0.0, 0.0);
    for (x, y, len) in qr.dark_runs() {
        content.rect(
            qx + x as f32 * module,
            qy_top - (y as f32 + 1.0) * module,
            len as f32 * module,
            module,
        );
    }
    content.fill_nonzero();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(pages_id);
    pdf.pages(pages_id).kids([page_id]).count(1);

    // Fonts actually used, each with its subset.
    let mut font_refs = Vec::new();
    for (i, id) in [FontId::Latin, FontId::Cjk].into_iter().enumerate() {
        if uses[i].chars.is_empty() {
            continue;
        }
        let type0 = alloc();
        let cid = alloc();
        let descriptor = alloc();
        let file = alloc();
        let cmap = alloc();
        write_font(
            &mut pdf,
            &fonts,
            id,
            &uses[i],
            [type0, cid, descriptor, file, cmap],
        )?;
        font_refs.push((if i == 0 { Name(b"F1") } else { Name(b"F2") }, type0));
    }

    let image_ids = match &image {
        Some(rgba) => {
            let image_id = alloc();
            let mask_id = alloc();
            let rgb: Vec<u8> = rgba
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            let alpha: Vec<u8> = rgba.chunks_exact(4).map(|p| p[3]).collect();
            let side = i32::try_from(IMAGE_PIXELS).unwrap_or(i32::MAX);
            let rgb = deflate(&rgb)?;
            let mut img = pdf.image_xobject(image_id, &rgb);
            img.filter(Filter::FlateDecode);
            img.width(side);
            img.height(side);
            img.color_space().device_rgb();
            img.bits_per_component(8);
            img.s_mask(mask_id);
            img.finish();
            let alpha = deflate(&alpha)?;
            let mut mask = pdf.image_xobject(mask_id, &alpha);
            mask.filter(Filter::FlateDecode);
            mask.width(side);
            mask.height(side);
            mask.color_space().device_gray();
            mask.bits_per_component(8);
            mask.finish();
            Some(image_id)
        }
        None => None,
    };

    let mut page = pdf.page(page_id);
    page.media_box(Rect::new(0.0, 0.0, w, h));
    page.parent(pages_id);
    page.contents(content_id);
    page.annotations([annot_id]);
    let mut resources = page.resources();
    {
        let mut f = resources.fonts();
        for (name, r) in &font_refs {
            f.pair(*name, *r);
        }
    }
    if let Some(id) = image_ids {
        resources.x_objects().pair(Name(b"Im1"), id);
    }
    resources.finish();
    page.finish();

    let mut annot = pdf.annotation(annot_id);
    annot.subtype(AnnotationType::Link);
    annot.rect(Rect::new(qx, qy_top - side, qx + side, qy_top));
    annot.border(0.0, 0.0, 0.0, None);
    annot
        .action()
        .action_type(ActionType::Uri)
        .uri(Str(card.public_url.as_bytes()));
    annot.finish();

    let title = format!(
        "{} — {}",
        super::text::clean(&card.holder_name),
        super::text::clean(&card.badge_name)
    );
    pdf.document_info(info_id)
        .title(TextStr(&title))
        .producer(TextStr("Akashi wallet"));

    let content = deflate(&content.finish())?;
    pdf.stream(content_id, &content).filter(Filter::FlateDecode);
    Ok(pdf.finish())
}

/// Writes the Type 0 font, its CIDFont, descriptor, subset font file and `ToUnicode` map.
fn write_font(
    pdf: &mut Pdf,
    fonts: &Fonts,
    id: FontId,
    used: &FontUse,
    [type0, cid, descriptor, file, cmap]: [Ref; 5],
) -> Result<(), CardError> {
    let face = fonts.face(id);
    let base: &[u8] = match id {
        FontId::Latin => b"AKLATN+DejaVuSans",
        FontId::Cjk => b"AKJAPN+MotoyaLCedar",
    };
    let subset = subsetter::subset(id.data(), 0, &used.remapper)
        .map_err(|e| CardError::Font(format!("{id:?} subset: {e}")))?;
    let units = f32::from(face.units_per_em());
    let to_1000 = |v: f32| v * 1000.0 / units;

    pdf.type0_font(type0)
        .base_font(Name(base))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap);

    let mut cid_font = pdf.cid_font(cid);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(Name(base))
        .system_info(SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        })
        .font_descriptor(descriptor)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    let widths: Vec<f32> = used
        .remapper
        .remapped_gids()
        .map(|old| to_1000(fonts.advance(id, old) * units))
        .collect();
    cid_font.widths().consecutive(0, widths);
    cid_font.finish();

    let bbox = face.global_bounding_box();
    pdf.font_descriptor(descriptor)
        .name(Name(base))
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(
            to_1000(f32::from(bbox.x_min)),
            to_1000(f32::from(bbox.y_min)),
            to_1000(f32::from(bbox.x_max)),
            to_1000(f32::from(bbox.y_max)),
        ))
        .italic_angle(0.0)
        .ascent(to_1000(f32::from(face.ascender())))
        .descent(to_1000(f32::from(face.descender())))
        .cap_height(to_1000(f32::from(
            face.capital_height().unwrap_or(face.ascender()),
        )))
        .stem_v(80.0)
        .font_file2(file);

    let compressed = deflate(&subset)?;
    pdf.stream(file, &compressed).filter(Filter::FlateDecode);

    let mut map = UnicodeCmap::new(
        Name(b"Akashi-Identity-UCS"),
        SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"UCS"),
            supplement: 0,
        },
    );
    for (gid, c) in &used.chars {
        map.pair(*gid, *c);
    }
    pdf.cmap(cmap, &map.finish());
    Ok(())
}
