//! QR codes for OpenID4VCI credential offers and OpenID4VP requests (ISO/IEC 18004),
//! rendered as SVG, PNG and terminal text.
//!
//! Error correction is level M (15 % recoverable), or L (7 %) once M would need more than
//! version 20 (97 × 97 modules): long `openid-credential-offer://` links stay scannable from
//! a screen by keeping modules large. Every rendering includes the 4-module light quiet
//! zone of ISO/IEC 18004 §6.3.8 and draws dark modules on a light ground.

use qrcode::{Color, EcLevel, QrCode, Version};

/// Light modules around the symbol (ISO/IEC 18004 §6.3.8).
pub const QUIET_ZONE: usize = 4;

/// Highest version encoded at level M before falling back to L.
const MAX_VERSION_AT_M: i16 = 20;

/// Largest PNG scale (pixels per module): 185 modules × 64 px is already ~11 800 px square.
pub const MAX_PNG_SCALE: u32 = 64;

/// Why a text could not become a QR code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    #[error("text of {len} bytes does not fit in a QR code (version 40, error correction L)")]
    TooLong { len: usize },
    #[error("QR encoding failed: {0}")]
    Encoding(String),
}

/// Error correction level chosen for a [`Qr`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Correction {
    /// ~7 % recoverable, for long texts.
    L,
    /// ~15 % recoverable, the default.
    M,
}

/// An encoded QR symbol: a square of modules, `true` = dark, without the quiet zone.
#[derive(Clone, Debug)]
pub struct Qr {
    width: usize,
    dark: Vec<bool>,
    version: i16,
    correction: Correction,
}

impl Qr {
    /// Encodes `text` (UTF-8, byte mode where needed) at level M, or L when it is long.
    pub fn new(text: &str) -> Result<Qr, QrError> {
        let data = text.as_bytes();
        let at_m = match QrCode::with_error_correction_level(data, EcLevel::M) {
            Ok(code) if version_number(code.version()) <= MAX_VERSION_AT_M => Some(code),
            Ok(_) | Err(qrcode::types::QrError::DataTooLong) => None,
            Err(e) => return Err(QrError::Encoding(e.to_string())),
        };
        let (code, correction) = match at_m {
            Some(code) => (code, Correction::M),
            None => match QrCode::with_error_correction_level(data, EcLevel::L) {
                Ok(code) => (code, Correction::L),
                Err(qrcode::types::QrError::DataTooLong) => {
                    return Err(QrError::TooLong { len: data.len() });
                }
                Err(e) => return Err(QrError::Encoding(e.to_string())),
            },
        };
        Ok(Qr {
            width: code.width(),
            version: version_number(code.version()),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
            correction,
        })
    }

    /// Modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// QR version (1–40).
    pub fn version(&self) -> i16 {
        self.version
    }

    /// The error correction level used.
    pub fn correction(&self) -> Correction {
        self.correction
    }

