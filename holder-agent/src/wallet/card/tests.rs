use quick_xml::events::Event;

use super::*;

const URL: &str = "https://wallet.example.org/p/Zk3mQ8vT2xLr";

fn card(holder: &str, badge: &str, lang: Lang) -> Card {
    Card {
        holder_name: holder.to_owned(),
        badge_name: badge.to_owned(),
        issuer_name: "Example University".to_owned(),
        badge_image: None,
        public_url: URL.to_owned(),
        lang,
    }
}

/// A small PNG (a QR code is a handy real one).
fn png() -> Vec<u8> {
    Qr::new("badge").unwrap().png(2)
}

/// Parses `svg` with quick-xml: the root's attributes, and every `<text>`'s content.
fn parse_svg(svg: &str) -> (Vec<(String, String)>, Vec<String>, Vec<String>) {
    let mut reader = quick_xml::Reader::from_str(svg);
    let mut root = None;
    let mut elements = Vec::new();
    let mut texts = Vec::new();
    let mut in_text = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                if root.is_none() {
                    root = Some(
                        e.attributes()
                            .map(|a| {
                                let a = a.expect("attribute");
                                (
                                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                                    a.unescape_value().expect("value").into_owned(),
                                )
                            })
                            .collect(),
                    );
                }
                // A `<tspan>` (one font's run) is part of its `<text>`.
                in_text = name == "text" || (in_text && name == "tspan");
                if name == "text" {
                    texts.push(String::new());
                }
                elements.push(name);
            }
            Event::Text(t) if in_text => {
                let s = t.decode().expect("text").into_owned();
                let s = quick_xml::escape::unescape(&s)
                    .expect("entities")
                    .into_owned();
                texts.last_mut().unwrap().push_str(&s);
            }
            Event::GeneralRef(r) if in_text => {
                let name = String::from_utf8(r.to_vec()).unwrap();
                let s = quick_xml::escape::unescape(&format!("&{name};"))
                    .expect("entity")
                    .into_owned();
                texts.last_mut().unwrap().push_str(&s);
            }
            Event::End(e) if e.name().as_ref() == b"tspan" => {}
            Event::End(_) => in_text = false,
            Event::Eof => break,
            _ => {}
        }
    }
    (root.expect("a root element"), elements, texts)
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> &'a str {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("attribute {name}"))
}

#[test]
fn svg_is_well_formed_and_91_by_55_mm() {
    let mut c = card("Ada Lovelace", "Analytical Engines 101", Lang::En);
    c.badge_image = Some(BadgeImage::new("image/png", png()).unwrap());
    let svg = card_svg(&c).unwrap();
    let (root, elements, texts) = parse_svg(&svg);
    assert_eq!(elements[0], "svg");
    assert_eq!(attr(&root, "width"), "91mm");
    assert_eq!(attr(&root, "height"), "55mm");
    assert_eq!(attr(&root, "viewBox"), "0 0 91 55");
    assert!(elements.iter().any(|e| e == "image"));
    assert!(elements.iter().any(|e| e == "path"));
    assert_eq!(texts[0], "Ada Lovelace");
    assert_eq!(texts[1], "Analytical Engines 101");
    assert_eq!(texts[2], "Issued by Example University");
    assert!(svg.contains("data:image/png;base64,"));
}

#[test]
fn hostile_names_are_escaped() {
    let evil = "</text><script>&amp;\"'\u{1}";
    let c = card(evil, "<b onload=x>", Lang::En);
    let svg = card_svg(&c).unwrap();
    let (_, elements, texts) = parse_svg(&svg);
    assert!(!elements.iter().any(|e| e == "script" || e == "b"));
    assert!(!svg.contains("<script"));
    assert_eq!(texts[0], "</text><script>&amp;\"'");
    assert_eq!(texts[1], "<b onload=x>");
    assert_eq!(xml_escape("a<&>\"'\u{7}b"), "a&lt;&amp;&gt;&quot;&apos;b");
}

#[test]
fn japanese_card_has_japanese_texts() {
    let c = card("山田 太郎", "情報処理安全確保支援士", Lang::Ja);
    let (root, _, texts) = parse_svg(&card_svg(&c).unwrap());
    assert_eq!(attr(&root, "lang"), "ja");
    assert_eq!(texts[0], "山田 太郎");
    assert_eq!(texts[1], "情報処理安全確保支援士");
    assert_eq!(texts[2], "発行: Example University");
}

