//! The Share panel on the holder's own badge page (`/badges/{id}`), in headless Chromium
//! at 1280 and 390 px, in English and Japanese: the public link with a copy button that
//! says "Copied" (コピーしました), X, LinkedIn with "Add to profile" filled in as a
//! certification, Facebook, LINE, all percent-encoded from a hostile badge name; the email
//! signature previewed as exactly the HTML that is copied, its name as text; the business
//! card (PDF and PNG, whose QR code decodes to the public page) and the QR code; no
//! horizontal scrolling. The issuer's image, served over http by the development issuer,
//! is fetched once at receipt, kept and served by the wallet. A private badge offers
//! "Make it public to share"; a revoked badge offers nothing but its state; another
//! account gets 404 for the image.

use akashi_tests::browser::Browser;
use serde_json::json;

use crate::common::{ADMIN, TestStack};
use crate::public_pages::{PASSWORD, WebClient, web_account};

const BADGE: &str = "\"><script>alert(1)</script> Tom & Jerry 共有バッジ";
const TEST: &str = "share_panel";

/// The query parameters of `link`, decoded.
fn params(link: &str) -> Vec<(String, String)> {
    url::Url::parse(link)
        .unwrap_or_else(|e| panic!("{link}: {e}"))
        .query_pairs()
        .into_owned()
        .collect()
}