    /// Whether the module at (`x`, `y`) is dark; coordinates include the quiet zone, so
    /// anything in it (or beyond) is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        let (Some(x), Some(y)) = (x.checked_sub(QUIET_ZONE), y.checked_sub(QUIET_ZONE)) else {
            return false;
        };
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// Modules per side including the quiet zone on both sides.
    pub fn size_with_quiet_zone(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// A standalone SVG document: white ground, one black path of row runs, a `viewBox` in
    /// module units (quiet zone included), `shape-rendering="crispEdges"`; no scripts, no
    /// external references.
    pub fn svg(&self) -> String {
        let size = self.size_with_quiet_zone();
        let path = self.path_data();
        let pixels = size * 6;
        format!(
            concat!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" ",
                "width=\"{px}\" height=\"{px}\" viewBox=\"0 0 {n} {n}\" shape-rendering=\"crispEdges\">",
                "<rect width=\"{n}\" height=\"{n}\" fill=\"#ffffff\"/>",
                "<path fill=\"#000000\" d=\"{d}\"/></svg>\n"
            ),
            px = pixels,
            n = size,
            d = path
        )
    }

    /// The dark modules as horizontal runs `(x, y, length)` in module units, quiet zone
    /// included in the coordinates, row by row: what vector renderings draw.
    pub fn dark_runs(&self) -> Vec<(usize, usize, usize)> {
        let size = self.size_with_quiet_zone();
        let mut runs = Vec::new();
        for y in 0..size {
            let mut x = 0;
            while x < size {
                if !self.is_dark(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < size && self.is_dark(x, y) {
                    x += 1;
                }
                runs.push((start, y, x - start));
            }
        }
        runs
    }

    /// SVG path data of the dark modules (one `M x y h len v1 h -len z` per run), in module
    /// units with the quiet zone included: scale and place it to embed the symbol.
    pub fn path_data(&self) -> String {
        let mut path = String::new();
        for (x, y, len) in self.dark_runs() {
            path.push_str(&format!("M{x} {y}h{len}v1h-{len}z"));
        }
        path
    }

    /// A 1-bit greyscale PNG, `scale` pixels per module (clamped to 1..=[`MAX_PNG_SCALE`]),
    /// quiet zone included.
    #[expect(
        clippy::expect_used,
        reason = "at most 185 modules × 64 px per side; writing a PNG header to memory cannot fail; the pixel buffer has exactly the size the header announces"
    )]
    pub fn png(&self, scale: u32) -> Vec<u8> {
        let scale = scale.clamp(1, MAX_PNG_SCALE) as usize;
        let modules = self.size_with_quiet_zone();
        let side = modules * scale;
        let row_bytes = side.div_ceil(8);
        let mut pixels = vec![0u8; row_bytes * side];
        for py in 0..side {
            let row = &mut pixels[py * row_bytes..(py + 1) * row_bytes];
            for px in 0..side {
                // In 1-bit greyscale, 1 is white.
                if !self.is_dark(px / scale, py / scale) {
                    row[px / 8] |= 0x80 >> (px % 8);
                }
            }
        }
        let side = u32::try_from(side).expect("at most 185 modules × 64 px per side");
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, side, side);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::One);
            let mut writer = encoder
                .write_header()
                .expect("writing a PNG header to memory cannot fail");
            writer
                .write_image_data(&pixels)
                .expect("the pixel buffer has exactly the size the header announces");
        }
        out
    }

    /// Text for a terminal: two module rows per line with `▀ ▄ █` and spaces, quiet zone
    /// included. Glyphs paint the terminal's (usually light) foreground, so light modules
    /// are drawn and dark ones left as the (usually dark) background: the symbol reads
    /// dark-on-light, as phone cameras expect, on a light-on-dark terminal.
    pub fn terminal(&self) -> String {
        let size = self.size_with_quiet_zone();
        let mut out = String::with_capacity((size + 1) * size.div_ceil(2) * 3);
        for y in (0..size).step_by(2) {
            for x in 0..size {
                let top_light = !self.is_dark(x, y);
                // Past the last row: the background, i.e. as if dark.
                let bottom_light = y + 1 < size && !self.is_dark(x, y + 1);
                out.push(match (top_light, bottom_light) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push('\n');
        }
        out
    }
}

fn version_number(version: Version) -> i16 {
    match version {
        Version::Normal(n) | Version::Micro(n) => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OID4VP: &str = "openid4vp://?client_id=decentralized_identifier%3Adid%3Aweb%3Alocalhost%253A8080&request_uri=http%3A%2F%2F127.0.0.1%3A8080%2Foid4vp%2Frequest%2FqW3v1Zt8mB2xR7kD0sL5pN9cH4jF6gA1eY8uT3oI2wE";

    fn credential_offer() -> String {
        let offer = serde_json::json!({
            "credential_issuer": "https://badges.example.org",
            "credential_configuration_ids": ["open_badge_v3_sd_jwt", "open_badge_v3_ldp_vc"],
            "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {
                "pre-authorized_code": "oaKazRN8I0IbtZ0C7JuMn5-x9vRe3sUa2BnWm1Q7kpE",
                "tx_code": {"input_mode": "numeric", "length": 6,
                            "description": "Enter the code we sent to your e-mail address"}}}
        });
        let encoded: String = percent_encoding::utf8_percent_encode(
            &offer.to_string(),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .collect();
        format!("openid-credential-offer://?credential_offer={encoded}")
    }

    fn decode_grid(size: usize, dark: impl Fn(usize, usize) -> bool) -> String {
        // Four pixels per module: the detector needs more than one pixel per module.
        let mut img =
            rqrr::PreparedImage::prepare_from_bitmap(size * 4, size * 4, |x, y| dark(x / 4, y / 4));
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1, "exactly one symbol found");
        grids[0].decode().expect("the symbol decodes").1
    }

    fn png_pixels(png_bytes: &[u8]) -> (usize, Vec<u8>) {
        let mut decoder = png::Decoder::new(png_bytes);
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().expect("PNG header");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("PNG data");
        assert_eq!(info.width, info.height);
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        buf.truncate(info.buffer_size());
        (info.width as usize, buf)
    }

    fn decode_png(png_bytes: &[u8]) -> String {
        let (side, pixels) = png_pixels(png_bytes);
        let mut img =
            rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| pixels[y * side + x]);
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1, "exactly one symbol found");
        grids[0].decode().expect("the symbol decodes").1
    }

    #[test]
    fn png_round_trips_through_rqrr() {
        for text in [OID4VP.to_owned(), credential_offer()] {
            let qr = Qr::new(&text).expect("encodes");
            for scale in [3, 8] {
                let png_bytes = qr.png(scale);
                assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
                let (side, pixels) = png_pixels(&png_bytes);
                assert_eq!(side, qr.size_with_quiet_zone() * scale as usize);
                let quiet = QUIET_ZONE * scale as usize;
                assert!(
                    (0..side).all(|i| (0..quiet)
                        .all(|q| pixels[q * side + i] == 255 && pixels[i * side + q] == 255)),
                    "the quiet zone is white"
                );
                assert_eq!(decode_png(&png_bytes), text);
            }
        }
    }

    #[test]
    fn correction_level_is_m_unless_the_text_is_long() {
        let short = Qr::new(OID4VP).expect("encodes");
        assert!(
            OID4VP.len() > 180,
            "a typical request link is ~190 characters"
        );
        assert_eq!(short.correction(), Correction::M);
        assert_eq!(short.width(), 17 + 4 * short.version() as usize);

        let offer = credential_offer();
        let long_text = format!("{offer}&padding={}", "A".repeat(1200));
        let long = Qr::new(&long_text).expect("encodes");
        assert_eq!(long.correction(), Correction::L);
        assert!(long.version() > MAX_VERSION_AT_M);
        assert_eq!(decode_png(&long.png(4)), long_text);

        let too_long = "x".repeat(3000);
        assert!(matches!(
            Qr::new(&too_long),
            Err(QrError::TooLong { len: 3000 })
        ));
    }

    #[test]
    fn svg_is_standalone_and_encodes_the_modules() {
        let qr = Qr::new(OID4VP).expect("encodes");
        let svg = qr.svg();
        let n = qr.size_with_quiet_zone();
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains(&format!("viewBox=\"0 0 {n} {n}\"")));
        assert!(svg.contains("shape-rendering=\"crispEdges\""));
        assert!(!svg.to_ascii_lowercase().contains("script"));
        assert!(!svg.contains("href"));

        // Read the path back: every run `M{x} {y}h{len}v1h-{len}z` is a horizontal run of dark modules.
        let d_start = svg.find(" d=\"").expect("a path") + 4;
        let d = &svg[d_start..d_start + svg[d_start..].find('"').expect("closed")];
        let mut dark = vec![false; n * n];
        for run in d.split('M').filter(|r| !r.is_empty()) {
            let (xy, rest) = run.split_once('h').expect("run has h");
            let (x, y) = xy.split_once(' ').expect("x y");
            let (x, y): (usize, usize) = (x.parse().expect("x"), y.parse().expect("y"));
            let len: usize = rest.split_once('v').expect("v").0.parse().expect("len");
            for i in x..x + len {
                dark[y * n + i] = true;
            }
        }
        for y in 0..n {
            for x in 0..n {
                assert_eq!(dark[y * n + x], qr.is_dark(x, y), "module ({x}, {y})");
            }
        }
        assert_eq!(decode_grid(n, |x, y| dark[y * n + x]), OID4VP);
    }

    #[test]
    fn terminal_text_packs_two_rows_per_line_dark_on_light() {
        let qr = Qr::new(OID4VP).expect("encodes");
        let text = qr.terminal();
        let n = qr.size_with_quiet_zone();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), n.div_ceil(2));
        assert!(
            text.chars()
                .all(|c| matches!(c, '▀' | '▄' | '█' | ' ' | '\n'))
        );
        assert!(
            lines[0].chars().all(|c| c == '█'),
            "the quiet zone is light"
        );
        // Light module = drawn half; dark module = background.
        let mut dark = vec![false; n * n];
        for (line_no, line) in lines.iter().enumerate() {
            assert_eq!(line.chars().count(), n);
            for (x, c) in line.chars().enumerate() {
                let (top_light, bottom_light) = match c {
                    '█' => (true, true),
                    '▀' => (true, false),
                    '▄' => (false, true),
                    _ => (false, false),
                };
                dark[2 * line_no * n + x] = !top_light;
                if 2 * line_no + 1 < n {
                    dark[(2 * line_no + 1) * n + x] = !bottom_light;
                }
            }
        }
        assert_eq!(decode_grid(n, |x, y| dark[y * n + x]), OID4VP);
    }

    #[test]
    fn zbarimg_reads_the_png() {
        let probe = std::process::Command::new("zbarimg")
            .arg("--version")
            .output();
        if let Err(e) = probe {
            if e.kind() == std::io::ErrorKind::NotFound {
                println!(
                    "zbarimg_reads_the_png: skipped, zbarimg is not installed (apt-get install zbar-tools)"
                );
                return;
            }
            panic!("zbarimg is installed but could not run: {e}");
        }
        let dir = std::env::temp_dir().join(format!("akashi-qr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        for (i, text) in [OID4VP.to_owned(), credential_offer()].iter().enumerate() {
            let path = dir.join(format!("qr-{i}.png"));
            std::fs::write(&path, Qr::new(text).expect("encodes").png(4)).expect("write PNG");
            let out = std::process::Command::new("zbarimg")
                .args(["--quiet", "--raw", "-Sbinary"])
                .arg(&path)
                .output()
                .expect("zbarimg runs");
            assert!(
                out.status.success(),
                "zbarimg failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let decoded = String::from_utf8(out.stdout).expect("UTF-8");
            assert_eq!(
                decoded.strip_suffix('\n').unwrap_or(&decoded),
                text.as_str()
            );
        }
        std::fs::remove_dir_all(&dir).expect("remove temp dir");
    }
}
