//! The verifier's pages for people: every page in English and Japanese (no English on a
//! Japanese page outside proper names and "Technical details"), the language switch and
//! its open-redirect attack, `/check` taking an ordinary phone photo (a 3–4 MB JPEG) with
//! and without JavaScript, a body over the limit answered 413 in the reader's language,
//! the desk's QR code opening a page that offers the holder's web wallet (its address
//! remembered) and wallet apps, and no page scrolling sideways on a 390 px phone.

use akashi_tests::browser::{Browser, artifacts_dir};
use akashi_tests::lang::assert_no_english;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::check::{check_page_csrf, issued_badge_pages};
use crate::common::{TestStack, VERIFIER_TOKEN};
use crate::desk_sessions::{DeskBrowser, csrf_field, set_cookie};

/// Proper names the test stack puts on pages: the badge's name, written as the issuer
/// wrote it, and the test issuer's name (Akashi Demo Issuer).
const NAMES: &[&str] = &["Digital", "Supporter", "Level", "Demo", "Issuer"];

/// A client sending `Accept-Language: {lang}`, following no redirects.
fn client(lang: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "accept-language",
        reqwest::header::HeaderValue::from_str(lang).unwrap(),
    );
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// A Japanese page: `<html lang="ja">`, the switch back to English, no English.
fn assert_japanese(what: &str, html: &str, names: &[&str]) {
    assert!(html.contains("<html lang=\"ja\">"), "{what}: {html}");
    assert!(html.contains("id=\"lang-en\""), "{what}: no switch: {html}");
    assert_no_english(what, html, names);
}

