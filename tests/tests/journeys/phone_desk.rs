//! The desk ↔ wallet flow as it happens at a counter: the verifier's desk (a laptop at
//! 1280 px) shows a QR code; the holder's phone (390 px, Chromium's mobile emulation)
//! reads it as a camera would (the QR decoded from a screenshot of the desk by zbarimg),
//! opens the https page it holds, answers with the web wallet, and the desk shows the
//! verdict by itself (server-sent events). First visit: the wallet's address is typed
//! once, the wallet asks the holder to sign in and comes back to the request; then, in
//! Japanese, one tap to the wallet and one to share. Screenshots of every page at 390 and
//! 1280 px under `browser-artifacts/phone_desk…/`.

use akashi_tests::browser::{Browser, decode_qr};
use serde_json::json;

use crate::common::{TestStack, VERIFIER_TOKEN};
use crate::wallet_present::{PASSWORD, give_badge, web_account};

const TEST: &str = "phone_desk";

/// Signs the desk browser in and opens a new request for the issuer's badges; returns the
/// request page's URL.
async fn new_desk_request(desk: &Browser, t: &TestStack) -> String {
    desk.goto(&format!("{}/desk", t.verifier())).await.unwrap();
    if desk
        .execute("return document.getElementById('token') !== null;", vec![])
        .await
        .unwrap()
        == json!(true)
    {
        desk.fill("#token", VERIFIER_TOKEN).await.unwrap();
        desk.click("#sign-in").await.unwrap();
    }
    desk.wait_until(
        "return document.getElementById('create') !== null;",
        "the new-request form",
    )
    .await
    .unwrap();
    desk.fill("#issuer", t.issuer()).await.unwrap();
    desk.click("#create").await.unwrap();
    desk.wait_until(
        "return document.getElementById('qr') !== null;",
        "the request page",
    )
    .await
    .unwrap();
    desk.url().await.unwrap()
}

/// What a phone's camera reads off the desk's screen: the QR code in a screenshot.
async fn scan_desk(desk: &mut Browser, step: &str) -> String {
    let shot = desk.screenshot(step).await.unwrap();
    let decoded = decode_qr(&shot).await.unwrap();
    assert_eq!(decoded.len(), 1, "one QR code on the desk: {decoded:?}");
    decoded[0].clone()
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn a_phone_answers_the_desk_through_its_qr_code_with_the_web_wallet() {
    let t = TestStack::start().await;
    let wallet = t.stack.wallet.url.clone();
    let ana = web_account(&t, "ana@example.org").await;
    give_badge(&t, &ana).await;
    let mut desk = Browser::start(TEST).await.unwrap();
    let mut phone = Browser::start_phone(&format!("{TEST}_phone"), 390)
        .await
        .unwrap();

    // 1. English, first visit: the desk's QR code holds the https page of the request.
    let request_page = new_desk_request(&desk, &t).await;
    desk.screenshots("desk-request-en").await.unwrap();
    let link = scan_desk(&mut desk, "desk-qr-en").await;
    let id = request_page.rsplit('/').next().unwrap().to_owned();
    assert_eq!(link, format!("{}/r/{id}", t.verifier()));
    phone.goto(&link).await.unwrap();
    phone.wait_for_text("h1", "").await.unwrap();
    assert!(
        phone
            .execute(
                "return document.getElementById('web-wallet') === null;",
                vec![]
            )
            .await
            .unwrap()
            == json!(true),
        "no wallet remembered yet"
    );
    phone.screenshots("answer-first-visit-en").await.unwrap();
    // The wallet's address, typed once.
    phone.fill("#wallet", &wallet).await.unwrap();
    phone.click("#remember-wallet").await.unwrap();
    phone
        .wait_until(
            "return document.getElementById('web-wallet') !== null;",
            "the web wallet's button",
        )
        .await
        .unwrap();
    phone
        .screenshots("answer-wallet-remembered-en")
        .await
        .unwrap();
    // Tap 1: to the wallet, which asks Ana to sign in and then shows the request.
    phone.click("#web-wallet").await.unwrap();
    phone.wait_for_text("h1", "Sign in").await.unwrap();
    phone.screenshots("wallet-sign-in-en").await.unwrap();
    phone.fill("#email", "ana@example.org").await.unwrap();
    phone.fill("#password", PASSWORD).await.unwrap();
    phone.click("#sign-in").await.unwrap();
    phone
        .wait_for_text("h1", "Share your badge?")
        .await
        .unwrap();
    phone.screenshots("wallet-consent-en").await.unwrap();
    // Tap 2: share.
    phone.click("#share").await.unwrap();
    phone
        .wait_for_text(
            "#accepted",
            "The verifier checked your badge and accepted it.",
        )
        .await
        .unwrap();
    phone.screenshots("wallet-shared-en").await.unwrap();
    // The desk shows the verdict by itself, the holder's name first.
    let verdict = desk.wait_for_text("#verdict", "Verified").await.unwrap();
    assert!(verdict.contains("Ana Tanaka"), "{verdict}");
    desk.screenshots("desk-verified-en").await.unwrap();

    // 2. Japanese, the wallet remembered and Ana signed in: one tap to the wallet, one to
    // share.
    desk.goto(&format!("{}/lang/ja?next=%2Fdesk", t.verifier()))
        .await
        .unwrap();
    phone.goto(&format!("{wallet}/lang/ja")).await.unwrap();
    phone
        .goto(&format!("{}/lang/ja?next=%2Fcheck", t.verifier()))
        .await
        .unwrap();
    new_desk_request(&desk, &t).await;
    let link = scan_desk(&mut desk, "desk-qr-ja").await;
    phone.goto(&link).await.unwrap();
    phone
        .wait_until(
            "return document.getElementById('web-wallet') !== null;",
            "the remembered web wallet's button",
        )
        .await
        .unwrap();
    phone.screenshots("answer-ja").await.unwrap();
    phone.click("#web-wallet").await.unwrap();
    phone
        .wait_for_text("h1", "バッジを提示しますか")
        .await
        .unwrap();
    phone.screenshots("wallet-consent-ja").await.unwrap();
    phone.click("#share").await.unwrap();
    phone
        .wait_for_text("#accepted", "検証者がバッジを確認し、受け付けました。")
        .await
        .unwrap();
    phone.screenshots("wallet-shared-ja").await.unwrap();
    let verdict = desk.wait_for_text("#verdict", "確認済み").await.unwrap();
    assert!(verdict.contains("Ana Tanaka"), "{verdict}");
    desk.screenshots("desk-verified-ja").await.unwrap();

    phone.quit().await;
    desk.quit().await;
    t.stack.stop().await;
}
