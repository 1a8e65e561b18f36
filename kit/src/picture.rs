//! Reading a QR code from a picture: a screenshot (PNG), a phone photo (JPEG), or a camera
//! frame. The picture is decoded with its size bounded before any pixel is allocated,
//! turned to greyscale (transparent pixels on white), shrunk to at most [`MAX_SIDE`] pixels
//! a side (JPEGs in the decoder's DCT, then a box filter), and searched with `rqrr`
//! (ISO/IEC 18004 decoding, any rotation).
//!
//! The verifier's `/check` page reads uploads and camera frames with it, and the wallet's
//! `/present/scan` the verifier's QR code (inside its own bound on decodes at once). The
//! `qr_image` fuzz target and `protocol/tests/fuzz_corpus.rs` compile this file on its own
//! (`#[path]`), so it uses nothing of the crate: only `png`, `jpeg-decoder`, `rqrr` and
//! `thiserror`.
//!
//! Memory is bounded: the image header is read first and a picture of more than
//! [`MAX_PIXELS`] pixels, or with a side longer than [`MAX_DIMENSION`], is refused before
//! any pixel is decoded; a caller bounds how many pictures it decodes at once.

use std::io::Cursor;

/// Largest upload accepted, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;
/// Largest picture decoded, in pixels (16 megapixels: a phone photo; at most 64 MiB of
/// RGBA while decoding).
pub const MAX_PIXELS: u64 = 16_000_000;
/// Longest side of a picture decoded, in pixels.
pub const MAX_DIMENSION: u64 = 8192;
/// Longest side the QR search runs on.
pub const MAX_SIDE: usize = 1600;

/// Why no link could be read from the picture; each names the failed step.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScanError {
    #[error("no picture was uploaded")]
    Empty,
    #[error("the picture is {bytes} bytes; at most {max} are accepted")]
    TooLarge { bytes: usize, max: usize },
    #[error("the picture is not a PNG or JPEG image")]
    UnsupportedFormat,
    #[error(
        "the picture is {width}×{height} pixels ({} pixels); at most {MAX_PIXELS} pixels (16 megapixels) are accepted",
        width * height
    )]
    TooManyPixels { width: u64, height: u64 },
    #[error(
        "the picture is {width}×{height} pixels; each side may be at most {MAX_DIMENSION} pixels"
    )]
    SideTooLong { width: u64, height: u64 },
    #[error("the {format} picture cannot be decoded: {reason}")]
    Decode {
        format: &'static str,
        reason: String,
    },
    #[error("no QR code was found in the picture")]
    NoQrCode,
    #[error("a QR code was found but cannot be read: {0}")]
    Unreadable(String),
}

/// A greyscale picture, one byte per pixel, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grey {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// The text of the QR code(s) in `bytes` (PNG or JPEG), first found first.
pub fn read_qr(bytes: &[u8]) -> Result<Vec<String>, ScanError> {
    let grey = shrink(decode(bytes)?, MAX_SIDE);
    // rqrr 0.11 asserts on some pictures (a finder pattern whose perspective maps past
    // `i32::MAX`: `geometry.rs` "assertion failed: x <= i32::MAX as f64", found by the
    // `qr_image` fuzz target): its panic is this picture's failure, not the service's.
    let searched = std::panic::catch_unwind(|| {
        let mut img =
            rqrr::PreparedImage::prepare_from_greyscale(grey.width, grey.height, |x, y| {
                grey.pixels[y * grey.width + x]
            });
        img.detect_grids()
            .into_iter()
            .map(|grid| {
                grid.decode()
                    .map(|(_, text)| text)
                    .map_err(|e| e.to_string())
            })
            .collect::<Vec<_>>()
    })
    .map_err(|_| ScanError::Unreadable("the QR code search failed on this picture".into()))?;
    if searched.is_empty() {
        return Err(ScanError::NoQrCode);
    }
    let mut texts = Vec::new();
    let mut last_error = None;
    for result in searched {
        match result {
            Ok(text) => texts.push(text),
            Err(e) => last_error = Some(e),
        }
    }
    match (texts.is_empty(), last_error) {
        (true, Some(e)) => Err(ScanError::Unreadable(e)),
        (true, None) => Err(ScanError::NoQrCode),
        _ => Ok(texts),
    }
}

/// The header's size against [`MAX_DIMENSION`] and [`MAX_PIXELS`], before decoding.
fn check_pixels(width: u64, height: u64) -> Result<(), ScanError> {
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(ScanError::SideTooLong { width, height });
    }
    if width.saturating_mul(height) > MAX_PIXELS {
        return Err(ScanError::TooManyPixels { width, height });
    }
    Ok(())
}

