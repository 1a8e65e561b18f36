//! Journeys 4 and 5 in the wallet's own web pages, in real headless Chromium, against a
//! real SMTP server: the issuer registers a recipient (with a PIN); the browser opens the
//! invitation link from the email, creates the wallet with a password, signs out and in
//! again, opens the badge email's button link, types the PIN from the PIN email and sees
//! the badge on the front page. Also: forms without the CSRF token are refused, a badge
//! name holding HTML is shown as text, and a second account gets 404 on the first one's
//! badge page. A screenshot per step goes under `browser-artifacts/wallet_pages…/`.

use std::time::Duration;

use akashi_tests::browser::Browser;
use serde_json::{Value, json};

use crate::common::TestStack;
use crate::mail::{Mail, SmtpSink};

const WAIT: Duration = Duration::from_secs(60);
const TEST: &str = "wallet_pages_register_sign_in_and_receive_with_a_pin";
const PASSWORD: &str = "correct horse battery";
const BADGE: &str = "Digital <b>Supporter</b> & \"Friends\"";

async fn register_recipient(t: &TestStack, achievement: &str, name: &str, email: &str, pin: bool) {
    let (status, r) = t
        .admin_post(
            &format!("/admin/achievements/{achievement}/registrations"),
            json!({"name": name, "email": email, "tx_code": pin}),
        )
        .await;
    assert_eq!(status, 201, "{r}");
}

fn pin_of(mail: &Mail) -> String {
    mail.text()
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("a 6-digit PIN")
        .to_owned()
}

async fn mails_to(sink: &SmtpSink, address: &str, count: usize) -> Vec<Mail> {
    let what = format!("{count} emails to {address}");
    sink.wait_until(WAIT, &what, |all| {
        all.iter().filter(|m| m.to() == address).count() >= count
    })
    .await;
    sink.to(address).await
}

