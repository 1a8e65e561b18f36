//! Business cards: the QR codes on the card (SVG rendered by resvg, PDF rendered by
//! poppler's `pdftoppm`) and the QR code alone decode with an independent decoder
//! (`zbarimg`) to exactly the public page's URL; the PDF's names are real text
//! (`pdftotext`) on a 91 × 55 mm page (`pdfinfo`). And the card routes over HTTP: only
//! the signed-in holder of a badge gets anything for it.
//!
//! Needs zbar-tools and poppler-utils (`./test` installs them); a missing tool fails the
//! test, it does not skip it.

use std::path::{Path, PathBuf};

use akashi_tests::browser::{artifacts_dir, decode_qr};
use holder_agent::wallet::card::{self, BadgeImage, Card, Lang};

use crate::common::TestStack;

/// A public page URL as the wallet makes them, and a longer one (denser QR code).
const URLS: [&str; 2] = [
    "https://wallet.example.org/p/Zk3mQ8vT2xLrP4sN7wB1cD",
    "https://badges.wallet.example.org:8443/p/Zk3mQ8vT2xLrP4sN7wB1cD9fG6hJ0kL5mN8pQ2rS4tU7vW?utm_source=card&lang=ja",
];

fn dir(test: &str) -> PathBuf {
    let d = artifacts_dir(test);
    std::fs::create_dir_all(&d).expect("artifacts dir");
    d
}

fn card(url: &str, lang: Lang) -> Card {
    Card {
        holder_name: "山田 太郎 (Taro Yamada)".into(),
        badge_name: "情報処理安全確保支援士 — Registered Security Specialist".into(),
        issuer_name: "Example University & Co. <Tokyo>".into(),
        badge_image: Some(
            BadgeImage::new(
                "image/svg+xml",
                br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4.5" fill="#c0392b"/><text x="5" y="6.5" font-size="4" text-anchor="middle" fill="#fff">OB</text></svg>"##.to_vec(),
            )
            .expect("badge image"),
        ),
        public_url: url.into(),
        lang,
    }
}

