//! The two vendored fonts (`fonts/README.md`) and the little text layout a card needs:
//! each character comes from DejaVu Sans when it has a glyph for it, else from
//! MotoyaLCedar (Japanese), else it is drawn as DejaVu's missing-glyph box. A line is
//! measured with the fonts' advances (no kerning, no shaping: enough for names in Latin,
//! Greek, Cyrillic and Japanese scripts), shrunk down to a smallest size to fit its box,
//! and cut with "…" when even that is too wide.

use ttf_parser::Face;

use super::CardError;

/// DejaVu Sans: Latin, Greek, Cyrillic and symbols.
pub(crate) static LATIN_TTF: &[u8] = include_bytes!("../../../fonts/DejaVuSans.ttf");
/// MotoyaLCedar W3: kana and the JIS X 0208 kanji.
pub(crate) static CJK_TTF: &[u8] = include_bytes!("../../../fonts/MTLc3m.ttf");

/// The family names as the fonts declare them, first choice first (SVG `font-family`).
pub const FONT_FAMILIES: &str = "'DejaVu Sans', 'MotoyaLCedar', sans-serif";

/// Which of the two fonts a run of text is drawn with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FontId {
    Latin,
    Cjk,
}

impl FontId {
    pub(crate) fn data(self) -> &'static [u8] {
        match self {
            FontId::Latin => LATIN_TTF,
            FontId::Cjk => CJK_TTF,
        }
    }
}

/// Both fonts, parsed.
pub(crate) struct Fonts {
    pub latin: Face<'static>,
    pub cjk: Face<'static>,
}

impl Fonts {
    pub(crate) fn load() -> Result<Fonts, CardError> {
        let parse = |id: FontId| {
            Face::parse(id.data(), 0).map_err(|e| CardError::Font(format!("{id:?} font: {e}")))
        };
        Ok(Fonts {
            latin: parse(FontId::Latin)?,
            cjk: parse(FontId::Cjk)?,
        })
    }

    pub(crate) fn face(&self, id: FontId) -> &Face<'static> {
        match id {
            FontId::Latin => &self.latin,
            FontId::Cjk => &self.cjk,
        }
    }

    /// The font and glyph drawing `c`.
    fn glyph(&self, c: char) -> (FontId, u16) {
        if let Some(g) = self.latin.glyph_index(c) {
            return (FontId::Latin, g.0);
        }
        if let Some(g) = self.cjk.glyph_index(c) {
            return (FontId::Cjk, g.0);
        }
        (FontId::Latin, 0)
    }

    /// Advance of glyph `gid` of `font`, in ems.
    pub(crate) fn advance(&self, font: FontId, gid: u16) -> f32 {
        let face = self.face(font);
        let units = face
            .glyph_hor_advance(ttf_parser::GlyphId(gid))
            .unwrap_or(0);
        f32::from(units) / f32::from(face.units_per_em())
    }

    /// `text` as runs of one font each.
    pub(crate) fn runs(&self, text: &str) -> Vec<Run> {
        let mut runs: Vec<Run> = Vec::new();
        for c in text.chars() {
            let (font, gid) = self.glyph(c);
            let advance = self.advance(font, gid);
            match runs.last_mut() {
                Some(run) if run.font == font => {
                    run.text.push(c);
                    run.glyphs.push(Glyph { gid, c, advance });
                }
                _ => runs.push(Run {
                    font,
                    text: c.to_string(),
                    glyphs: vec![Glyph { gid, c, advance }],
                }),
            }
        }
        runs
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Glyph {
    pub gid: u16,
    pub c: char,
    /// In ems.
    pub advance: f32,
}

/// Characters drawn with one font.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub font: FontId,
    pub text: String,
    pub glyphs: Vec<Glyph>,
}

/// A line of text laid out for a box: its runs and the font size (in the box's unit).
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub runs: Vec<Run>,
    pub size: f32,
}

impl Line {
    /// The width, in the box's unit.
    #[cfg(test)]
    fn width(&self) -> f32 {
        ems(&self.runs) * self.size
    }

    pub(crate) fn text(&self) -> String {
        self.runs.iter().map(|r| r.text.as_str()).collect()
    }
}

fn ems(runs: &[Run]) -> f32 {
    runs.iter()
        .flat_map(|r| r.glyphs.iter())
        .map(|g| g.advance)
        .sum()
}

/// Control characters become spaces, runs of white space one space, and the ends are
/// trimmed: a name is one line.
pub(crate) fn clean(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lays `text` out at `max_size`, shrinking it (down to `min_size`) until it is at most
/// `max_width` wide, then cutting it with "…".
pub(crate) fn fit(fonts: &Fonts, text: &str, max_width: f32, max_size: f32, min_size: f32) -> Line {
    let text = clean(text);
    let runs = fonts.runs(&text);
    let width_ems = ems(&runs);
    if width_ems * max_size <= max_width {
        return Line {
            runs,
            size: max_size,
        };
    }
    if width_ems * min_size <= max_width {
        return Line {
            runs,
            size: max_width / width_ems,
        };
    }
    let chars: Vec<char> = text.chars().collect();
    let mut keep = chars.len();
    loop {
        keep = keep.saturating_sub(1);
        let cut: String = chars[..keep]
            .iter()
            .collect::<String>()
            .trim_end()
            .to_owned()
            + "…";
        let runs = fonts.runs(&cut);
        let width = ems(&runs) * min_size;
        if width <= max_width || keep == 0 {
            return Line {
                runs,
                size: min_size,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_comes_from_the_cjk_font_and_latin_from_dejavu() {
        let fonts = Fonts::load().unwrap();
        let runs = fonts.runs("José 山田太郎");
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].font, FontId::Latin);
        assert_eq!(runs[0].text, "José ");
        assert_eq!(runs[1].font, FontId::Cjk);
        assert_eq!(runs[1].text, "山田太郎");
        assert!(runs.iter().flat_map(|r| &r.glyphs).all(|g| g.gid != 0));
        // Full-width kanji are one em wide.
        assert!(
            runs[1]
                .glyphs
                .iter()
                .all(|g| (g.advance - 1.0).abs() < 1e-3)
        );
    }

    #[test]
    fn long_text_shrinks_then_is_cut() {
        let fonts = Fonts::load().unwrap();
        let short = fit(&fonts, "Ada", 40.0, 5.0, 3.0);
        assert_eq!(short.size, 5.0);
        let longer = fit(&fonts, "Ada Lovelace of Byron", 40.0, 5.0, 3.0);
        assert!(longer.size < 5.0 && longer.size >= 3.0, "{}", longer.size);
        assert!((longer.width() - 40.0).abs() < 1e-3);
        let long = fit(&fonts, &"情報処理安全確保支援士".repeat(4), 40.0, 5.0, 3.0);
        assert_eq!(long.size, 3.0);
        assert!(long.width() <= 40.0);
        assert!(long.text().ends_with('…'), "{}", long.text());
        assert_eq!(clean(" a\n\tb\u{0}c  "), "a b c");
    }
}