/// The current value of the input `css`.
async fn value_of(b: &Browser, css: &str) -> Value {
    b.execute(
        &format!("return document.querySelector({css:?}).value;"),
        vec![],
    )
    .await
    .unwrap()
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn wallet_pages_register_sign_in_and_receive_with_a_pin() {
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
                "description": "Helps <i>citizens</i> use public digital services.",
                "criteria": "Completed the 6-hour course.",
            }),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let achievement = a["id"].as_str().unwrap().to_owned();
    register_recipient(&t, &achievement, "Ana Lee", "ana@example.org", true).await;

    // 1. The invitation email links to the wallet's registration page.
    let invitation = mails_to(&sink, "ana@example.org", 1).await.remove(0);
    let register_link = invitation
        .link(&format!("{}/invitations/open?invitation=", t.issuer()))
        .expect("the invitation links to the wallet's registration page");

    let mut b = Browser::start(TEST).await.unwrap();
    b.goto(&register_link).await.unwrap();
    b.wait_for_text("h1", "Create your wallet").await.unwrap();
    assert_eq!(b.text("#achievement").await.unwrap(), BADGE);
    assert_eq!(value_of(&b, "#email").await, json!("ana@example.org"));
    assert_eq!(
        b.attribute("#email", "readonly").await.unwrap().as_deref(),
        Some("true"),
        "the invited address is fixed"
    );
    b.screenshot("register").await.unwrap();

    // A password too short is refused by name (the browser's own check is bypassed).
    b.execute(
        "document.getElementById('password').removeAttribute('minlength');\
         document.getElementById('password2').removeAttribute('minlength');",
        vec![],
    )
    .await
    .unwrap();
    b.fill("#password", "short").await.unwrap();
    b.fill("#password2", "short").await.unwrap();
    b.click("#register").await.unwrap();
    b.wait_for_text("#error", "at least 10 characters")
        .await
        .unwrap();
    b.screenshot("register-short-password").await.unwrap();

    b.fill("#password", PASSWORD).await.unwrap();
    b.fill("#password2", PASSWORD).await.unwrap();
    b.click("#register").await.unwrap();
    b.wait_for_text("h1", "My badges").await.unwrap();
    b.wait_for_text(".who", "ana@example.org").await.unwrap();
    b.screenshot("registered").await.unwrap();

    // 2. Sign out; the front page then asks to sign in.
    b.click("#sign-out").await.unwrap();
    b.wait_for_text("h1", "Sign in").await.unwrap();
    b.goto(&format!("{wallet}/")).await.unwrap();
    b.wait_for_text("h1", "Sign in").await.unwrap();
    b.screenshot("signed-out").await.unwrap();

    // 3. A wrong password is refused, the right one signs in.
    b.fill("#email", "ana@example.org").await.unwrap();
    b.fill("#password", "not the password").await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("#error", "wrong email address or password")
        .await
        .unwrap();
    b.screenshot("wrong-password").await.unwrap();
    b.fill("#email", "ana@example.org").await.unwrap();
    b.fill("#password", PASSWORD).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("h1", "My badges").await.unwrap();
    b.screenshot("signed-in").await.unwrap();

    // 4. The badge email's button opens the wallet's receive page; the PIN is in its own
    // email.
    let mails = mails_to(&sink, "ana@example.org", 3).await;
    let badge_mail = mails
        .iter()
        .find(|m| m.subject().contains("is ready"))
        .expect("badge email");
    let pin = pin_of(
        mails
            .iter()
            .find(|m| m.subject().contains("PIN"))
            .expect("PIN email"),
    );
    let receive_link = badge_mail
        .link(&format!("{wallet}/receive?credential_offer_uri="))
        .expect("the button links to the wallet's receive page");
    b.goto(&receive_link).await.unwrap();
    b.wait_for_text("h1", "Receive a badge").await.unwrap();
    // The issuer's offer names the badge itself (not the credential configuration's
    // "Open Badge"), before it is issued.
    assert_eq!(b.text("#offered").await.unwrap(), BADGE);
    assert_eq!(b.text("#issuer").await.unwrap(), "Akashi Demo Issuer");
    assert_eq!(
        b.attribute("#tx_code", "inputmode")
            .await
            .unwrap()
            .as_deref(),
        Some("numeric")
    );
    assert_eq!(
        b.attribute("#tx_code", "maxlength")
            .await
            .unwrap()
            .as_deref(),
        Some("6")
    );
    b.screenshot("receive").await.unwrap();

    // A wrong PIN first: the page says so, with the attempts left.
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    b.fill("#tx_code", wrong).await.unwrap();
    b.click("#accept").await.unwrap();
    b.wait_for_text("#error", "attempts left").await.unwrap();
    b.screenshot("wrong-pin").await.unwrap();
    b.fill("#tx_code", &pin).await.unwrap();
    b.click("#accept").await.unwrap();
    b.wait_for_text("#badge-name", "Supporter").await.unwrap();
    assert_eq!(b.text("#badge-name").await.unwrap(), BADGE);
    let badge_url = b.url().await.unwrap();
    assert!(
        badge_url.starts_with(&format!("{wallet}/badges/")),
        "{badge_url}"
    );
    b.screenshot("badge").await.unwrap();

    // 5. The front page lists it; the name's markup is text, not elements.
    b.goto(&format!("{wallet}/")).await.unwrap();
    b.wait_for_text("#badges", "Supporter").await.unwrap();
    assert_eq!(b.text(".badge-name").await.unwrap(), BADGE);
    assert_eq!(
        b.execute(
            "return document.querySelectorAll('main b, main i').length;",
            vec![]
        )
        .await
        .unwrap(),
        json!(0),
        "no markup from the badge reaches the page"
    );
    assert!(
        b.source()
            .await
            .contains("Digital &lt;b&gt;Supporter&lt;/b&gt; &amp;"),
        "escaped in the HTML"
    );
    b.screenshot("front-page").await.unwrap();

    // The same page in Japanese, by the switch.
    b.click("nav.lang a[href^='/lang/ja']").await.unwrap();
    b.wait_for_text("h1", "マイバッジ").await.unwrap();
    b.screenshot("front-page-ja").await.unwrap();
    b.click("nav.lang a[href^='/lang/en']").await.unwrap();
    b.wait_for_text("h1", "My badges").await.unwrap();

    // 5b. Private, and public again, from the front page; the business card; the public
    // page opened by someone who is not signed in.
    b.click("button.make-private").await.unwrap();
    b.wait_for_text("form.visibility .private", "Private")
        .await
        .unwrap();
    b.screenshot("made-private").await.unwrap();
    b.click("button.make-public").await.unwrap();
    b.wait_for_text("form.visibility .public", "Public")
        .await
        .unwrap();
    b.screenshot("public-again").await.unwrap();
    let public_url = b
        .attribute("a.public-url", "href")
        .await
        .unwrap()
        .expect("a public badge links its public page");
    let settings = b
        .attribute("a.choose-fields", "href")
        .await
        .unwrap()
        .expect("the disclosure settings link");
    let badge_path = settings
        .strip_suffix("/public")
        .expect("/badges/{id}/public")
        .to_owned();
    b.goto(&format!("{wallet}{badge_path}/card.svg"))
        .await
        .unwrap();
    b.wait_until(
        "return document.documentElement.getAttribute('width') === '91mm'",
        "the card SVG",
    )
    .await
    .unwrap();
    b.screenshot("business-card").await.unwrap();
    let mut visitor = Browser::start(&format!("{TEST}_visitor")).await.unwrap();
    visitor.goto(&public_url).await.unwrap();
    visitor
        .wait_for_text("#badge-name", "Supporter")
        .await
        .unwrap();
    visitor.wait_for_text("#verdict", "Verified").await.unwrap();
    visitor.screenshot("public-page-signed-out").await.unwrap();
    visitor.quit().await;
    b.goto(&format!("{wallet}/")).await.unwrap();
    b.wait_for_text("h1", "My badges").await.unwrap();

    // 6. Forms without the CSRF token are refused.
    for (path, form) in [
        ("/sign-out", vec![]),
        (
            "/sign-in",
            vec![("email", "ana@example.org"), ("password", PASSWORD)],
        ),
    ] {
        let r = t
            .http
            .post(format!("{wallet}{path}"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
        assert!(r.text().await.unwrap().contains("CSRF"));
    }
    // In the browser too: the sign-out form with its token removed.
    b.execute(
        "document.querySelector('form[action=\"/sign-out\"] input[name=csrf]').remove();",
        vec![],
    )
    .await
    .unwrap();
    b.click("#sign-out").await.unwrap();
    b.wait_for_text("#error", "CSRF").await.unwrap();
    b.screenshot("csrf-refused").await.unwrap();
    b.goto(&format!("{wallet}/")).await.unwrap();
    b.wait_for_text("h1", "My badges").await.unwrap();

    // 7. A second account cannot see the first one's badge.
    register_recipient(&t, &achievement, "Bo Chen", "bo@example.org", false).await;
    let bo_invitation = mails_to(&sink, "bo@example.org", 1).await.remove(0);
    let bo_link = bo_invitation
        .link(&format!("{}/invitations/open?invitation=", t.issuer()))
        .expect("Bo's invitation link");
    b.click("#sign-out").await.unwrap();
    b.wait_for_text("h1", "Sign in").await.unwrap();
    b.goto(&bo_link).await.unwrap();
    b.wait_for_text("h1", "Create your wallet").await.unwrap();
    b.fill("#password", "another long password").await.unwrap();
    b.fill("#password2", "another long password").await.unwrap();
    b.click("#register").await.unwrap();
    b.wait_for_text(".who", "bo@example.org").await.unwrap();
    b.goto(&badge_url).await.unwrap();
    b.wait_for_text("h1", "Page not found").await.unwrap();
    b.screenshot("other-account-404").await.unwrap();
    let status: Value = b
        .execute(
            "return performance.getEntriesByType('navigation')[0].responseStatus;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, json!(404));

    b.quit().await;
    t.stack.stop().await;
}

/// Five failed sign-ins lock the account (even for the right password) and, far later
/// (`ADDRESS_MAX_FAILURES`), the client address; the lock ends after 15 minutes. Counted
/// in the wallet's database.
#[tokio::test]
async fn wallet_sign_in_is_locked_after_five_failures_per_account_and_per_address() {
    use holder_agent::AppError;
    use holder_agent::wallet::web::{
        ADDRESS_MAX_FAILURES, LOCK_SECONDS, WebAuthError, hash_password_at,
    };

    let t = TestStack::start().await;
    let app = &t.stack.wallet.app;
    let clock = &t.stack.clock;
    let phc = hash_password_at(app.config.password_cost, PASSWORD)
        .await
        .unwrap();
    for email in ["cy@example.org", "di@example.org"] {
        let account = app.ensure_account(email, clock.now()).await.unwrap();
        app.store
            .set_email_and_password(&account.id, email, &phc, clock.now())
            .await
            .unwrap();
    }
    let locked = |e: &AppError| match e {
        AppError::Web(WebAuthError::AccountLocked { .. }) => "account",
        AppError::Web(WebAuthError::AddressLocked { .. }) => "address",
        AppError::Web(WebAuthError::WrongCredentials) => "wrong",
        _ => "other",
    };

    // The account: four wrong passwords from four addresses, then the right one works (and
    // resets the count); five wrong lock it, and the right password is refused too.
    for i in 0..4 {
        let ip = format!("192.0.2.{i}");
        let e = app
            .sign_in("cy@example.org", "wrong", Some(&ip), clock.now())
            .await
            .unwrap_err();
        assert_eq!(locked(&e), "wrong", "{e}");
    }
    app.sign_in("CY@example.org", PASSWORD, Some("192.0.2.9"), clock.now())
        .await
        .expect("the right password before the fifth failure");
    for i in 0..5 {
        let ip = format!("198.51.100.{i}");
        app.sign_in("cy@example.org", "wrong", Some(&ip), clock.now())
            .await
            .unwrap_err();
    }
    let e = app
        .sign_in("cy@example.org", PASSWORD, Some("203.0.113.1"), clock.now())
        .await
        .unwrap_err();
    assert_eq!(locked(&e), "account", "{e}");
    assert!(e.to_string().contains("15 minutes"), "{e}");
    // Another account is not affected.
    app.sign_in("di@example.org", PASSWORD, Some("203.0.113.1"), clock.now())
        .await
        .expect("another account signs in");

    // The address: five failures on other accounts from one shared address lock nobody
    // else out (issue 13); ADDRESS_MAX_FAILURES of them lock the address, also for an
    // account whose password is right.
    for i in 0..5 {
        app.sign_in(
            &format!("other{i}@example.org"),
            "wrong",
            Some("203.0.113.7"),
            clock.now(),
        )
        .await
        .unwrap_err();
    }
    app.sign_in("di@example.org", PASSWORD, Some("203.0.113.7"), clock.now())
        .await
        .expect("a shared address is not locked by five failures");
    for i in 5..ADDRESS_MAX_FAILURES {
        app.sign_in(
            &format!("nobody{i}@example.org"),
            "wrong",
            Some("203.0.113.7"),
            clock.now(),
        )
        .await
        .unwrap_err();
    }
    let e = app
        .sign_in("di@example.org", PASSWORD, Some("203.0.113.7"), clock.now())
        .await
        .unwrap_err();
    assert_eq!(locked(&e), "address", "{e}");

    // After the lock, both work again.
    clock.advance(LOCK_SECONDS + 1);
    app.sign_in("cy@example.org", PASSWORD, Some("203.0.113.7"), clock.now())
        .await
        .expect("the lock ends");
    t.stack.stop().await;
}