/// Runs a command from poppler-utils; a missing tool fails with how to install it.
fn poppler(program: &str, args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (apt-get install poppler-utils): {e}"));
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

async fn decodes_to(png: &Path, url: &str) {
    let found = decode_qr(png).await.expect("zbarimg finds a QR code");
    assert_eq!(found, vec![url.to_owned()], "QR code in {}", png.display());
}

#[tokio::test]
async fn card_svg_qr_code_decodes_to_the_public_url() {
    let d = dir("card_svg_qr_code_decodes_to_the_public_url");
    for (i, url) in URLS.iter().enumerate() {
        for lang in [Lang::En, Lang::Ja] {
            let svg = card::card_svg(&card(url, lang)).expect("card SVG");
            let svg_path = d.join(format!("card-{i}-{}.svg", lang.code()));
            std::fs::write(&svg_path, &svg).unwrap();
            // 91 mm at 300 dpi.
            let png = card::raster::svg_to_png(&svg, 1075).expect("rendered");
            let png_path = svg_path.with_extension("png");
            std::fs::write(&png_path, png).unwrap();
            decodes_to(&png_path, url).await;
        }
    }
}

#[tokio::test]
async fn card_pdf_qr_code_decodes_and_its_names_are_text_on_a_91_by_55_mm_page() {
    let d = dir("card_pdf_qr_code_decodes_and_its_names_are_text_on_a_91_by_55_mm_page");
    for (i, url) in URLS.iter().enumerate() {
        let c = card(url, Lang::Ja);
        let pdf = card::card_pdf(&c).expect("card PDF");
        let pdf_path = d.join(format!("card-{i}.pdf"));
        std::fs::write(&pdf_path, &pdf).unwrap();

        let info = String::from_utf8(poppler("pdfinfo", &[pdf_path.as_os_str()])).unwrap();
        // "Page size:      257.953 x 155.906 pts"
        let size: Vec<f32> = info
            .lines()
            .find_map(|l| l.strip_prefix("Page size:"))
            .expect("a page size")
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        assert_eq!(size.len(), 2, "{info}");
        let mm = |pt: f32| pt * 25.4 / 72.0;
        assert!((mm(size[0]) - 91.0).abs() < 0.01, "{info}");
        assert!((mm(size[1]) - 55.0).abs() < 0.01, "{info}");
        assert!(info.contains("Pages:") && info.contains(" 1\n"), "{info}");

        let text = String::from_utf8(poppler(
            "pdftotext",
            &[pdf_path.as_os_str(), std::ffi::OsStr::new("-")],
        ))
        .unwrap();
        // The names as the card shows them, extracted through the ToUnicode maps.
        assert!(text.contains("山田 太郎 (Taro Yamada)"), "{text}");
        assert!(text.contains("情報処理安全確保支援士"), "{text}");
        assert!(
            text.contains("発行: Example University & Co. <Tokyo>"),
            "{text}"
        );

        let prefix = d.join(format!("card-{i}-pdftoppm"));
        poppler(
            "pdftoppm",
            &[
                std::ffi::OsStr::new("-r"),
                std::ffi::OsStr::new("300"),
                std::ffi::OsStr::new("-png"),
                std::ffi::OsStr::new("-singlefile"),
                pdf_path.as_os_str(),
                prefix.as_os_str(),
            ],
        );
        decodes_to(&prefix.with_extension("png"), url).await;
    }
}

#[tokio::test]
async fn qr_png_decodes_to_the_public_url() {
    let d = dir("qr_png_decodes_to_the_public_url");
    for (i, url) in URLS.iter().enumerate() {
        let path = d.join(format!("qr-{i}.png"));
        std::fs::write(&path, card::qr_png(url, 6).expect("QR PNG")).unwrap();
        decodes_to(&path, url).await;
        // The SVG alone, rendered.
        let svg = card::qr_svg(url).expect("QR SVG");
        let path = d.join(format!("qr-{i}-svg.png"));
        std::fs::write(&path, card::raster::svg_to_png(&svg, 600).unwrap()).unwrap();
        decodes_to(&path, url).await;
    }
}

/// The routes: sign-in first; another account's badge is 404; the holder's own public
/// badge gives a card whose QR code (read by zbarimg from the PDF, the SVG and the PNG)
/// is its public page; a private badge has no card.
#[tokio::test]
async fn card_routes_are_for_the_signed_in_holder_of_the_badge_only() {
    let t = TestStack::start().await;
    let now = t.stack.clock.now();
    let wallet = &t.stack.wallet.app;
    let holder = wallet.ensure_account("default", now).await.unwrap();
    let offer = t.offer(false, Some(365)).await;
    let accepted = wallet
        .accept(&holder, offer["offer_link"].as_str().unwrap(), None, now)
        .await
        .expect("accepted");
    let id = accepted.credentials[0].id.clone();
    let other = wallet.ensure_account("someone-else", now).await.unwrap();
    let holder_session = wallet.start_session(&holder, now).await.unwrap();
    let other_session = wallet.start_session(&other, now).await.unwrap();
    let base = &t.stack.wallet.url;
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    for file in ["card.svg", "card.pdf", "qr.svg", "qr.png"] {
        let url = format!("{base}/badges/{id}/{file}");
        let anonymous = http.get(&url).send().await.unwrap();
        assert_eq!(anonymous.status(), 303, "{file}");
        assert_eq!(
            anonymous.headers()["location"],
            format!("/sign-in?next=%2Fbadges%2F{id}%2F{file}").as_str()
        );

        let others = http
            .get(&url)
            .header("cookie", format!("wallet_session={other_session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(others.status(), 404, "{file} of another account's badge");

        let own = http
            .get(&url)
            .header("cookie", format!("wallet_session={holder_session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(own.status(), 200, "{file} of the holder's own public badge");
    }

    // Through the routes: the card's QR code and the QR alone decode to the public page.
    let public_url = wallet
        .visibility(&holder, &id, now)
        .await
        .unwrap()
        .public_url;
    let d = dir("card_routes");
    let fetch = |file: &'static str| {
        let http = http.clone();
        let url = format!("{base}/badges/{id}/{file}");
        let cookie = format!("wallet_session={holder_session}");
        async move {
            let r = http.get(url).header("cookie", cookie).send().await.unwrap();
            let media_type = r.headers()["content-type"].to_str().unwrap().to_owned();
            (media_type, r.bytes().await.unwrap().to_vec())
        }
    };
    let (media_type, png) = fetch("qr.png").await;
    assert_eq!(media_type, "image/png");
    let qr_path = d.join("route-qr.png");
    std::fs::write(&qr_path, png).unwrap();
    decodes_to(&qr_path, &public_url).await;
    let (media_type, pdf) = fetch("card.pdf").await;
    assert_eq!(media_type, "application/pdf");
    let pdf_path = d.join("route-card.pdf");
    std::fs::write(&pdf_path, pdf).unwrap();
    let prefix = d.join("route-card");
    poppler(
        "pdftoppm",
        &[
            std::ffi::OsStr::new("-r"),
            std::ffi::OsStr::new("300"),
            std::ffi::OsStr::new("-png"),
            std::ffi::OsStr::new("-singlefile"),
            pdf_path.as_os_str(),
            prefix.as_os_str(),
        ],
    );
    decodes_to(&prefix.with_extension("png"), &public_url).await;
    let (media_type, svg) = fetch("card.svg").await;
    assert!(media_type.starts_with("image/svg+xml"), "{media_type}");
    let svg_path = d.join("route-card-svg.png");
    let svg = String::from_utf8(svg).unwrap();
    std::fs::write(&svg_path, card::raster::svg_to_png(&svg, 1075).unwrap()).unwrap();
    decodes_to(&svg_path, &public_url).await;

    // A private badge has no card: its QR code would point at a page nobody can open.
    wallet
        .set_visibility(&holder, &id, false, None, now)
        .await
        .unwrap();
    let (_, body) = fetch("card.pdf").await;
    let page = String::from_utf8_lossy(&body);
    assert!(page.contains("this badge has no public page"), "{page}");
    t.stack.stop().await;
}
