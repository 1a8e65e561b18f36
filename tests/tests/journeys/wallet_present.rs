//! Presenting from the wallet's web pages, in real headless Chromium: the holder signs in,
//! uploads a PNG of the verifier's QR code (as the verifier renders it), sees who asks and
//! what would be disclosed, unticks the optional evidence, shares, and sees the verifier's
//! answer; the verifier's result holds exactly the disclosed claims. Also: the pasted-link
//! path with an encrypted (`direct_post.jwt`) response, declining (the verifier records
//! `access_denied`), a request no held badge meets, and another account's (or browser's)
//! use of a pending request. And the badge page's live verification: after the issuer
//! revokes the badge its status line fails, and after the achievement's image is changed
//! the image digest line fails. A screenshot per step under
//! `browser-artifacts/wallet_present…/`.

use akashi_tests::browser::Browser;
use holder_agent::Account;
use serde_json::{Value, json};

use crate::common::{ADMIN, TestStack, VERIFIER_TOKEN, check};

pub(crate) const PASSWORD: &str = "correct horse battery";

/// A wallet account that signs in with `email` and [`PASSWORD`].
pub(crate) async fn web_account(t: &TestStack, email: &str) -> Account {
    let app = &t.stack.wallet.app;
    let now = t.stack.clock.now();
    let account = app.ensure_account(email, now).await.expect("account");
    let phc = holder_agent::wallet::web::hash_password_at(app.config.password_cost, PASSWORD)
        .await
        .unwrap();
    app.store
        .set_email_and_password(&account.id, email, &phc, now)
        .await
        .unwrap();
    account
}

/// A PNG picture (a QR code of `text`, as good a picture as any).
fn png(text: &str) -> Vec<u8> {
    protocol::qr::Qr::new(text).unwrap().png(4)
}

async fn put_image(t: &TestStack, achievement: &str, body: Vec<u8>) {
    let r = t
        .http
        .put(format!(
            "{}/admin/achievements/{achievement}/image",
            t.issuer()
        ))
        .bearer_auth(ADMIN)
        .header("content-type", "image/png")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
}

