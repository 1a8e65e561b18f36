//! A person at a desk shows a badge's QR code (the holder's printed card) to the camera on
//! the verifier's `/check` page: Chromium's fake camera plays a video of the card (a Y4M
//! file written here: the QR code of a badge page URL), the page posts frames until one
//! decodes, and the result appears without a reload. Screenshots go under
//! `browser-artifacts/check_camera/`.

use akashi_tests::browser::{Browser, artifacts_dir};
use serde_json::Value;

use crate::check::issued_badge_pages;
use crate::common::TestStack;

const TEST: &str = "check_camera";

/// A YUV4MPEG2 video (4:2:0, `frames` identical frames) of a white card with the QR code
/// of `text` in its middle, dark modules `scale` pixels wide.
fn card_y4m(text: &str, width: usize, height: usize, frames: usize) -> Vec<u8> {
    let qr = protocol::qr::Qr::new(text).expect("QR");
    let side = qr.size_with_quiet_zone();
    let scale = (width.min(height) * 9 / 10) / side;
    assert!(scale >= 3, "the code fits with at least 3 pixels a module");
    let (left, top) = ((width - side * scale) / 2, (height - side * scale) / 2);
    let mut luma = vec![235u8; width * height];
    for y in 0..side * scale {
        for x in 0..side * scale {
            let (mx, my) = (x / scale, y / scale);
            // Quiet-zone coordinates: the light margin is part of the picture.
            if qr.is_dark(mx, my) {
                luma[(top + y) * width + left + x] = 16;
            }
        }
    }
    let chroma = vec![128u8; (width / 2) * (height / 2)];
    let mut out = format!("YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..frames {
        out.extend_from_slice(b"FRAME\n");
        out.extend_from_slice(&luma);
        out.extend_from_slice(&chroma);
        out.extend_from_slice(&chroma);
    }
    out
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn a_qr_code_shown_to_the_camera_is_checked_without_a_reload() {
    let t = TestStack::start().await;
    let (_, pages) = issued_badge_pages(&t).await;
    let page_url = format!("{}/p/good", pages.url);

    let dir = artifacts_dir(&format!("{TEST}-video"));
    std::fs::create_dir_all(&dir).expect("video dir");
    let video = dir.join("card.y4m");
    std::fs::write(&video, card_y4m(&page_url, 640, 480, 5)).expect("write the video");
    // Chromium finds no camera when the file's path has a `..` in it.
    let video = std::fs::canonicalize(&video).expect("the video's real path");
    let mut b = Browser::start_with_args(
        TEST,
        &[
            "--use-fake-device-for-media-stream".to_owned(),
            "--use-fake-ui-for-media-stream".to_owned(),
            format!("--use-file-for-fake-video-capture={}", video.display()),
        ],
    )
    .await
    .unwrap();
    b.goto(&format!("{}/check", t.verifier())).await.unwrap();
    b.find("#camera-start").await.unwrap();
    b.screenshot("check-page").await.unwrap();
    b.execute("window.noReload = true; return true;", vec![])
        .await
        .unwrap();
    b.click("#camera-start").await.unwrap();
    let status = b
        .wait_for_text("#camera-status", "QR code found")
        .await
        .unwrap();
    assert!(status.contains(&page_url), "{status}");
    let result = b.wait_for_text("#check-result", "Verified").await.unwrap();
    b.screenshot("checked").await.unwrap();
    assert!(result.contains("Digital Supporter"), "{result}");
    assert_eq!(
        b.attribute("#check-result", "data-updated-by")
            .await
            .unwrap()
            .as_deref(),
        Some("camera")
    );
    assert_eq!(
        b.execute("return window.noReload === true;", vec![])
            .await
            .unwrap(),
        Value::Bool(true),
        "the page was not reloaded"
    );
    let outcome = b
        .attribute("tr[data-check=source]", "data-outcome")
        .await
        .unwrap();
    assert_eq!(outcome.as_deref(), Some("passed"));
    let camera_off = b
        .execute(
            "return document.getElementById('camera').hidden === true;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        camera_off,
        Value::Bool(true),
        "the camera stops once a code is found"
    );
    b.quit().await;
    drop(pages);
    t.stack.stop().await;
}
