//! The whole journey as the people in it meet it (issue 15), in headless Chromium against a
//! real SMTP server: a volunteer opens the invitation email, creates a wallet, receives the
//! badge from the badge email, looks at it and at its Share panel and business card; a
//! stranger opens the public page; the issuer revokes the badge; then the holder's badge
//! page, the public page and the verifier's `/check` page all say "Revoked" and sharing is
//! gone. Every page is pictured at 1280 and 390 px in English and Japanese, each picture
//! checked by axe-core and for sideways scrolling (`Browser::screenshots`). Pictures go
//! under `browser-artifacts/people…/`.

use std::time::Duration;

use akashi_tests::browser::Browser;
use akashi_tests::lang::assert_no_english;
use serde_json::{Value, json};

use crate::common::TestStack;
use crate::mail::SmtpSink;

const TEST: &str = "people";
const WAIT: Duration = Duration::from_secs(60);
const PASSWORD: &str = "correct horse battery";
const BADGE: &str = "デジタル推進委員 Digital Promotion Volunteer";
const NAME: &str = "山田 花子";
const EMAIL: &str = "hanako@example.jp";
/// Proper names on these pages: the badge's own (bilingual) name, the issuer's name, the
/// networks of the Share panel; and the one unit symbol, "mm" (the business card's size,
/// "91 × 55 mm", written so in Japanese too).
const PROPER: &[&str] = &[
    "Digital",
    "Promotion",
    "Volunteer",
    "Demo",
    "Issuer",
    "LinkedIn",
    "Facebook",
    "mm",
];

/// The current page in Japanese and in English, each at both screen sizes; the browser is
/// left on the English page. `base` is the service whose `/lang/{code}` switch is used.
async fn both_languages(b: &mut Browser, base: &str, step: &str) {
    let here = b.url().await.unwrap();
    let path = here.strip_prefix(base).unwrap_or(&here).to_owned();
    let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
    for lang in ["ja", "en"] {
        b.goto(&format!("{base}/lang/{lang}?next={next}"))
            .await
            .unwrap();
        b.wait_until(
            &format!("return document.documentElement.lang === '{lang}';"),
            &format!("{step} in {lang}"),
        )
        .await
        .unwrap();
        b.screenshots(&format!("{step}-{lang}")).await.unwrap();
        if lang == "ja" {
            let html = b
                .execute("return document.documentElement.outerHTML;", vec![])
                .await
                .unwrap();
            assert_no_english(step, html.as_str().unwrap_or_default(), PROPER);
        }
    }
}