fn param(link: &str, name: &str) -> Option<String> {
    params(link)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

async fn sign_in(b: &Browser, wallet: &str, email: &str, next: &str) {
    b.goto(&format!("{wallet}/sign-in?next={next}"))
        .await
        .unwrap();
    b.fill("#email", email).await.unwrap();
    b.fill("#password", PASSWORD).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_until(
        "return document.getElementById('badge-name') !== null;",
        "the badge page after signing in",
    )
    .await
    .unwrap();
}

/// Opens the badge page in `lang`, checks the panel and its copy buttons, takes a
/// screenshot, and asserts there is no horizontal scrolling.
async fn check_panel(b: &mut Browser, wallet: &str, id: &str, public_url: &str, lang: &str) {
    b.goto(&format!("{wallet}/lang/{lang}?next=/badges/{id}"))
        .await
        .unwrap();
    let (share, copied, add) = match lang {
        "ja" => ("共有", "コピーしました", "LinkedIn のプロフィールに追加"),
        _ => ("Share", "Copied", "Add to LinkedIn profile"),
    };
    b.wait_for_text("#share-title", share).await.unwrap();
    assert_eq!(b.text("#badge-name").await.unwrap(), BADGE);
    assert_eq!(b.text("#share-linkedin-add").await.unwrap(), add);

    // The links, as the browser sees them: each decodes back to the page and the name.
    async fn href_of(b: &Browser, css: &str) -> String {
        b.attribute(css, "href").await.unwrap().unwrap_or_default()
    }
    let shared: &Browser = b;
    let href = move |css: &'static str| href_of(shared, css);
    let x = href("#share-x").await;
    assert!(x.starts_with("https://x.com/intent/tweet?"), "{x}");
    assert_eq!(param(&x, "url").as_deref(), Some(public_url));
    assert_eq!(param(&x, "text").as_deref(), Some(BADGE));
    let linkedin = href("#share-linkedin").await;
    assert_eq!(param(&linkedin, "url").as_deref(), Some(public_url));
    let add_link = href("#share-linkedin-add").await;
    assert!(
        add_link.starts_with("https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&"),
        "{add_link}"
    );
    assert_eq!(param(&add_link, "name").as_deref(), Some(BADGE));
    assert_eq!(param(&add_link, "certUrl").as_deref(), Some(public_url));
    assert!(param(&add_link, "organizationName").is_some_and(|o| !o.is_empty()));
    let year = param(&add_link, "issueYear").unwrap();
    assert_eq!(year.len(), 4, "{add_link}");
    let month: u8 = param(&add_link, "issueMonth").unwrap().parse().unwrap();
    assert!((1..=12).contains(&month));
    assert!(
        param(&add_link, "certId").is_some_and(|c| c.starts_with("urn:uuid:")),
        "{add_link}"
    );
    let facebook = href("#share-facebook").await;
    assert_eq!(param(&facebook, "u").as_deref(), Some(public_url));
    let line = href("#share-line").await;
    assert!(
        line.starts_with("https://social-plugins.line.me/lineit/share?"),
        "{line}"
    );
    assert_eq!(param(&line, "url").as_deref(), Some(public_url));
    for css in ["#card-pdf", "#card-png", "#qr-png", "#qr-svg"] {
        assert!(
            href(css).await.starts_with(&format!("/badges/{id}/")),
            "{css}"
        );
    }

    // The signature's preview is the copied HTML, rendered: the hostile name is text, the
    // link goes to the public page, nothing runs.
    let preview = b
        .execute(
            "const ta = document.getElementById('signature'); \
             const p = document.getElementById('signature-preview'); \
             const d = document.createElement('div'); d.innerHTML = ta.value; \
             return {same: d.innerHTML.trim() === p.innerHTML.trim(), \
                     text: p.textContent, href: p.querySelector('a').getAttribute('href'), \
                     img: p.querySelector('img').getAttribute('src'), \
                     scripts: p.querySelectorAll('script').length, \
                     elements: p.querySelectorAll('*').length};",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(preview["same"], true, "{preview}");
    assert_eq!(preview["href"], public_url, "{preview}");
    assert_eq!(
        preview["img"],
        format!("{public_url}/badge.png"),
        "{preview}"
    );
    assert_eq!(preview["scripts"], 0, "{preview}");
    assert_eq!(preview["elements"], 2, "an <a> and an <img>: {preview}");
    assert!(
        preview["text"].as_str().unwrap().contains(BADGE),
        "{preview}"
    );
    b.wait_until(
        "const i = document.getElementById('share-qr'); return i.complete && i.naturalWidth > 0;",
        "the QR code loads",
    )
    .await
    .unwrap();

    b.execute("window.scrollTo(0, 0);", vec![]).await.unwrap();
    b.screenshot(&format!("badge-{lang}")).await.unwrap();

    // The copy buttons (shown by the script) say so, in the page's language.
    b.click("#copy-url").await.unwrap();
    b.wait_for_text("#copy-url-status", copied).await.unwrap();
    b.click("#copy-signature").await.unwrap();
    b.wait_for_text("#copy-signature-status", copied)
        .await
        .unwrap();

    let width = b
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    let (scroll, inner) = (width[0].as_u64().unwrap(), width[1].as_u64().unwrap());
    assert!(
        scroll <= inner,
        "no horizontal scrolling in {lang}: {width}"
    );
    b.execute("document.getElementById('share').scrollIntoView();", vec![])
        .await
        .unwrap();
    b.screenshot(&format!("share-{lang}")).await.unwrap();
    b.execute(
        "document.getElementById('signature-preview').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    b.screenshot(&format!("signature-{lang}")).await.unwrap();
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn the_share_panel_on_the_holders_badge_page() {
    let t = TestStack::start().await;
    let wallet = t.stack.wallet.url.clone();
    let app = &t.stack.wallet.app;

    // An achievement with a hostile name and an uploaded PNG (served over http by the
    // development issuer), offered to Ana.
    let (status, a) = t
        .admin_post(
            "/admin/achievements",
            json!({"name": BADGE, "description": "Shares.", "criteria": "Did it."}),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let achievement = a["id"].as_str().unwrap().to_owned();
    let art = protocol::qr::Qr::new("share panel art").unwrap().png(4);
    let r = t
        .http
        .put(format!(
            "{}/admin/achievements/{achievement}/image",
            t.issuer()
        ))
        .bearer_auth(ADMIN)
        .header("content-type", "image/png")
        .body(art.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    let (status, offer) = t
        .admin_post(
            "/admin/offers",
            json!({"achievement_id": achievement, "recipient_name": "Ana Share",
                   "recipient_email": "ana@example.org", "tx_code": false}),
        )
        .await;
    assert_eq!(status, 201, "{offer}");
    let (ana, _) = web_account(&t, "ana", "ana@example.org").await;
    let (ben, _) = web_account(&t, "ben", "ben@example.org").await;
    let now = t.stack.clock.now();
    let accepted = app
        .accept(&ana, offer["offer_link"].as_str().unwrap(), None, now)
        .await
        .expect("the wallet accepts the offer");
    let id = accepted.credentials[0].id.clone();
    let public_url = app.visibility(&ana, &id, now).await.unwrap().public_url;

    // The issuer's http image was fetched at receipt and kept with the badge.
    let kept = app
        .store
        .badge_image(&id)
        .await
        .unwrap()
        .expect("the image is kept with the badge");
    assert_eq!(kept.bytes, art);
    assert_eq!(kept.media_type, "image/png");
    assert!(
        kept.source.starts_with("http://127.0.0.1:"),
        "{}",
        kept.source
    );

    // Served by the wallet to the holder only.
    let mut holder = WebClient::new(&wallet);
    holder.sign_in("ana@example.org").await;
    let r = t
        .http
        .get(format!("{wallet}/badges/{id}/image"))
        .header("cookie", holder.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(r.bytes().await.unwrap().to_vec(), art);
    let mut stranger = WebClient::new(&wallet);
    stranger.sign_in("ben@example.org").await;
    let (s, _) = stranger.get(&format!("/badges/{id}/image")).await;
    assert_eq!(s, 404, "another account's badge image");
    let (s, _) = stranger.get(&format!("/badges/{id}")).await;
    assert_eq!(s, 404, "another account's badge page");
    drop(ben);

    // Without JavaScript: the panel is there, the fields are selectable, the buttons
    // hidden; every value is escaped.
    let (s, html) = holder.get(&format!("/badges/{id}")).await;
    assert_eq!(s, 200, "{html}");
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(
        html.contains("<input type=\"text\" id=\"share-url\""),
        "{html}"
    );
    assert!(
        html.contains("<textarea id=\"signature\" rows=\"4\" readonly>&#60;a href="),
        "{html}"
    );
    assert!(
        html.contains("id=\"copy-url\" data-copy=\"share-url\""),
        "{html}"
    );
    assert!(html.contains(" hidden>Copy</button>"), "{html}");
    assert!(html.contains("<script src=\"/share/copy.js\"></script>"));
    // The card as PNG: its QR code decodes to the public page.
    let r = t
        .http
        .get(format!("{wallet}/badges/{id}/card.png"))
        .header("cookie", holder.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    let card = r.bytes().await.unwrap().to_vec();
    // (The badge art is a QR code too: the card carries two.)
    let scanned = crate::common::zbarimg(&card);
    assert!(scanned.lines().any(|l| l == public_url), "{scanned}");
    let dir = akashi_tests::browser::artifacts_dir(TEST);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("card.png"), &card).unwrap();
    // The share image, as a stranger gets it.
    let share_png = t
        .http
        .get(format!("{public_url}/share.png"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    std::fs::write(dir.join("share.png"), &share_png).unwrap();

    // In a browser, 1280 px, English then Japanese.
    let mut b = Browser::start(TEST).await.unwrap();
    sign_in(&b, &wallet, "ana@example.org", &format!("/badges/{id}")).await;
    b.wait_until(
        "const i = document.querySelector('.badge img'); return i && i.complete && i.naturalWidth > 0;",
        "the kept badge image shows",
    )
    .await
    .unwrap();
    check_panel(&mut b, &wallet, &id, &public_url, "en").await;
    check_panel(&mut b, &wallet, &id, &public_url, "ja").await;
    b.quit().await;

    // On a phone, 390 px.
    let mut phone = Browser::start_phone(&format!("{TEST}_phone"), 390)
        .await
        .unwrap();
    sign_in(&phone, &wallet, "ana@example.org", &format!("/badges/{id}")).await;
    check_panel(&mut phone, &wallet, &id, &public_url, "en").await;
    check_panel(&mut phone, &wallet, &id, &public_url, "ja").await;
    phone.quit().await;

    // The public page, for a stranger: share links and the QR code, not the signature;
    // the holder there gets a link to their badge page.
    let (s, html) = WebClient::new(&wallet).get(&public_url).await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"share-line\""), "{html}");
    assert!(!html.contains("id=\"signature\"") && !html.contains("holder-tools"));
    let (_, html) = holder.get(&public_url).await;
    assert!(
        html.contains(&format!("<p id=\"holder-tools\"><a href=\"/badges/{id}\">")),
        "{html}"
    );

    // Private: no panel, a way to make it public.
    app.set_visibility(&ana, &id, false, None, now)
        .await
        .unwrap();
    let (_, html) = holder.get(&format!("/badges/{id}")).await;
    assert!(
        html.contains(&format!(
            "<a id=\"make-public\" href=\"/badges/{id}/public\">Make it public to share</a>"
        )),
        "{html}"
    );
    for absent in [
        "share-x",
        "share-line",
        "signature",
        "card-pdf",
        "share-url",
    ] {
        assert!(
            !html.contains(&format!("id=\"{absent}\"")),
            "{absent}: {html}"
        );
    }
    app.set_visibility(&ana, &id, true, None, now)
        .await
        .unwrap();

    // Revoked: only its state.
    let credential = crate::check::credential_id(&t, &offer, crate::formats::SD_JWT).await;
    crate::formats::set_status(&t, &credential, "revoked").await;
    t.stack.clock.advance(3700);
    let (_, html) = holder.get(&format!("/badges/{id}")).await;
    assert!(html.contains("data-state=\"revoked\""), "{html}");
    for absent in [
        "share-x",
        "share-line",
        "signature",
        "card-pdf",
        "share-url",
        "make-public",
        "share-private",
    ] {
        assert!(
            !html.contains(&format!("id=\"{absent}\"")),
            "{absent} on a revoked badge: {html}"
        );
    }
    assert!(!html.contains("copy.js"), "{html}");
}
