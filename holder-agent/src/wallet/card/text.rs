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
    pub(crate) fn width(&self) -> f32 {
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

/// Characters a line may not start with (closing brackets and Japanese punctuation,
/// the core of JIS X 4051's line-start rule).
const NO_LINE_START: &str = "、。，．,.)）」』】〕〉》!！?？:：;；ー…々ゃゅょっァィゥェォャュョッ";
/// Characters a line may not end with (opening brackets).
const NO_LINE_END: &str = "(（「『【〔〈《";

/// Whether a line may break between `a` and `b`: after a space, or between two
/// characters of which one is Japanese (kana, kanji, full-width forms), unless
/// [`NO_LINE_START`] or [`NO_LINE_END`] forbid it.
fn break_between(a: char, b: char) -> bool {
    if NO_LINE_START.contains(b) || NO_LINE_END.contains(a) {
        return false;
    }
    a == ' ' || (b != ' ' && (is_cjk(a) || is_cjk(b)))
}

/// Kana, kanji and the full-width forms: text that breaks between any two characters.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}

/// `text` cut into the pieces a line may break between (a space stays at the end of the
/// piece before it).
fn pieces(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut prev: Option<char> = None;
    for c in text.chars() {
        match (prev, out.last_mut()) {
            (Some(p), Some(last)) if !break_between(p, c) => last.push(c),
            _ => out.push(c.to_string()),
        }
        prev = Some(c);
    }
    out
}

/// `text` on lines at most `max_width` wide at `size`, greedily; a piece wider than a
/// line on its own is split between characters.
fn fill(fonts: &Fonts, text: &str, max_width: f32, size: f32) -> Vec<String> {
    let fits = |s: &str| ems(&fonts.runs(s.trim_end())) * size <= max_width;
    let mut lines = Vec::new();
    let mut line = String::new();
    for piece in pieces(text) {
        let candidate = format!("{line}{piece}");
        if fits(&candidate) {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(line.trim_end().to_owned());
            line = String::new();
        }
        for c in piece.chars() {
            let candidate = format!("{line}{c}");
            if fits(&candidate) || line.is_empty() {
                line = candidate;
            } else {
                lines.push(line.trim_end().to_owned());
                line = c.to_string();
            }
        }
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// The narrowest filling of `text` at `size` that needs no more lines than `lines` (the
/// filling at `max_width`), so the lines come out of about equal length.
fn balance(
    fonts: &Fonts,
    text: &str,
    max_width: f32,
    size: f32,
    lines: Vec<String>,
) -> Vec<String> {
    let n = lines.len();
    if n < 2 {
        return lines;
    }
    // Never narrower than the widest piece: balancing must not split a word.
    let widest = pieces(text)
        .iter()
        .map(|p| ems(&fonts.runs(p.trim_end())) * size)
        .fold(0.0, f32::max);
    let (mut lo, mut hi) = ((max_width / n as f32).max(widest), max_width);
    let mut best = lines;
    if lo >= hi {
        return best;
    }
    for _ in 0..16 {
        let mid = (lo + hi) / 2.0;
        let tried = fill(fonts, text, mid, size);
        if tried.len() <= n {
            best = tried;
            hi = mid;
        } else {
            lo = mid;
        }
    }
    best
}

/// Lays `text` out on at most `max_lines` lines of at most `max_width`: on one line if it
/// fits there at four fifths of `max_size` or more; else at the largest size from
/// `max_size` down to `min_size` (in steps of a tenth) at which it fits on `max_lines`,
/// breaking after spaces and between Japanese characters, the lines balanced (as narrow
/// as still gives that many lines); when even `min_size` needs more lines, the last one
/// is cut with "…". Every line has the same size.
pub(crate) fn wrap(
    fonts: &Fonts,
    text: &str,
    max_width: f32,
    max_lines: usize,
    max_size: f32,
    min_size: f32,
) -> Vec<Line> {
    let text = clean(text);
    if text.is_empty() || max_lines == 0 {
        return Vec::new();
    }
    let one_line = fit(fonts, &text, max_width, max_size, max_size * 0.8);
    if one_line.text() == text {
        return vec![one_line];
    }
    let step = ((max_size - min_size) / 10.0).max(0.1);
    let mut size = max_size;
    loop {
        let lines = fill(fonts, &text, max_width, size);
        if lines.len() <= max_lines {
            let lines = balance(fonts, &text, max_width, size, lines);
            return lines
                .iter()
                .map(|l| Line {
                    runs: fonts.runs(l),
                    size,
                })
                .collect();
        }
        if size <= min_size {
            // The first lines as filled, the rest cut on the last line.
            let mut out: Vec<Line> = lines[..max_lines - 1]
                .iter()
                .map(|l| Line {
                    runs: fonts.runs(l),
                    size,
                })
                .collect();
            let rest = lines[max_lines - 1..].join(" ");
            out.push(fit(fonts, &rest, max_width, size, size));
            return out;
        }
        size = (size - step).max(min_size);
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

    #[test]
    fn wrapping_breaks_after_spaces_and_between_japanese_characters() {
        let fonts = Fonts::load().unwrap();
        assert_eq!(
            pieces("Ab cd デジタル。推進"),
            ["Ab ", "cd ", "デ", "ジ", "タ", "ル。", "推", "進"]
        );
        assert_eq!(pieces("（注）a"), ["（注）", "a"]);
        // Fits on one line at the largest size.
        let one = wrap(&fonts, "Ada", 100.0, 2, 10.0, 5.0);
        assert_eq!((one.len(), one[0].size), (1, 10.0));
        // Two lines, each within the width, nothing lost.
        let text = "Digital Promotion Volunteer デジタル推進委員 2026";
        let two = wrap(&fonts, text, 400.0, 2, 30.0, 20.0);
        assert_eq!(two.len(), 2, "{two:?}");
        assert!(two.iter().all(|l| l.width() <= 400.0 + 1e-3));
        let joined: String = two.iter().map(Line::text).collect::<Vec<_>>().join("");
        assert_eq!(joined.replace(' ', ""), text.replace(' ', ""));
        // Too long even at the smallest size: two lines, the second cut.
        let long = wrap(
            &fonts,
            &"情報処理安全確保支援士".repeat(6),
            300.0,
            2,
            30.0,
            20.0,
        );
        assert_eq!(long.len(), 2);
        assert_eq!(long[1].size, 20.0);
        assert!(long[1].text().ends_with('…'), "{}", long[1].text());
        assert!(long.iter().all(|l| l.width() <= 300.0 + 1e-3));
        // A single word wider than a line is split between characters.
        let word = wrap(&fonts, &"W".repeat(40), 300.0, 2, 30.0, 20.0);
        assert!(word.iter().all(|l| l.width() <= 300.0 + 1e-3), "{word:?}");
        assert!(wrap(&fonts, "  ", 300.0, 2, 30.0, 20.0).is_empty());
    }
}