/// The state a page shows in its `data-state` (the holder's badge page and the public page
/// both carry it on their banner or verdict).
async fn state_of(b: &Browser, css: &str) -> Option<String> {
    b.attribute(css, "data-state").await.ok().flatten()
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn a_volunteer_from_invitation_to_revocation_on_every_screen_in_both_languages() {
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    let t = TestStack::start_with(|c| {
        c.issuer.smtp_url = Some(protocol::secret::Secret::new(smtp.clone()))
    })
    .await;
    let wallet = t.stack.wallet.url.clone();
    let (status, a) = t
        .admin_post(
            "/admin/achievements",
            json!({
                "name": BADGE,
                "description": "地域で人々のデジタル活用を支えるボランティア。",
                "criteria": "6 時間の講習を修了した。",
            }),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let achievement = a["id"].as_str().unwrap().to_owned();
    let (status, r) = t
        .admin_post(
            &format!("/admin/achievements/{achievement}/registrations"),
            json!({"name": NAME, "email": EMAIL, "tx_code": false}),
        )
        .await;
    assert_eq!(status, 201, "{r}");

    // 1. The invitation email → the wallet's registration page.
    sink.wait_until(WAIT, "the invitation", |all| {
        all.iter().any(|m| m.to() == EMAIL)
    })
    .await;
    let invitation = sink.to(EMAIL).await.remove(0);
    let register_link = invitation
        .link(&format!("{}/invitations/open?invitation=", t.issuer()))
        .expect("the invitation links to the wallet's registration page");
    let mut b = Browser::start(TEST).await.unwrap();
    b.goto(&register_link).await.unwrap();
    b.find("#password").await.unwrap();
    both_languages(&mut b, &wallet, "register").await;
    b.fill("#password", PASSWORD).await.unwrap();
    b.fill("#password2", PASSWORD).await.unwrap();
    b.click("#register").await.unwrap();
    b.wait_for_text(".who", EMAIL).await.unwrap();
    both_languages(&mut b, &wallet, "home-empty").await;

    // 2. The badge email → the receive page → the badge.
    sink.wait_until(WAIT, "the badge email", |all| {
        all.iter()
            .any(|m| m.to() == EMAIL && m.subject().contains("is ready"))
    })
    .await;
    let badge_mail = sink
        .to(EMAIL)
        .await
        .into_iter()
        .find(|m| m.subject().contains("is ready"))
        .unwrap();
    let receive_link = badge_mail
        .link(&format!("{wallet}/receive?credential_offer_uri="))
        .expect("the badge email's button");
    b.goto(&receive_link).await.unwrap();
    b.find("#accept").await.unwrap();
    both_languages(&mut b, &wallet, "receive").await;
    b.click("#accept").await.unwrap();
    b.wait_for_text("#badge-name", "Digital Promotion Volunteer")
        .await
        .unwrap();
    let badge_url = b.url().await.unwrap();
    let badge_path = badge_url.strip_prefix(&wallet).unwrap().to_owned();
    assert_eq!(state_of(&b, "#badge-state").await, None, "a valid badge");
    b.find("#share-title").await.unwrap();
    both_languages(&mut b, &wallet, "badge").await;
    let public_url = b
        .attribute("#share-x", "href")
        .await
        .unwrap()
        .and_then(|x| {
            url::Url::parse(&x)
                .ok()?
                .query_pairs()
                .find(|(k, _)| k == "url")
                .map(|(_, v)| v.into_owned())
        })
        .expect("the Share panel links the public page");
    assert!(
        public_url.starts_with(&format!("{wallet}/p/")),
        "{public_url}"
    );

    // The front page, and the public-page settings (the name shown by default, the email
    // never).
    b.goto(&format!("{wallet}/")).await.unwrap();
    b.wait_for_text("#badges", "Digital Promotion Volunteer")
        .await
        .unwrap();
    both_languages(&mut b, &wallet, "home").await;
    b.goto(&format!("{wallet}{badge_path}/public"))
        .await
        .unwrap();
    b.find("#save").await.unwrap();
    both_languages(&mut b, &wallet, "public-settings").await;

    // The business card, as the browser shows the SVG (not an HTML page: pictured only).
    b.goto(&format!("{wallet}{badge_path}/card.svg"))
        .await
        .unwrap();
    b.wait_until(
        "return document.documentElement.getAttribute('width') === '91mm'",
        "the card SVG",
    )
    .await
    .unwrap();
    b.picture("card").await.unwrap();

    // 3. A stranger opens the public page: the badge, the holder's name, verified.
    let mut stranger = Browser::start(&format!("{TEST}-stranger")).await.unwrap();
    stranger.goto(&public_url).await.unwrap();
    stranger
        .wait_for_text("#badge-name", "Digital Promotion Volunteer")
        .await
        .unwrap();
    assert_eq!(stranger.text("#recipient").await.unwrap(), NAME);
    assert_eq!(
        state_of(&stranger, "#verdict").await.as_deref(),
        Some("valid")
    );
    assert!(
        !stranger.source().await.contains(EMAIL),
        "the email address is never on the public page"
    );
    both_languages(&mut stranger, &wallet, "public-page").await;

    // 4. The issuer revokes the badge: one operation for every form it was issued in.
    let list = t
        .http
        .get(format!("{}/admin/registrations?limit=10", t.issuer()))
        .bearer_auth(crate::common::ADMIN)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let registration = list["registrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["email"] == EMAIL)
        .unwrap_or_else(|| panic!("{list}"))
        .clone();
    let detail: Value = t
        .http
        .get(format!(
            "{}/admin/registrations/{}",
            t.issuer(),
            registration["id"].as_str().unwrap()
        ))
        .bearer_auth(crate::common::ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let offer_id = detail["offer_id"]
        .as_str()
        .or_else(|| detail["offer"]["id"].as_str())
        .or_else(|| detail["offers"][0]["offer_id"].as_str())
        .unwrap_or_else(|| panic!("the registration names its offer: {detail}"))
        .to_owned();
    let offer: Value = t
        .http
        .get(format!("{}/admin/offers/{offer_id}", t.issuer()))
        .bearer_auth(crate::common::ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let credential = offer["credentials"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{offer}"))
        .to_owned();
    let (status, revoked) = t
        .admin_post(
            &format!("/admin/credentials/{credential}/status"),
            json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(
        revoked["credentials"].as_array().map(Vec::len),
        offer["credentials"].as_array().map(Vec::len),
        "every form of the badge changed: {revoked}"
    );

    // 5. Every surface says Revoked. The holder's badge page: the banner, no sharing.
    b.goto(&badge_url).await.unwrap();
    b.wait_until(
        "const s = document.getElementById('badge-state'); \
         return s !== null && s.dataset.state === 'revoked';",
        "the holder's badge page says revoked",
    )
    .await
    .unwrap();
    assert!(
        b.find("#share-title").await.is_err(),
        "no Share panel on a revoked badge"
    );
    both_languages(&mut b, &wallet, "badge-revoked").await;

    // The public page, for the stranger: Revoked, and nothing to share.
    stranger.goto(&public_url).await.unwrap();
    stranger
        .wait_until(
            "const v = document.getElementById('verdict'); \
             return v !== null && v.dataset.state === 'revoked';",
            "the public page says revoked",
        )
        .await
        .unwrap();
    stranger.find("#no-sharing").await.unwrap();
    both_languages(&mut stranger, &wallet, "public-page-revoked").await;

    // The verifier's /check page, given the public page's link (what the card's QR holds).
    let verifier = t.verifier().to_owned();
    stranger.goto(&format!("{verifier}/check")).await.unwrap();
    stranger.fill("#input", &public_url).await.unwrap();
    stranger.click("#check").await.unwrap();
    stranger
        .wait_until(
            "const s = document.getElementById('state'); \
             return s !== null && s.dataset.state === 'rejected';",
            "the check page's result",
        )
        .await
        .unwrap();
    let verdict = stranger.text("#verdict").await.unwrap();
    assert!(verdict.contains("revoked"), "{verdict}");
    stranger.screenshots("check-revoked-en").await.unwrap();
    both_languages(&mut stranger, &verifier, "check").await;

    stranger.quit().await;
    b.quit().await;
    t.stack.stop().await;
}