/// The numbers of `/MediaBox [a b c d]` in a PDF.
fn media_box(pdf: &[u8]) -> Vec<f32> {
    let text = String::from_utf8_lossy(pdf);
    let start = text.find("/MediaBox [").expect("a MediaBox") + "/MediaBox [".len();
    let end = start + text[start..].find(']').expect("closed");
    text[start..end]
        .split_whitespace()
        .map(|n| n.parse().expect("a number"))
        .collect()
}

#[test]
fn pdf_is_a_91_by_55_mm_page() {
    let mut c = card("Ada Lovelace", "Analytical Engines 101", Lang::En);
    c.badge_image = Some(BadgeImage::new("image/png", png()).unwrap());
    let pdf = card_pdf(&c).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
    let mb = media_box(&pdf);
    assert_eq!(mb.len(), 4);
    assert_eq!((mb[0], mb[1]), (0.0, 0.0));
    assert!((mb[2] - 257.95).abs() < 0.01, "{mb:?}");
    assert!((mb[3] - 155.91).abs() < 0.01, "{mb:?}");
    assert!((mb[2] / PT_PER_MM - 91.0).abs() < 0.01);
    assert!((mb[3] / PT_PER_MM - 55.0).abs() < 0.01);
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/FontFile2"));
    assert!(text.contains("/ToUnicode"));
    assert!(text.contains("/SMask"), "the badge image with its alpha");
    assert!(text.contains(URL), "the link annotation");
    assert!(text.contains("AKLATN+DejaVuSans"));
    assert!(
        !text.contains("AKJAPN"),
        "no Japanese font when no Japanese text"
    );
}

#[test]
fn japanese_pdf_embeds_the_japanese_font_subset() {
    let c = card("山田 太郎", "情報処理安全確保支援士", Lang::Ja);
    let pdf = card_pdf(&c).unwrap();
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("AKJAPN+MotoyaLCedar"));
    assert!(
        text.contains("AKLATN+DejaVuSans"),
        "the issuer's Latin name"
    );
    // Subsets, not the whole 1.9 MB font.
    assert!(pdf.len() < 200_000, "{} bytes", pdf.len());
}

#[test]
fn badge_images_are_checked() {
    assert!(matches!(
        BadgeImage::new("image/gif", b"GIF89a".to_vec()),
        Err(CardError::Image(m)) if m.contains("image/gif")
    ));
    assert!(matches!(
        BadgeImage::new("image/png", b"not a png at all, really".to_vec()),
        Err(CardError::Image(m)) if m.contains("not a PNG")
    ));
    assert!(matches!(
        BadgeImage::new("image/png", vec![0; MAX_IMAGE_BYTES + 1]),
        Err(CardError::Image(m)) if m.contains("bytes")
    ));
    // A PNG header announcing 100 000 × 10 pixels.
    let mut huge = png();
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    assert!(matches!(
        BadgeImage::new("image/png", huge),
        Err(CardError::Image(m)) if m.contains("100000")
    ));
    let from_uri =
        BadgeImage::from_data_uri(&BadgeImage::new("image/png", png()).unwrap().data_uri())
            .unwrap();
    assert_eq!(from_uri.bytes(), png());
    let svg = BadgeImage::from_data_uri("data:image/svg+xml;charset=utf-8,%3Csvg%2F%3E").unwrap();
    assert_eq!(svg.kind(), ImageType::Svg);
    assert_eq!(svg.bytes(), b"<svg/>");
    assert!(BadgeImage::from_data_uri("https://example.org/a.png").is_err());
}