/// Decodes a PNG or JPEG to greyscale.
pub fn decode(bytes: &[u8]) -> Result<Grey, ScanError> {
    if bytes.is_empty() {
        return Err(ScanError::Empty);
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(ScanError::TooLarge {
            bytes: bytes.len(),
            max: MAX_UPLOAD_BYTES,
        });
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(bytes)
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        decode_jpeg(bytes)
    } else {
        Err(ScanError::UnsupportedFormat)
    }
}

fn decode_png(bytes: &[u8]) -> Result<Grey, ScanError> {
    let bad = |e: png::DecodingError| ScanError::Decode {
        format: "PNG",
        reason: e.to_string(),
    };
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits {
            bytes: (MAX_PIXELS as usize) * 4,
        },
    );
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let header = decoder.read_header_info().map_err(bad)?;
    check_pixels(u64::from(header.width), u64::from(header.height))?;
    let mut reader = decoder.read_info().map_err(bad)?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).map_err(bad)?;
    let (width, height) = (frame.width as usize, frame.height as usize);
    let channels = match frame.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => {
            return Err(ScanError::Decode {
                format: "PNG",
                reason: "palette was not expanded".into(),
            });
        }
    };
    let mut pixels = Vec::with_capacity(width * height);
    for row in buf.chunks(frame.line_size).take(height) {
        for px in row.chunks(channels).take(width) {
            let (luma, alpha) = match px {
                [g] => (u32::from(*g), 255),
                [g, a] => (u32::from(*g), u32::from(*a)),
                [r, g, b] => (luma(*r, *g, *b), 255),
                [r, g, b, a] => (luma(*r, *g, *b), u32::from(*a)),
                _ => (255, 255),
            };
            // Transparent means background: composite on white.
            pixels.push(((luma * alpha + 255 * (255 - alpha)) / 255) as u8);
        }
    }
    Ok(Grey {
        width,
        height,
        pixels,
    })
}

