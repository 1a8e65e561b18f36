//! The judge of the pages' accessibility judged first: `axe-core`, run by
//! [`Browser::screenshot`] on every page the journeys picture, must find what a careless page
//! gets wrong, and must pass a page that gets it right; the sideways-scroll check must catch a
//! page wider than a phone. Without this, a broken injection
//! (axe not loaded, an empty result) would pass every page.

use akashi_tests::browser::{Browser, BrowserError};

/// A page as `data:` URL (no server needed).
fn page(body: &str) -> String {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>t</title></head>\
         <body><main>{body}</main></body></html>"
    );
    let encoded: String = html
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("data:text/html;charset=utf-8,{encoded}")
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn axe_fails_a_careless_page_and_passes_a_careful_one() {
    let mut b = Browser::start("accessibility").await.unwrap();

    // An image without a text alternative, a field without a label, grey on grey.
    b.goto(&page(
        "<h1>Badge</h1><img src=\"data:image/gif;base64,R0lGODlhAQABAAAAACw=\">\
         <input type=\"text\"><p style=\"color:#bbb;background:#ccc\">faint words</p>",
    ))
    .await
    .unwrap();
    let found = b.accessibility().await.unwrap();
    let ids: Vec<&str> = found.iter().map(|v| v.id.as_str()).collect();
    for rule in ["image-alt", "label", "color-contrast"] {
        assert!(ids.contains(&rule), "{rule} not reported: {found:?}");
    }
    match b.screenshot("careless").await {
        Err(BrowserError::Inaccessible { violations, .. }) => {
            assert!(violations.iter().all(|v| v.blocks()), "{violations:?}");
            assert!(violations.iter().any(|v| v.id == "image-alt"));
        }
        other => panic!("a careless page passed the screenshot check: {other:?}"),
    }

    // The same content done right.
    b.goto(&page(
        "<h1>Badge</h1><img alt=\"A badge\" src=\"data:image/gif;base64,R0lGODlhAQABAAAAACw=\">\
         <label for=\"n\">Name</label><input id=\"n\" type=\"text\">\
         <p style=\"color:#222;background:#fff\">clear words</p>",
    ))
    .await
    .unwrap();
    let found = b.accessibility().await.unwrap();
    assert!(found.is_empty(), "{found:?}");
    b.screenshot("careful").await.unwrap();
    b.screenshots("careful").await.unwrap();

    // A page wider than a phone: fine at 1280, caught at 390 with the culprit named.
    b.goto(&page(
        "<h1>Badge</h1><pre id=\"wide\" style=\"width:700px\">/ld/credentialSubject</pre>",
    ))
    .await
    .unwrap();
    b.set_screen(1280).await.unwrap();
    b.assert_no_sideways_scroll().await.unwrap();
    b.set_screen(390).await.unwrap();
    match b.assert_no_sideways_scroll().await {
        Err(BrowserError::ScrollsSideways {
            width,
            scroll_width,
            widest,
            ..
        }) => {
            assert_eq!(width, 390);
            assert!(scroll_width > 700, "{scroll_width}");
            assert!(widest.starts_with("pre#wide"), "{widest}");
        }
        other => panic!("a 700 px page passed at 390 px: {other:?}"),
    }
    assert!(b.screenshots("wide").await.is_err());
    b.quit().await;
}