/// Creates an achievement with an image and gives `account` a badge of it with evidence;
/// returns the achievement id and the wallet's credential id.
pub(crate) async fn give_badge(t: &TestStack, account: &Account) -> (String, String) {
    let (status, a) = t
        .admin_post(
            "/admin/achievements",
            json!({
                "name": "Digital Supporter — Level 1",
                "description": "Helps citizens use public digital services.",
                "criteria": "Completed the 6-hour course.",
                "valid_days": 365,
            }),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let achievement = a["id"].as_str().unwrap().to_owned();
    put_image(t, &achievement, png("the badge image")).await;
    let (status, offer) = t
        .admin_post(
            "/admin/offers",
            json!({
                "achievement_id": achievement,
                "recipient_name": "Ana Tanaka",
                "recipient_email": "ana@example.org",
                "evidence": [{"id": "https://portfolio.example/ana", "narrative": "Ran the course"}],
            }),
        )
        .await;
    assert_eq!(status, 201, "{offer}");
    let accepted = t
        .stack
        .wallet
        .app
        .accept(
            account,
            offer["offer_link"].as_str().unwrap(),
            None,
            t.stack.clock.now(),
        )
        .await
        .expect("the wallet accepts the offer");
    (achievement, accepted.credentials[0].id.clone())
}

/// A DCQL query for the badge: the achievement's name and the recipient's name are
/// required, the evidence is wanted but optional (the second claim set leaves it out).
fn dcql_with_optional_evidence(vct: &str) -> Value {
    json!({"credentials": [{
        "id": "badge",
        "format": "dc+sd-jwt",
        "meta": {"vct_values": [vct]},
        "claims": [
            {"id": "ach", "path": ["ld", "credentialSubject", "achievement", "name"]},
            {"id": "type", "path": ["ld", "credentialSubject", "identifier", 0, "identityType"], "values": ["name"]},
            {"id": "name", "path": ["ld", "credentialSubject", "identifier", 0, "identityHash"]},
            {"id": "evidence", "path": ["ld", "evidence"]}
        ],
        "claim_sets": [["ach", "type", "name", "evidence"], ["ach", "type", "name"]]
    }]})
}

async fn verifier_request(t: &TestStack, body: Value) -> Value {
    let r = t
        .http
        .post(format!("{}/api/requests", t.verifier()))
        .bearer_auth(VERIFIER_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    r.json().await.unwrap()
}

async fn sign_in(b: &Browser, wallet: &str, email: &str) {
    b.goto(&format!("{wallet}/sign-in")).await.unwrap();
    b.fill("#email", email).await.unwrap();
    b.fill("#password", PASSWORD).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("h1", "My badges").await.unwrap();
}

/// Pastes `link` on the present page and waits for the consent page.
async fn paste(b: &Browser, wallet: &str, link: &str) {
    b.goto(&format!("{wallet}/present")).await.unwrap();
    b.wait_for_text("h1", "Present a badge").await.unwrap();
    b.fill("#link", link).await.unwrap();
    b.click("#open-link").await.unwrap();
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn wallet_present_from_the_browser_with_one_claim_unticked() {
    let t = TestStack::start().await;
    let wallet = t.stack.wallet.url.clone();
    let ana = web_account(&t, "ana@example.org").await;
    let (_, credential_id) = give_badge(&t, &ana).await;
    let vct = t.stack.wallet.app.list(&ana).await.unwrap()[0].vct.clone();

    let mut b = Browser::start("wallet_present_from_the_browser_with_one_claim_unticked")
        .await
        .unwrap();
    sign_in(&b, &wallet, "ana@example.org").await;
    b.click("#present-link").await.unwrap();
    b.wait_for_text("h1", "Present a badge").await.unwrap();
    b.screenshot("present-page").await.unwrap();

    // 1. Upload the verifier's QR code, as the verifier renders it (PNG).
    let request =
        verifier_request(&t, json!({"dcql_query": dcql_with_optional_evidence(&vct)})).await;
    let qr = t
        .http
        .get(request["qr_png"].as_str().unwrap())
        .bearer_auth(VERIFIER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(qr.headers()["content-type"], "image/png");
    let dir = tempfile::tempdir().unwrap();
    let qr_path = dir.path().join("verifier-qr.png");
    std::fs::write(&qr_path, qr.bytes().await.unwrap()).unwrap();
    b.upload("#picture", &qr_path).await.unwrap();
    b.screenshot("qr-chosen").await.unwrap();
    b.click("#read-picture").await.unwrap();

    // 2. The consent page: the verifier, its verified signature, and the claims.
    b.wait_for_text("h1", "Share your badge?").await.unwrap();
    let verifier_did = format!(
        "did:web:{}",
        t.verifier()
            .trim_start_matches("http://")
            .replace(':', "%3A")
    );
    assert_eq!(
        b.text("#verifier-prefix").await.unwrap(),
        "decentralized_identifier"
    );
    assert!(
        b.text("#verifier-id")
            .await
            .unwrap()
            .contains(&verifier_did),
        "{}",
        b.text("#verifier-id").await.unwrap()
    );
    let signature = b.text("#request-signature").await.unwrap();
    assert!(signature.contains("signature verified"), "{signature}");
    assert!(signature.contains(&verifier_did), "{signature}");
    assert!(
        b.text("#response-mode")
            .await
            .unwrap()
            .contains("direct_post")
    );
    assert_eq!(
        b.text(".credential-name").await.unwrap(),
        "Digital Supporter — Level 1"
    );
    let claims = b.text("#credential-0").await.unwrap();
    assert!(claims.contains("Name: Ana Tanaka"), "in words: {claims}");
    assert!(
        !claims.contains("/ld/") && !claims.contains('{'),
        "no pointers, no JSON: {claims}"
    );
    assert!(claims.contains("Ran the course"), "{claims}");
    assert!(
        !claims.contains("email"),
        "the email is not requested: {claims}"
    );
    // The name is required (fixed), the evidence optional, the achievement's name fixed
    // in the badge.
    let state = |pointer: &str| {
        format!(
            "var e = document.querySelector('input[data-pointer=\"{pointer}\"]'); \
             return e ? [e.checked, e.disabled] : null;"
        )
    };
    assert_eq!(
        b.execute(&state("/ld/credentialSubject/identifier/0"), vec![])
            .await
            .unwrap(),
        json!([true, true])
    );
    assert_eq!(
        b.execute(&state("/ld/evidence"), vec![]).await.unwrap(),
        json!([true, false])
    );
    assert_eq!(
        b.execute(&state("/ld/credentialSubject/achievement/name"), vec![])
            .await
            .unwrap(),
        json!([true, true])
    );
    b.screenshot("consent").await.unwrap();

    // 3. Untick the evidence and share.
    b.click("input[data-pointer=\"/ld/evidence\"]")
        .await
        .unwrap();
    assert_eq!(
        b.execute(&state("/ld/evidence"), vec![]).await.unwrap(),
        json!([false, false])
    );
    b.screenshot("evidence-unticked").await.unwrap();
    let consent_url = b.url().await.unwrap();
    b.click("#share").await.unwrap();
    b.wait_for_text("#outcome", "You shared your badge with")
        .await
        .unwrap();
    // In words; the HTTP status and the raw answer only under "Technical details".
    assert_eq!(
        b.text("#accepted").await.unwrap(),
        "The verifier checked your badge and accepted it."
    );
    assert_eq!(
        b.execute(
            "return document.querySelector('#technical #status').textContent;",
            vec![]
        )
        .await
        .unwrap(),
        json!("HTTP 200")
    );
    assert_eq!(
        b.execute("return document.getElementById('technical').open;", vec![])
            .await
            .unwrap(),
        json!(false),
        "technical details folded away"
    );
    let disclosed = b.text(".disclosed").await.unwrap();
    assert_eq!(disclosed, "Name: Ana Tanaka", "{disclosed}");
    b.screenshot("result").await.unwrap();

    // 4. The verifier got exactly that: the name, not the evidence, not the email.
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    assert_eq!(check(&result, "dcql"), Some(true));
    let badge = &result["disclosed"]["badge"][0];
    assert_eq!(
        badge.pointer("/ld/credentialSubject/identifier/0/identityHash"),
        Some(&json!("Ana Tanaka")),
        "{badge:#}"
    );
    assert_eq!(badge.pointer("/ld/evidence"), None, "{badge:#}");
    assert_eq!(
        badge.pointer("/ld/credentialSubject/identifier/1"),
        None,
        "{badge:#}"
    );

    // The pending request was used once: going back to it finds nothing.
    b.goto(&consent_url).await.unwrap();
    b.wait_for_text("#error", "already answered").await.unwrap();
    b.screenshot("consent-used").await.unwrap();

    // 5. A pasted link; the verifier asks for an encrypted response.
    let request = verifier_request(
        &t,
        json!({"template": {"issuer": t.issuer(), "disclose": ["recipient_name"]},
               "response_mode": "direct_post.jwt"}),
    )
    .await;
    paste(&b, &wallet, request["openid4vp_uri"].as_str().unwrap()).await;
    b.wait_for_text("h1", "Share your badge?").await.unwrap();
    b.wait_for_text("#response-mode", "encrypted to the verifier's key")
        .await
        .unwrap();
    b.screenshot("consent-encrypted").await.unwrap();
    b.click("#share").await.unwrap();
    b.wait_for_text("#outcome", "You shared").await.unwrap();
    b.screenshot("result-encrypted").await.unwrap();
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    assert_eq!(check(&result, "response_encryption"), Some(true));

    // 6. Decline: the verifier records access_denied.
    let request = t.verifier_request().await;
    paste(&b, &wallet, request["openid4vp_uri"].as_str().unwrap()).await;
    b.wait_for_text("h1", "Share your badge?").await.unwrap();
    b.click("#decline").await.unwrap();
    b.wait_for_text("#outcome", "You declined").await.unwrap();
    b.screenshot("declined").await.unwrap();
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "rejected", "{result:#}");
    assert!(
        result["error"]
            .as_str()
            .unwrap_or("")
            .starts_with("access_denied"),
        "{result:#}"
    );

    // 7. A request no held badge meets: said so, and only "Decline" is offered.
    let request = verifier_request(
        &t,
        json!({"dcql_query": {"credentials": [{"id": "other", "format": "dc+sd-jwt",
               "meta": {"vct_values": ["https://elsewhere.example/vct/diploma"]}}]}}),
    )
    .await;
    paste(&b, &wallet, request["openid4vp_uri"].as_str().unwrap()).await;
    b.wait_for_text("#no-match", "None of your badges meets this request")
        .await
        .unwrap();
    assert!(
        b.text("#no-match-reason")
            .await
            .unwrap()
            .contains("\"other\"")
    );
    assert_eq!(
        b.execute("return document.getElementById('share');", vec![])
            .await
            .unwrap(),
        Value::Null,
        "nothing to share"
    );
    b.screenshot("no-match").await.unwrap();
    b.click("#decline").await.unwrap();
    b.wait_for_text("#outcome", "You declined").await.unwrap();
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "rejected", "{result:#}");

    // 8. A bad link is refused on the form, by the check that failed.
    paste(&b, &wallet, "openid4vp://?client_id=x").await;
    b.wait_for_text("#error", "wallet link").await.unwrap();
    b.screenshot("bad-link").await.unwrap();

    // 9. Another account cannot use Ana's pending request, nor see or answer it.
    let request = t.verifier_request().await;
    paste(&b, &wallet, request["openid4vp_uri"].as_str().unwrap()).await;
    b.wait_for_text("h1", "Share your badge?").await.unwrap();
    let ana_consent = b.url().await.unwrap();
    let _bo = web_account(&t, "bo@example.org").await;
    let mut bo = Browser::start("wallet_present_from_the_browser_other_account")
        .await
        .unwrap();
    sign_in(&bo, &wallet, "bo@example.org").await;
    bo.goto(&ana_consent).await.unwrap();
    bo.wait_for_text("#error", "unknown").await.unwrap();
    bo.screenshot("other-account-consent").await.unwrap();
    // Bo's own (valid) form posted at Ana's request id.
    bo.goto(&format!("{wallet}/present")).await.unwrap();
    bo.wait_for_text("h1", "Present a badge").await.unwrap();
    let share_path = format!("{}/share", ana_consent.trim_start_matches(&wallet));
    bo.execute(
        &format!(
            "var f = document.querySelector('form[action=\"/present\"]'); \
             f.action = {share_path:?}; f.submit();"
        ),
        vec![],
    )
    .await
    .unwrap();
    bo.wait_for_text("#error", "unknown").await.unwrap();
    bo.screenshot("other-account-share").await.unwrap();
    bo.quit().await;
    // Without the CSRF token, Ana's own share is refused.
    let r = t
        .http
        .post(format!("{ana_consent}/share"))
        .form(&[("c0", "/ld/evidence")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // Ana's request is still pending for her.
    b.goto(&ana_consent).await.unwrap();
    b.wait_for_text("h1", "Share your badge?").await.unwrap();
    b.click("#share").await.unwrap();
    b.wait_for_text("#outcome", "You shared").await.unwrap();
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "verified", "{result:#}");

    // 10. The issuer revokes Ana's badge and she shares it again: the verifier does not
    // accept it, and her wallet says why in her words, in English and in Japanese.
    let (_, claims) = t
        .stack
        .wallet
        .app
        .credential_of(&ana, &credential_id)
        .await
        .unwrap()
        .unwrap();
    let issued_id = claims["ld"]["id"].as_str().unwrap();
    let (s, body) = t
        .admin_post(
            &format!("/admin/credentials/{issued_id}/status"),
            json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    // The verifier read the status list for the shares above and may keep it for its
    // `ttl` (a minute): the next share comes after that.
    t.stack.clock.advance(61);
    for (lang, refused, reason) in [
        (
            "en",
            "The verifier did not accept your badge",
            "The issuer has revoked or suspended this badge.",
        ),
        (
            "ja",
            "検証者はバッジを受け付けませんでした",
            "発行者がこのバッジを失効または一時停止しています。",
        ),
    ] {
        b.goto(&format!("{wallet}/lang/{lang}")).await.unwrap();
        let request = t.verifier_request().await;
        b.goto(&format!("{wallet}/present")).await.unwrap();
        b.fill("#link", request["openid4vp_uri"].as_str().unwrap())
            .await
            .unwrap();
        b.click("#open-link").await.unwrap();
        b.wait_until(
            "return document.getElementById('share') !== null;",
            "the consent page",
        )
        .await
        .unwrap();
        b.click("#share").await.unwrap();
        b.wait_for_text("#refused", refused).await.unwrap();
        assert_eq!(b.text("#reasons").await.unwrap(), reason);
        assert_eq!(
            b.execute(
                "return document.querySelector('#technical #status').textContent;",
                vec![]
            )
            .await
            .unwrap(),
            json!("HTTP 400")
        );
        b.screenshots(&format!("not-accepted-{lang}"))
            .await
            .unwrap();
        let result = t.result(request["id"].as_str().unwrap()).await;
        assert_eq!(result["state"], "rejected", "{result:#}");
        assert_eq!(check(&result, "status"), Some(false), "{result:#}");
    }
    b.goto(&format!("{wallet}/lang/en")).await.unwrap();

    b.quit().await;
    t.stack.stop().await;
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn wallet_badge_page_verifies_live() {
    let t = TestStack::start().await;
    let wallet = t.stack.wallet.url.clone();
    let ana = web_account(&t, "ana@example.org").await;
    let (achievement, credential_id) = give_badge(&t, &ana).await;
    let mut b = Browser::start("wallet_badge_page_verifies_live")
        .await
        .unwrap();
    sign_in(&b, &wallet, "ana@example.org").await;
    let page = format!("{wallet}/badges/{credential_id}");
    let outcome =
        |name: &str| format!("return document.getElementById('check-{name}').dataset.outcome;");

    // 1. All good right after receipt.
    b.goto(&page).await.unwrap();
    b.wait_for_text("#verification", "Checked just now")
        .await
        .unwrap();
    for name in [
        "issuer_key",
        "issuer_signature",
        "status",
        "validity",
        "image_digest",
    ] {
        assert_eq!(
            b.execute(&outcome(name), vec![]).await.unwrap(),
            json!("ok"),
            "{name}: {}",
            b.text(&format!("#check-{name}")).await.unwrap()
        );
    }
    // Each line is a plain sentence; the raw finding is folded under "Technical details".
    assert!(
        b.text("#check-status")
            .await
            .unwrap()
            .contains("has not revoked or suspended")
    );
    let technical =
        |name: &str| format!("return document.getElementById('detail-{name}').textContent;");
    let status = b.execute(&technical("status"), vec![]).await.unwrap();
    assert!(
        status.as_str().unwrap().contains("valid (status list"),
        "{status}"
    );
    let validity = b.execute(&technical("validity"), vec![]).await.unwrap();
    assert!(
        validity.as_str().unwrap().contains("valid until"),
        "{validity}"
    );
    assert!(
        !b.text("#verification")
            .await
            .unwrap()
            .contains("status list"),
        "the raw findings are folded away"
    );
    b.screenshot("badge-verified").await.unwrap();

    // 2. The issuer revokes it: the status line fails, now.
    let (view, claims) = t
        .stack
        .wallet
        .app
        .credential_of(&ana, &credential_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.id, credential_id);
    let issued_id = claims["ld"]["id"].as_str().unwrap();
    let (s, body) = t
        .admin_post(
            &format!("/admin/credentials/{issued_id}/status"),
            json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    b.goto(&page).await.unwrap();
    b.wait_for_text("#check-status", "revoked").await.unwrap();
    assert_eq!(
        b.execute(&outcome("status"), vec![]).await.unwrap(),
        json!("failed")
    );
    assert_eq!(
        b.execute(&outcome("issuer_signature"), vec![])
            .await
            .unwrap(),
        json!("ok")
    );
    assert_eq!(
        b.execute(
            "return document.getElementById('badge-state').dataset.state;",
            vec![]
        )
        .await
        .unwrap(),
        json!("revoked")
    );
    assert!(
        b.text("#badge-state")
            .await
            .unwrap()
            .starts_with("Revoked: the issuer has withdrawn this badge."),
        "one plain banner on the holder's page"
    );
    b.screenshot("badge-revoked").await.unwrap();

    // The holder is warned before presenting it: the consent page says it is revoked.
    let request = t.verifier_request().await;
    paste(&b, &wallet, request["openid4vp_uri"].as_str().unwrap()).await;
    b.wait_for_text("h1", "Share your badge?").await.unwrap();
    assert_eq!(
        b.execute(
            "return document.getElementById('credential-0-warning').dataset.state;",
            vec![]
        )
        .await
        .unwrap(),
        json!("revoked")
    );
    assert!(
        b.text("#credential-0-warning")
            .await
            .unwrap()
            .contains("The verifier will be told so when you share it."),
    );
    b.screenshot("consent-revoked").await.unwrap();

    // 3. The achievement's image is changed at the issuer: the digest the badge pins no
    // longer matches.
    put_image(&t, &achievement, png("another image")).await;
    b.goto(&page).await.unwrap();
    b.wait_for_text("#check-image_digest", "has changed")
        .await
        .unwrap();
    assert_eq!(
        b.execute(&outcome("image_digest"), vec![]).await.unwrap(),
        json!("failed")
    );
    b.screenshot("badge-image-changed").await.unwrap();

    // 4. The same checks in the domain call other pages use.
    let live = t
        .stack
        .wallet
        .app
        .verify_held(&ana, &credential_id, t.stack.clock.now())
        .await
        .unwrap()
        .unwrap();
    let failed: Vec<&str> = live
        .checks
        .iter()
        .filter(|c| c.outcome == holder_agent::wallet::verify::Outcome::Failed)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failed, vec!["status", "image_digest"]);

    // 5. Expiry: a year and a day later the validity line fails too.
    // (The session has ended by then: sign in again.)
    t.stack.clock.advance(366 * 86_400);
    sign_in(&b, &wallet, "ana@example.org").await;
    b.goto(&page).await.unwrap();
    b.wait_for_text("#check-validity", "has expired")
        .await
        .unwrap();
    b.screenshot("badge-expired").await.unwrap();

    b.quit().await;
    t.stack.stop().await;
}