fn luma(r: u8, g: u8, b: u8) -> u32 {
    (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000
}

fn decode_jpeg(bytes: &[u8]) -> Result<Grey, ScanError> {
    let bad = |e: jpeg_decoder::Error| ScanError::Decode {
        format: "JPEG",
        reason: e.to_string(),
    };
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.read_info().map_err(bad)?;
    let info = decoder.info().ok_or(ScanError::Decode {
        format: "JPEG",
        reason: "no frame header".into(),
    })?;
    check_pixels(u64::from(info.width), u64::from(info.height))?;
    // Let the decoder shrink big photos (1/2, 1/4, 1/8 in the DCT).
    let side = MAX_SIDE as u16;
    let (width, height) = if usize::from(info.width.max(info.height)) > MAX_SIDE {
        let (w, h) = (info.width, info.height);
        let (rw, rh) = if w >= h {
            (
                side,
                (u32::from(h) * u32::from(side) / u32::from(w).max(1)) as u16,
            )
        } else {
            (
                (u32::from(w) * u32::from(side) / u32::from(h).max(1)) as u16,
                side,
            )
        };
        decoder.scale(rw.max(1), rh.max(1)).map_err(bad)?
    } else {
        (info.width, info.height)
    };
    let data = decoder.decode().map_err(bad)?;
    let (width, height) = (usize::from(width), usize::from(height));
    let format = decoder
        .info()
        .map(|i| i.pixel_format)
        .unwrap_or(info.pixel_format);
    let pixels: Vec<u8> = match format {
        jpeg_decoder::PixelFormat::L8 => data,
        jpeg_decoder::PixelFormat::L16 => data.chunks(2).map(|p| p[0]).collect(),
        jpeg_decoder::PixelFormat::RGB24 => data
            .chunks(3)
            .map(|p| match p {
                [r, g, b] => luma(*r, *g, *b) as u8,
                _ => 255,
            })
            .collect(),
        jpeg_decoder::PixelFormat::CMYK32 => data
            .chunks(4)
            .map(|p| match p {
                // Adobe CMYK JPEGs store inverted values: each channel is already 255-ink.
                [c, m, y, k] => {
                    let k = u32::from(*k);
                    luma(
                        (u32::from(*c) * k / 255) as u8,
                        (u32::from(*m) * k / 255) as u8,
                        (u32::from(*y) * k / 255) as u8,
                    ) as u8
                }
                _ => 255,
            })
            .collect(),
    };
    if pixels.len() < width * height {
        return Err(ScanError::Decode {
            format: "JPEG",
            reason: format!(
                "{} pixels decoded for a {width}×{height} picture",
                pixels.len()
            ),
        });
    }
    Ok(Grey {
        width,
        height,
        pixels,
    })
}

/// Shrinks `grey` by a whole factor (averaging each block) until no side exceeds
/// `max_side`.
pub fn shrink(grey: Grey, max_side: usize) -> Grey {
    let longest = grey.width.max(grey.height);
    if longest <= max_side || max_side == 0 {
        return grey;
    }
    let f = longest.div_ceil(max_side);
    let (w, h) = (grey.width / f, grey.height / f);
    let mut pixels = Vec::with_capacity(w * h);
    for by in 0..h {
        for bx in 0..w {
            let mut sum = 0u32;
            for y in by * f..by * f + f {
                let row = &grey.pixels[y * grey.width..];
                sum += row[bx * f..bx * f + f]
                    .iter()
                    .map(|&p| u32::from(p))
                    .sum::<u32>();
            }
            pixels.push((sum / (f * f) as u32) as u8);
        }
    }
    Grey {
        width: w,
        height: h,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "https://wallet.example/p/abc";

    fn png_of(text: &str, scale: u32) -> Vec<u8> {
        protocol::qr::Qr::new(text).unwrap().png(scale)
    }

    #[test]
    fn reads_the_link_from_a_png_and_from_a_big_one_shrunk() {
        assert_eq!(read_qr(&png_of(LINK, 6)).unwrap(), vec![LINK.to_owned()]);
        let big = png_of(LINK, 60);
        assert!(decode(&big).unwrap().width > MAX_SIDE);
        assert_eq!(read_qr(&big).unwrap(), vec![LINK.to_owned()]);
    }

    #[test]
    fn reads_a_blurred_tilted_jpeg_photo() {
        // A phone photo: 2000×1500, the code turned 12°, blurred and noisy.
        let photo = include_bytes!("testdata/qr-photo.jpg");
        let grey = decode(photo).unwrap();
        assert_eq!((grey.width, grey.height), (2000, 1500));
        let texts = read_qr(photo).unwrap();
        assert!(texts[0].starts_with("openid4vp://"), "{texts:?}");
    }

    #[test]
    fn each_refusal_names_its_step() {
        assert_eq!(read_qr(b""), Err(ScanError::Empty));
        assert_eq!(read_qr(b"GIF89a...."), Err(ScanError::UnsupportedFormat));
        assert!(matches!(
            read_qr(b"\x89PNG\r\n\x1a\nbroken"),
            Err(ScanError::Decode { format: "PNG", .. })
        ));
        assert!(matches!(
            read_qr(&[0xff, 0xd8, 0xff, 0xe0, 0, 0]),
            Err(ScanError::Decode { format: "JPEG", .. })
        ));
        let huge = vec![0u8; MAX_UPLOAD_BYTES + 1];
        assert!(matches!(read_qr(&huge), Err(ScanError::TooLarge { .. })));
        let mut white = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut white, 64, 64);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[255u8; 64 * 64]).unwrap();
        }
        assert_eq!(read_qr(&white), Err(ScanError::NoQrCode));
    }

    /// A header claiming 100 000 × 100 000 pixels is refused before anything is decoded.
    #[test]
    fn a_png_claiming_too_many_pixels_is_refused_before_decoding() {
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        bytes.extend_from_slice(&13u32.to_be_bytes());
        bytes.extend_from_slice(&ihdr);
        bytes.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        assert!(matches!(
            read_qr(&bytes),
            Err(ScanError::SideTooLong {
                width: 100_000,
                height: 100_000
            })
        ));
    }

    /// The fuzz target's crash input (a 796-byte JPEG): rqrr panics in `detect_grids` on a
    /// finder pattern whose perspective maps past `i32::MAX`; the picture is refused as
    /// unreadable, not a panic.
    #[test]
    fn a_picture_that_trips_rqrr_is_refused_not_a_panic() {
        let crash = include_bytes!(
            "../../fuzz/regressions/qr_image/crash-35d838cbf3b98d33bd40c9e0ead92f095438aabc"
        );
        assert!(matches!(read_qr(crash), Err(ScanError::Unreadable(_))));
    }

    /// The fuzz target's slow pictures, each answered within the patched rqrr's bounds
    /// (third_party/rqrr/PATCH.md): an 806-byte 147×147 JPEG whose alignment search spiralled
    /// for ≈ 5.7 × 10⁸ steps (3–13 s), and two JPEGs of 1171×147 pixels whose 64 grid trials
    /// each searched the whole picture (3.3 s instrumented under load) before every picture
    /// got 10⁶ alignment steps in all. The time itself is watched by the fuzz runs'
    /// `-timeout`, not here.
    #[test]
    fn pictures_whose_grid_trials_each_searched_the_whole_picture_are_answered() {
        for slow in [
            &include_bytes!(
                "../../fuzz/regressions/qr_image/timeout-3763fcdcf8ea1003736d84de9895479518344ec6"
            )[..],
            &include_bytes!(
                "../../fuzz/regressions/qr_image/slow-unit-8061d40746f529d36eff23d1272f05f3539d90c1"
            )[..],
            &include_bytes!(
                "../../fuzz/regressions/qr_image/timeout-05a3a8a9f12b5949e723e46d21ada1ea32e0628b"
            )[..],
        ] {
            assert!(matches!(
                read_qr(slow),
                Err(ScanError::Unreadable(_) | ScanError::NoQrCode)
            ));
        }
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