#[test]
fn svg_badge_images_cannot_read_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.png");
    std::fs::write(&path, png()).unwrap();
    let side = 64;
    let referencing = |href: &str| {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"10\" height=\"10\"><image width=\"10\" height=\"10\" xlink:href=\"{href}\"/></svg>"
        )
    };
    for href in [
        path.display().to_string(),
        format!("file://{}", path.display()),
    ] {
        let img = BadgeImage::new("image/svg+xml", referencing(&href).into_bytes()).unwrap();
        let rgba = raster::badge_rgba(&img, side).unwrap();
        assert!(rgba.chunks(4).all(|p| p[3] == 0), "{href} was read");
    }
    // The same picture as a data: URI is drawn.
    let inline = BadgeImage::new("image/png", png()).unwrap().data_uri();
    let img = BadgeImage::new("image/svg+xml", referencing(&inline).into_bytes()).unwrap();
    let rgba = raster::badge_rgba(&img, side).unwrap();
    let dark = |rgba: &[u8]| rgba.chunks(4).filter(|p| p[3] > 200 && p[0] < 60).count();
    assert!(dark(&rgba) > 64 * 64 / 10, "black modules: {}", dark(&rgba));
    let png_image = BadgeImage::new("image/png", png()).unwrap();
    let rgba = raster::badge_rgba(&png_image, side).unwrap();
    assert!(dark(&rgba) > 64 * 64 / 10, "black modules: {}", dark(&rgba));
}

#[test]
fn share_image_is_1200_by_630() {
    let mut c = card("山田 太郎", "情報処理安全確保支援士", Lang::Ja);
    c.badge_image = Some(BadgeImage::new("image/png", png()).unwrap());
    let png_bytes = share_image_png(&c).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes));
    let reader = decoder.read_info().unwrap();
    assert_eq!(
        (reader.info().width, reader.info().height),
        (SHARE_WIDTH, SHARE_HEIGHT)
    );
    let (_, _, texts) = parse_svg(&share_svg(&c).unwrap());
    let all = texts.concat();
    assert!(
        texts.contains(&"情報処理安全確保支援士".to_owned()),
        "{texts:?}"
    );
    assert!(all.contains("発行: Example University"), "{texts:?}");
    assert!(
        texts.contains(&"wallet.example.org".to_owned()),
        "{texts:?}"
    );
}

/// The share image's text as laid out: the badge's name on at most two lines, every line
/// inside the picture, nothing of a bilingual name cut, "Earned by" only with a name.
#[test]
fn share_layout_wraps_the_name_on_two_lines_within_the_image() {
    let fonts = text::Fonts::load().unwrap();
    let within = |lines: &[ShareLine]| {
        for l in lines {
            assert!(
                l.x >= 0.0 && l.x + l.line.width() <= SHARE_WIDTH as f32 - 40.0,
                "{l:?}"
            );
            assert!(
                l.y - l.line.size >= 14.0 && l.y <= SHARE_HEIGHT as f32 - 20.0,
                "{l:?}"
            );
        }
        // Lines do not overlap: each baseline is at least a line below the previous one.
        for pair in lines.windows(2) {
            assert!(pair[1].y - pair[0].y >= pair[1].line.size, "{pair:?}");
        }
    };
    let names = |lines: &[ShareLine]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.role == ShareRole::Name)
            .map(|l| l.line.text())
            .collect()
    };

    // A long bilingual name: two lines, all of it there, nothing cut.
    let bilingual = "Digital Promotion Volunteer (Advanced) デジタル推進委員（上級）";
    let c = card("Maria Fernández-Ōtsuka", bilingual, Lang::En);
    let lines = share_layout(&c, &fonts);
    within(&lines);
    let name = names(&lines);
    assert_eq!(name.len(), 2, "{name:?}");
    assert_eq!(name.concat().replace(' ', ""), bilingual.replace(' ', ""));
    assert!(!name.concat().contains('…'));
    let roles: Vec<ShareRole> = lines.iter().map(|l| l.role).collect();
    assert_eq!(
        roles,
        [
            ShareRole::Label,
            ShareRole::Name,
            ShareRole::Name,
            ShareRole::Issuer,
            ShareRole::Holder,
            ShareRole::Host
        ]
    );
    let holder = lines.iter().find(|l| l.role == ShareRole::Holder).unwrap();
    assert_eq!(holder.line.text(), "Earned by Maria Fernández-Ōtsuka");
    // The Latin runs are measured (and drawn) in DejaVu Sans, the Japanese in MotoyaLCedar.
    let runs: Vec<(text::FontId, String)> = lines
        .iter()
        .filter(|l| l.role == ShareRole::Name)
        .flat_map(|l| l.line.runs.iter().map(|r| (r.font, r.text.clone())))
        .collect();
    assert!(
        runs.iter()
            .any(|(f, t)| *f == text::FontId::Latin && t.contains("Digital"))
    );
    assert!(
        runs.iter()
            .any(|(f, t)| *f == text::FontId::Cjk && t.contains("推進委員"))
    );
    let svg = share_svg(&c).unwrap();
    assert!(
        svg.contains("font-family=\"DejaVu Sans\" xml:space=\"preserve\">Digital"),
        "{svg}"
    );
    assert!(
        svg.contains("font-family=\"MotoyaLCedar\" xml:space=\"preserve\">デジタル"),
        "{svg}"
    );

    // A Japanese name, the holder not shown: one line, no "取得者" left dangling.
    let c = card("", "情報処理安全確保支援士", Lang::Ja);
    let lines = share_layout(&c, &fonts);
    within(&lines);
    assert_eq!(names(&lines), ["情報処理安全確保支援士"]);
    assert!(lines.iter().all(|l| l.role != ShareRole::Holder));
    assert!(!share_svg(&c).unwrap().contains("取得者"));
    let c = card("  \n ", "Badge", Lang::En);
    assert!(!share_svg(&c).unwrap().contains("Earned by"));

    // A hostile, absurdly long name: still two lines inside the picture, the second cut.
    let c = card("x", &"\"><script>&amp; 長い名前".repeat(30), Lang::Ja);
    let lines = share_layout(&c, &fonts);
    within(&lines);
    let name = names(&lines);
    assert_eq!(name.len(), 2);
    assert!(name[1].ends_with('…'), "{name:?}");
    let svg = share_svg(&c).unwrap();
    assert!(!svg.contains("<script"));
    parse_svg(&svg);
}