/// `multipart/form-data` with the page's `csrf` field and a `file` field.
fn upload_form(csrf: &str, file_name: &str, media_type: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----akashi-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: {media_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn every_verifier_page_speaks_japanese_to_a_japanese_reader() {
    let t = TestStack::start().await;
    let ja = client("ja-JP,ja;q=0.9,en;q=0.5");
    let desk = format!("{}/desk", t.verifier());

    // The sign-in page, and a wrong token.
    let mut b = DeskBrowser::open(&t, ja.clone()).await;
    let html = ja
        .get(&desk)
        .header("cookie", b.cookies())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_japanese("sign-in", &html, &[]);
    assert!(html.contains("検証デスクにサインイン"), "{html}");
    let r = b.login("not the token").await;
    assert_eq!(r.status().as_u16(), 401);
    let html = r.text().await.unwrap();
    assert_japanese("wrong token", &html, &[]);
    assert!(html.contains("APIトークンが正しくありません"), "{html}");
    assert!(
        html.contains("wrong API token"),
        "the software's words, folded"
    );

    // Signed in: the new-request form, a refused form, a request and its result section.
    let r = b.login(VERIFIER_TOKEN).await;
    assert_eq!(r.status().as_u16(), 303);
    b.session = Some(set_cookie(&r, "verifier_desk").expect("a session cookie"));
    let html = b.desk_page(&b.cookies()).await;
    assert_japanese("new request", &html, &[]);
    let r = ja
        .post(format!("{desk}/requests"))
        .header("cookie", b.cookies())
        .form(&[("csrf", b.token.as_str()), ("dcql_query", "{not json")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let html = r.text().await.unwrap();
    assert_japanese("refused form", &html, &[]);
    assert!(html.contains("dcql_query:"), "the reason, folded: {html}");
    let r = b.create(&t, &b.cookies(), &b.token).await;
    assert_eq!(r.status().as_u16(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let r = ja
        .get(format!("{}{location}", t.verifier()))
        .header("cookie", b.cookies())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert_japanese("request page", &html, &[]);
    // The expiry as a Japanese reader writes dates, machine-readable beside it.
    let expires = html
        .split("<time id=\"expires\" datetime=\"")
        .nth(1)
        .expect("a <time> element");
    assert!(
        expires.contains("年") && expires.contains("（UTC）"),
        "{expires}"
    );
    assert!(html.contains("data-state=\"pending\""), "{html}");
    let r = ja
        .get(format!("{}{location}/result", t.verifier()))
        .header("cookie", b.cookies())
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert_no_english("result section", &html, &[]);
    assert!(html.contains("ウォレットの応答を待っています"), "{html}");

    // Error pages: an unknown request, a form without its token.
    let r = ja
        .get(format!("{desk}/requests/no-such-request"))
        .header("cookie", b.cookies())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let html = r.text().await.unwrap();
    assert_japanese("not found", &html, &[]);
    assert!(html.contains("このリクエストは存在しないか"), "{html}");
    let r = ja
        .post(format!("{desk}/requests"))
        .header("cookie", b.cookies())
        .form(&[("issuer", t.issuer())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let html = r.text().await.unwrap();
    assert_japanese("CSRF refusal", &html, &[]);
    assert!(
        html.contains("CSRF"),
        "the software's words, folded: {html}"
    );

    // The `/check` page: empty, unreadable input, a verified badge, a rejected one.
    let (_, pages) = issued_badge_pages(&t).await;
    let (cookie, token) = check_page_csrf(&t).await;
    let check = format!("{}/check", t.verifier());
    let html = ja
        .get(&check)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_japanese("check page", &html, &[]);
    let post = |input: String| {
        let ja = ja.clone();
        let (cookie, token, check) = (cookie.clone(), token.clone(), check.clone());
        async move {
            let r = ja
                .post(&check)
                .header("cookie", cookie)
                .form(&[("csrf", token.as_str()), ("input", input.as_str())])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, html) = post("{not a credential".into()).await;
    assert_eq!(status, 400);
    assert_japanese("unreadable input", &html, &[]);
    assert!(html.contains("リンクでも資格情報でもありません"), "{html}");
    let (status, html) = post(format!("{}/p/good", pages.url)).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-state=\"verified\""), "{html}");
    assert_japanese("verified badge", &html, NAMES);
    assert!(html.contains("確認済み："), "{html}");
    assert!(
        html.contains("<time datetime=\""),
        "dates in <time>: {html}"
    );
    let (status, html) = post(format!("{}/p/private", pages.url)).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-state=\"rejected\""), "{html}");
    assert_japanese("rejected badge", &html, NAMES);
    // Which check failed, in words, and what to do next.
    assert!(
        html.contains("不合格だった確認項目: バッジの取得"),
        "{html}"
    );
    assert!(html.contains("id=\"next-step\""), "{html}");
    let r = ja
        .post(&check)
        .header("cookie", &cookie)
        .form(&[("input", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let html = r.text().await.unwrap();
    assert_japanese("check CSRF refusal", &html, &[]);
    assert!(html.contains("バッジの確認に戻る"), "{html}");

    // The same pages in English for an English reader: the helper would catch them.
    let en = client("en");
    let html = en
        .get(&check)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(
        !akashi_tests::lang::english_words(&html, &[]).is_empty(),
        "an English page has English words"
    );
}

#[tokio::test]
async fn the_language_switch_goes_only_to_paths_on_this_site() {
    let t = TestStack::start().await;
    let http = client("en");
    let lang = |code: &str, next: &str| {
        let url = format!(
            "{}/lang/{code}?next={}",
            t.verifier(),
            url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        );
        let http = http.clone();
        async move { http.get(url).send().await.unwrap() }
    };
    for (next, location) in [
        ("/check", "/check"),
        ("/desk/requests/abc?x=1", "/desk/requests/abc?x=1"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/%2F/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ] {
        let r = lang("ja", next).await;
        assert_eq!(r.status().as_u16(), 303, "{next}");
        assert_eq!(r.headers()["location"], location, "{next}");
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        assert!(
            cookie.starts_with("verifier_lang=ja; Path=/;") && cookie.contains("HttpOnly"),
            "{cookie}"
        );
    }
    // An unknown language sets nothing.
    let r = lang("xx", "/check").await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(r.headers().get("set-cookie").is_none());

    // The cookie beats Accept-Language; each page links to the other language, back here.
    let check = format!("{}/check", t.verifier());
    let page = |lang_header: &'static str, cookie: &'static str| {
        let check = check.clone();
        async move {
            client(lang_header)
                .get(check)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = page("ja", "verifier_lang=en").await;
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(
        html.contains("href=\"/lang/ja?next=%2Fcheck\" id=\"lang-ja\""),
        "{html}"
    );
    let html = page("en", "verifier_lang=ja").await;
    assert!(html.contains("<html lang=\"ja\">"), "{html}");
    assert!(
        html.contains("href=\"/lang/en?next=%2Fcheck\" id=\"lang-en\""),
        "{html}"
    );
}

/// A mistyped address gets a page in the reader's language that leads to the public check
/// page (not the desk's sign-in), with 404; an unknown API path gets problem+json, and a
/// hostile path is shown nowhere on the page.
#[tokio::test]
async fn an_unknown_address_gets_a_translated_not_found_page() {
    let t = TestStack::start().await;
    let hostile = "/no/such/<script>alert(1)</script>";
    for (lang, words) in [
        ("ja", "このアドレスのページはありません"),
        ("en", "There is no page at this address"),
    ] {
        let r = client(lang)
            .get(format!("{}{hostile}", t.verifier()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "{lang}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{lang}"
        );
        let html = r.text().await.unwrap();
        assert!(html.contains(words), "{lang}: {html}");
        assert!(
            html.contains("href=\"/check\""),
            "{lang}: leads to /check: {html}"
        );
        assert!(!html.contains("<script>alert"), "{lang}: {html}");
        if lang == "ja" {
            assert_japanese("404 page", &html, &[]);
        }
    }
    let r = client("ja")
        .get(format!("{}/api/no-such-endpoint", t.verifier()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["status"], 404, "{problem}");
}

#[tokio::test]
async fn a_body_over_the_limit_gets_the_translated_413_page() {
    let t = TestStack::start().await;
    let (cookie, token) = check_page_csrf(&t).await;
    let ja = client("ja");
    let url = format!("{}/check/upload", t.verifier());
    let too_big = vec![0xA5u8; verifier::http::pages::check::UPLOAD_BODY_LIMIT + 256 * 1024];

    // The form sent without JavaScript: the whole page, in Japanese.
    let (content_type, body) = upload_form(&token, "huge.jpg", "image/jpeg", &too_big);
    let r = ja
        .post(&url)
        .header("cookie", &cookie)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let html = r.text().await.unwrap();
    assert_japanese("413 page", &html, &[]);
    assert!(html.contains("ファイルが大きすぎます"), "{html}");
    assert!(!html.contains("Failed to buffer"), "{html}");

    // The page's script sending the file itself: the result section, in Japanese.
    let r = ja
        .post(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", &token)
        .header("content-type", "image/jpeg")
        .body(too_big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let html = r.text().await.unwrap();
    assert_no_english("413 section", &html, &[]);
    assert!(html.contains("ファイルが大きすぎます"), "{html}");

    // In English for an English reader.
    let r = client("en")
        .post(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", &token)
        .header("content-type", "image/jpeg")
        .body(vec![
            0u8;
            verifier::http::pages::check::UPLOAD_BODY_LIMIT + 1
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    assert!(r.text().await.unwrap().contains("The file is too large"));
}

/// Draws a phone-style photo in Chromium: a 4032×3024 noisy, shaded picture with the QR
/// code of `text` turned a little in its middle, encoded as a JPEG of 3–4 MB.
async fn phone_photo(b: &Browser, text: &str) -> Vec<u8> {
    let qr = protocol::qr::Qr::new(text).expect("QR").png(8);
    let qr = base64::engine::general_purpose::STANDARD.encode(qr);
    let script = r##"
var qr = window.qrReady;
var w = 4032, h = 3024;
var c = document.createElement("canvas");
c.width = w; c.height = h;
var g = c.getContext("2d");
function draw(amp) {
  var img = g.createImageData(w, h);
  var d = img.data, seed = 12345;
  for (var y = 0; y < h; y++) {
    for (var x = 0; x < w; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      var base = 150 + 60 * Math.sin(x / 700) * Math.cos(y / 500);
      var v = base + ((seed >> 8) % (2 * amp + 1)) - amp;
      var i = (y * w + x) * 4;
      d[i] = v + 10; d[i + 1] = v; d[i + 2] = v - 15; d[i + 3] = 255;
    }
  }
  g.putImageData(img, 0, 0);
  g.save();
  g.translate(w / 2, h / 2);
  g.rotate(0.08);
  g.fillStyle = "#f4f1ea";
  g.fillRect(-800, -800, 1600, 1600);
  g.imageSmoothingEnabled = false;
  g.drawImage(qr, -700, -700, 1400, 1400);
  g.restore();
}
var tried = [];
var amps = [18, 12, 26, 8, 36];
var qualities = [0.92, 0.85, 0.75, 0.6];
for (var a = 0; a < amps.length; a++) {
  draw(amps[a]);
  for (var q = 0; q < qualities.length; q++) {
    var url = c.toDataURL("image/jpeg", qualities[q]);
    var b64 = url.slice(url.indexOf(",") + 1);
    var bytes = b64.length * 3 / 4;
    tried.push([amps[a], qualities[q], bytes]);
    if (bytes >= 3000000 && bytes <= 4000000) { return { jpeg: b64, tried: tried }; }
  }
}
return { jpeg: null, tried: tried };
"##;
    // The QR image must be loaded before it is drawn.
    b.execute(
        // A blob: URL (the page's Content-Security-Policy allows no data: images).
        "var raw = atob(arguments[0]); var bytes = new Uint8Array(raw.length); \
         for (var k = 0; k < raw.length; k++) { bytes[k] = raw.charCodeAt(k); } \
         var i = new Image(); i.src = URL.createObjectURL(new Blob([bytes], { type: 'image/png' })); \
         window.qrReady = i; return true;",
        vec![Value::String(qr.clone())],
    )
    .await
    .unwrap();
    b.wait_until(
        "return window.qrReady.complete && window.qrReady.naturalWidth > 0;",
        "the QR image loads",
    )
    .await
    .unwrap();
    let out = b.execute(script, vec![]).await.unwrap();
    let jpeg = out["jpeg"]
        .as_str()
        .unwrap_or_else(|| panic!("no JPEG of 3–4 MB: {}", out["tried"]));
    base64::engine::general_purpose::STANDARD
        .decode(jpeg)
        .expect("base64")
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn a_phone_photo_is_checked_with_and_without_javascript_and_no_page_scrolls_sideways() {
    const TEST: &str = "verifier_pages";
    let t = TestStack::start().await;
    let (_, pages) = issued_badge_pages(&t).await;
    let page_url = format!("{}/p/good", pages.url);
    let mut b = Browser::start_phone(TEST, 390).await.unwrap();
    b.goto(&format!("{}/check", t.verifier())).await.unwrap();
    let jpeg = phone_photo(&b, &page_url).await;
    assert!(jpeg.starts_with(&[0xff, 0xd8, 0xff]), "a JPEG");
    assert!(
        (3_000_000..=4_000_000).contains(&jpeg.len()),
        "{} bytes",
        jpeg.len()
    );
    let dir = artifacts_dir(&format!("{TEST}-photo"));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = dir.join("badge-photo.jpg");
    std::fs::write(&photo, &jpeg).unwrap();

    // (a) Without JavaScript: the multipart form, answered with the whole page.
    let (cookie, token) = check_page_csrf(&t).await;
    let (content_type, body) = upload_form(&token, "IMG_0001.JPG", "image/jpeg", &jpeg);
    let r = client("ja")
        .post(format!("{}/check/upload", t.verifier()))
        .header("cookie", &cookie)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-state=\"verified\""), "{html}");
    assert_japanese("photo checked without JavaScript", &html, NAMES);
    assert!(html.contains("アップロードされたファイル"), "{html}");
    // The form itself posts there, as multipart, without a script.
    let form = client("en")
        .get(format!("{}/check", t.verifier()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains(
            "<form method=\"post\" action=\"/check/upload\" enctype=\"multipart/form-data\""
        ),
        "{form}"
    );
    assert!(form.contains("name=\"file\""), "{form}");
    csrf_field(&form);

    // (b) With JavaScript, in Japanese: scaled down in the page, checked without a reload.
    b.goto(&format!("{}/lang/ja?next=%2Fcheck", t.verifier()))
        .await
        .unwrap();
    b.find("#upload-form").await.unwrap();
    b.execute("window.noReload = true; return true;", vec![])
        .await
        .unwrap();
    b.upload("#file", &photo).await.unwrap();
    let result = b.wait_for_text("#check-result", "確認済み").await.unwrap();
    b.screenshot("photo-checked-ja").await.unwrap();
    assert!(result.contains("Digital Supporter"), "{result}");
    assert_eq!(
        b.attribute("#check-result", "data-updated-by")
            .await
            .unwrap()
            .as_deref(),
        Some("upload")
    );
    let sent = |name: &'static str| {
        let b = &b;
        async move {
            b.attribute("#check-result", name)
                .await
                .unwrap()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        }
    };
    let (w, h, bytes) = (
        sent("data-sent-width").await,
        sent("data-sent-height").await,
        sent("data-sent-bytes").await,
    );
    assert!(w == 1600 && h == 1200, "scaled to {w}×{h}");
    assert!(bytes > 0 && bytes < 2_000_000, "{bytes} bytes sent");
    assert_eq!(
        b.execute("return window.noReload === true;", vec![])
            .await
            .unwrap(),
        Value::Bool(true),
        "no reload"
    );
    assert_no_english("check result (browser)", &b.source().await, NAMES);

    // At 390 px, no page scrolls sideways: every page, in both languages.
    b.goto(&format!("{}/desk", t.verifier())).await.unwrap();
    b.fill("#token", VERIFIER_TOKEN).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_until(
        "return document.getElementById('create') !== null;",
        "the new-request form",
    )
    .await
    .unwrap();
    b.fill("#issuer", t.issuer()).await.unwrap();
    b.click("#create").await.unwrap();
    b.wait_until(
        "return document.getElementById('qr') !== null;",
        "the request page",
    )
    .await
    .unwrap();
    let request = b.url().await.unwrap();
    let request_path = request
        .strip_prefix(t.verifier())
        .expect("the request page")
        .to_owned();
    let answer_path = request_path.replace("/desk/requests/", "/r/");
    for lang in ["ja", "en"] {
        for path in [
            "/check",
            "/desk",
            request_path.as_str(),
            answer_path.as_str(),
            "/desk/requests/no-such-request",
        ] {
            let next = url::form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>();
            b.goto(&format!("{}/lang/{lang}?next={next}", t.verifier()))
                .await
                .unwrap();
            b.find("main").await.unwrap();
            let width = b
                .execute("return document.documentElement.scrollWidth;", vec![])
                .await
                .unwrap();
            let shot = format!("{lang}{}", path.replace('/', "-"));
            b.screenshot(&shot).await.unwrap();
            assert!(
                width.as_u64().is_some_and(|w| w <= 390),
                "{lang} {path}: {width} px wide"
            );
            let lang_attr = b
                .execute("return document.documentElement.lang;", vec![])
                .await
                .unwrap();
            assert_eq!(lang_attr, json!(lang), "{path}");
        }
    }
    // The check page with a result, and its error for a file without a QR code.
    b.goto(&format!("{}/check", t.verifier())).await.unwrap();
    b.upload("#file", &photo).await.unwrap();
    b.wait_for_text("#check-result", "Verified").await.unwrap();
    let width = b
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap();
    assert!(
        width.as_u64().is_some_and(|w| w <= 390),
        "check result: {width} px"
    );
    b.screenshot("en-check-result").await.unwrap();
    b.quit().await;
}

/// The desk's QR code holds the https link of `/r/{id}`: a page offering "Open in my web
/// wallet" (`{wallet}/present?{the request link's query}`, the address typed once and
/// remembered) and "Open in a wallet app" (the `openid4vp://` link). A hostile address is
/// refused and never followed.
#[tokio::test]
async fn the_desk_qr_opens_a_page_offering_the_web_wallet_and_wallet_apps() {
    let t = TestStack::start().await;
    let b = DeskBrowser::sign_in(&t).await;
    let new_request = || async {
        let r = b.create(&t, &b.cookies(), &b.token).await;
        assert_eq!(r.status().as_u16(), 303);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        location.rsplit('/').next().unwrap().to_owned()
    };
    let id = new_request().await;
    let html = b
        .http
        .get(format!("{}/requests/{id}", b.desk))
        .header("cookie", b.cookies())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("src=\"/r/{id}/qr.svg\"")), "{html}");
    let answer = format!("{}/r/{id}", t.verifier());
    let svg = t.http.get(format!("{answer}/qr.svg")).send().await.unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert_eq!(
        svg.text().await.unwrap(),
        protocol::qr::Qr::new(&answer).unwrap().svg(),
        "the QR code holds the page's https link"
    );
    let app_link = t.stack.verifier.app.links(&id).await.unwrap().openid4vp_uri;
    let query = app_link.split_once('?').unwrap().1.to_owned();
    let escaped = |s: &str| s.replace('&', "&amp;");

    // First visit from a phone: the wallet app link, and the web wallet's address to type.
    let phone = client("ja");
    let html = phone
        .get(&answer)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_japanese("answer page", &html, &[]);
    assert!(
        html.contains(&format!(
            "id=\"wallet-app\" class=\"button\" href=\"{}\"",
            escaped(&app_link)
        )),
        "{html}"
    );
    assert!(!html.contains("id=\"web-wallet\""), "{html}");

    // The address typed once: the link to the wallet's /present page, remembered.
    let r = phone
        .get(format!("{answer}?wallet=https%3A%2F%2Fwallet.example%2F"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "shown, not redirected");
    let remembered = set_cookie(&r, "verifier_wallet").expect("the wallet remembered");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("Path=/r;") && set.contains("HttpOnly"),
        "{set}"
    );
    let html = r.text().await.unwrap();
    let web_link = format!("https://wallet.example/present?{query}");
    assert!(
        html.contains(&format!(
            "id=\"web-wallet\" class=\"button\" href=\"{}\"",
            escaped(&web_link)
        )),
        "{html}"
    );
    assert_japanese("answer page with the wallet", &html, &[]);

    // The next request: one tap.
    let id2 = new_request().await;
    let query2 = t
        .stack
        .verifier
        .app
        .links(&id2)
        .await
        .unwrap()
        .openid4vp_uri
        .split_once('?')
        .unwrap()
        .1
        .to_owned();
    let html = phone
        .get(format!("{}/r/{id2}", t.verifier()))
        .header("cookie", &remembered)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&escaped(&format!(
            "https://wallet.example/present?{query2}"
        ))),
        "{html}"
    );

    // Hostile addresses: refused, not remembered, never a link, never a redirect.
    for hostile in [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "https://user:pw@wallet.example",
        "https://wallet.example/?x=1",
        "//evil.example",
    ] {
        let url = format!(
            "{answer}?wallet={}",
            url::form_urlencoded::byte_serialize(hostile.as_bytes()).collect::<String>()
        );
        let r = phone.get(url).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400, "{hostile}");
        assert!(r.headers().get("set-cookie").is_none(), "{hostile}");
        assert!(r.headers().get("location").is_none(), "{hostile}");
        let html = r.text().await.unwrap();
        assert!(!html.contains("id=\"web-wallet\""), "{hostile}: {html}");
        assert!(!html.contains("<script>alert"), "{hostile}: {html}");
        assert_japanese("refused wallet", &html, &[]);
    }
    // An unknown request: a translated 404.
    let r = phone
        .get(format!("{}/r/no-such-request", t.verifier()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_japanese("unknown request", &r.text().await.unwrap(), &[]);
}