#[test]
fn card_png_is_91_mm_at_300_dpi() {
    let mut c = card("山田 太郎 Ada", "情報処理安全確保支援士", Lang::Ja);
    c.badge_image = Some(BadgeImage::new("image/png", png()).unwrap());
    let png_bytes = card_png(&c).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes));
    let reader = decoder.read_info().unwrap();
    // 91 × 55 mm: 1075 × 650 pixels.
    assert_eq!((reader.info().width, reader.info().height), (1075, 650));
}

#[test]
fn qr_alone_as_png_and_svg() {
    let png_bytes = qr_png(URL, 4).unwrap();
    assert!(png_bytes.starts_with(b"\x89PNG"));
    let svg = qr_svg(URL).unwrap();
    parse_svg(&svg);
    assert!(matches!(
        qr_png(&"x".repeat(3000), 4),
        Err(CardError::Qr(_))
    ));
}

/// A URL's code keeps the 30 mm square; a dense one (an offline card's proof) grows it to
/// keep 0.35 mm modules, up to 36 mm, and the text column narrows by as much.
#[test]
fn the_qr_square_grows_for_dense_codes_only() {
    use super::{MAX_QR_SIDE_MM, MIN_QR_MODULE_MM, QrSquare, layout};
    let url = QrSquare::for_modules(
        Qr::new("https://wallet.example.org/p/Zk3mQ8vT2xLrP4sN7wB1cD")
            .unwrap()
            .size_with_quiet_zone(),
    );
    assert_eq!(
        (url.x, url.y, url.side),
        (layout::QR_X, 12.5, layout::QR_SIDE)
    );
    assert_eq!(url.text_width(), layout::TEXT_WIDTH);
    // Version 18: 89 modules and the quiet zone.
    let dense = QrSquare::for_modules(97);
    assert!(dense.module_mm(97) >= MIN_QR_MODULE_MM - 1e-6, "{dense:?}");
    assert!((dense.x + dense.side - (layout::QR_X + layout::QR_SIDE)).abs() < 1e-4);
    assert!(dense.text_width() < layout::TEXT_WIDTH);
    assert!(dense.y >= 0.0 && dense.y + dense.side <= super::CARD_HEIGHT_MM);
    // Larger than the card allows: capped, modules smaller.
    let huge = QrSquare::for_modules(185);
    assert_eq!(huge.side, MAX_QR_SIDE_MM);
    assert!(huge.module_mm(185) < MIN_QR_MODULE_MM);
}
