//! Bound offers (offer injection, OpenID4VCI issue #806): the offer of a registration is
//! redeemed only by the wallet account its invitation registered. The wallet's callback
//! proves the account's holder key; the credential endpoint refuses proofs of any other
//! key. The attacks: an attacker's own offer pasted into the victim's wallet, the victim's
//! offer redeemed by the attacker's wallet (through the wallet and as a bare client), a
//! used code replayed, a forged or moved holder binding; and the right wallet still
//! receives, as do unbound offers made one by one.

use akashi_tests::browser::Browser;
use protocol::keys::Signer;
use serde_json::{Value, json};

use crate::common::{ADMIN, TestStack, credential_request, holder_key};
use crate::wallet_accounts::{PASSWORD, WebClient};
use crate::wallet_present::web_account;

async fn achievement(t: &TestStack) -> String {
    let (status, a) = t
        .admin_post(
            "/admin/achievements",
            json!({
                "name": "Digital Supporter",
                "description": "Helps citizens use public digital services.",
                "criteria": "Completed the 6-hour course.",
            }),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    a["id"].as_str().unwrap().to_owned()
}

/// Registers `email` for `achievement`; returns the registration id.
async fn register(t: &TestStack, achievement: &str, name: &str, email: &str) -> String {
    let (status, r) = t
        .admin_post(
            &format!("/admin/achievements/{achievement}/registrations"),
            json!({"name": name, "email": email}),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    r["id"].as_str().unwrap().to_owned()
}

/// The invitation the issuer emails for registration `id`.
async fn invitation(t: &TestStack, id: &str) -> String {
    let app = &t.stack.issuer.app;
    let row = app.store.registration(id).await.unwrap().unwrap();
    let achievement = app
        .store
        .achievement(&row.achievement_id)
        .await
        .unwrap()
        .unwrap();
    app.invitation(&row, &achievement)
        .sign(&app.es256, &app.kid)
}

async fn wallet(t: &TestStack, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = t
        .http
        .post(format!("{}{path}", t.stack.wallet.url))
        .json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn held(t: &TestStack, token: &str) -> usize {
    let r = t
        .http
        .get(format!("{}/api/credentials", t.stack.wallet.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    body["credentials"].as_array().unwrap().len()
}

/// The registration's latest offer, as the admin API shows it.
async fn offer_of(t: &TestStack, registration: &str) -> Value {
    let r = t
        .http
        .get(format!("{}/admin/registrations/{registration}", t.issuer()))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let view: Value = r.json().await.unwrap();
    view["offers"][0].clone()
}

/// `credential_offer_uri` of an `openid-credential-offer://` link.
fn offer_uri(link: &str) -> String {
    crate::common::link_param(link, "credential_offer_uri").expect("credential_offer_uri")
}

/// A victim and an attacker, each registered through an invitation in the wallet; returns
/// (victim's API token, victim's offer link, attacker's API token, attacker's offer link,
/// victim's registration id).
pub(crate) async fn two_registered_wallets(
    t: &TestStack,
) -> (String, String, String, String, String) {
    let ach = achievement(t).await;
    let victim_reg = register(t, &ach, "Ana Lee", "ana@example.org").await;
    let attacker_reg = register(t, &ach, "Mallory", "mallory@example.org").await;
    let mut tokens = Vec::new();
    for reg in [&victim_reg, &attacker_reg] {
        let inv = invitation(t, reg).await;
        let (status, registered) =
            wallet(t, "/api/register", None, json!({"invitation": inv})).await;
        assert_eq!(status, 200, "{registered}");
        assert_eq!(registered["offered"], 1, "{registered}");
        tokens.push(registered["api_token"].as_str().unwrap().to_owned());
    }
    let victim_link = offer_of(t, &victim_reg).await["offer_link"]
        .as_str()
        .unwrap()
        .to_owned();
    let attacker_link = offer_of(t, &attacker_reg).await["offer_link"]
        .as_str()
        .unwrap()
        .to_owned();
    (
        tokens[0].clone(),
        victim_link,
        tokens[1].clone(),
        attacker_link,
        victim_reg,
    )
}

#[tokio::test]
async fn an_offer_lands_only_in_the_wallet_its_invitation_registered() {
    let t = TestStack::start().await;
    let (victim, victim_link, attacker, attacker_link, victim_reg) =
        two_registered_wallets(&t).await;
    // The callback recorded the holder key each wallet proved.
    let history = t
        .http
        .get(format!("{}/admin/registrations/{victim_reg}", t.issuer()))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let registered = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "wallet_registered")
        .expect("wallet_registered in the history")
        .clone();
    assert!(
        registered["detail"]["holder_jkt"].as_str().is_some(),
        "{registered}"
    );

    // (1) The attacker's own valid offer pasted into the victim's wallet: refused by the
    // issuer, naming the check; nothing lands in the victim's wallet.
    let (status, refused) = wallet(
        &t,
        "/api/accept",
        Some(&victim),
        json!({"offer": attacker_link}),
    )
    .await;
    assert_ne!(status, 200, "{refused}");
    let why = refused["error_description"].as_str().unwrap_or_default();
    assert!(
        why.contains("invalid_proof") && why.contains("holder binding"),
        "{refused}"
    );
    assert_eq!(held(&t, &victim).await, 0, "nothing landed silently");

    // (2) The victim's offer redeemed by the attacker's wallet: refused the same way.
    let (status, refused) = wallet(
        &t,
        "/api/accept",
        Some(&attacker),
        json!({"offer": victim_link}),
    )
    .await;
    assert_ne!(status, 200, "{refused}");
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("holder binding"),
        "{refused}"
    );
    assert_eq!(held(&t, &attacker).await, 0);

    // … and by a bare client with its own key: the token is granted (the pre-authorized
    // code is a bearer secret), the credential endpoint refuses with invalid_proof and
    // both thumbprints, and the code is given back for its recipient.
    let offer = json!({ "credential_offer_uri": offer_uri(&victim_link) });
    let code = t.pre_authorized_code(&offer).await;
    let (status, token) = t.token(&code, None).await;
    assert_eq!(status, 200, "{token}");
    let stranger = holder_key();
    let proof = protocol::oid4vci::build_proof_jwt(
        &stranger,
        t.issuer(),
        Some(&t.nonce().await),
        t.stack.clock.now(),
    );
    let (status, refused) = t
        .credential(
            token["access_token"].as_str().unwrap(),
            credential_request(vec![proof]),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_proof", "{refused}");
    let why = refused["error_description"].as_str().unwrap();
    assert!(
        why.contains("holder binding") && why.contains(&stranger.public_jwk().thumbprint()),
        "{refused}"
    );
    // The refused token is dead.
    let proof = protocol::oid4vci::build_proof_jwt(
        &stranger,
        t.issuer(),
        Some(&t.nonce().await),
        t.stack.clock.now(),
    );
    let (status, dead) = t
        .credential(
            token["access_token"].as_str().unwrap(),
            credential_request(vec![proof]),
        )
        .await;
    assert_eq!(status, 401, "{dead}");

    // (4) The right wallets still receive their own badges.
    let (status, accepted) = wallet(
        &t,
        "/api/accept",
        Some(&victim),
        json!({"offer": victim_link}),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(held(&t, &victim).await, 1);
    let (status, accepted) = wallet(
        &t,
        "/api/accept",
        Some(&attacker),
        json!({"offer": attacker_link}),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(held(&t, &attacker).await, 1);

    // (3) The used code replayed: invalid_grant, and the offer document is gone.
    let (status, replay) = t.token(&code, None).await;
    assert_eq!(status, 400, "{replay}");
    assert_eq!(replay["error"], "invalid_grant");
    assert!(
        replay["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{replay}"
    );
    let (status, _) = t.get_json(&offer_uri(&victim_link)).await;
    assert_eq!(status, 404);
    t.stack.stop().await;
}

#[tokio::test]
async fn holder_bindings_are_checked_and_cannot_be_moved() {
    let t = TestStack::start().await;
    let ach = achievement(&t).await;
    let reg = register(&t, &ach, "Ana Lee", "ana@example.org").await;
    let inv = invitation(&t, &reg).await;
    let callback = format!("{}/invitations/callback", t.issuer());
    let post = |body: Value| {
        let http = t.http.clone();
        let url = callback.clone();
        let inv = inv.clone();
        async move {
            let r = http
                .post(url)
                .bearer_auth(inv)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let now = t.stack.clock.now();
    let key = holder_key();
    let binding = |aud: &str, sub: &str, iat: i64| {
        protocol::invitation::HolderBinding {
            aud: aud.to_owned(),
            sub: sub.to_owned(),
            iat,
        }
        .sign(&key)
    };
    // Each failed check is named; nothing is advanced.
    for (body, named) in [
        (
            json!({"holder_binding": binding("https://other.example", &reg, now)}),
            "`aud`",
        ),
        (
            json!({"holder_binding": binding(t.issuer(), "another-registration", now)}),
            "`sub`",
        ),
        (
            json!({"holder_binding": binding(t.issuer(), &reg, now - 3600)}),
            "`iat`",
        ),
        (json!({"holder_binding": "not.a.jwt"}), "holder_binding"),
        (
            json!({"holder_binding": "x".repeat(100_000)}),
            "holder_binding",
        ),
        (json!({"holder_binding": 7}), "body"),
    ] {
        let (status, refused) = post(body).await;
        assert_eq!(status, 400, "{refused}");
        assert_eq!(refused["error"], "invalid_request", "{refused}");
        assert!(
            refused["error_description"]
                .as_str()
                .unwrap()
                .contains(named),
            "{named}: {refused}"
        );
    }
    assert!(offer_of(&t, &reg).await.is_null(), "nothing was offered");

    // A good binding binds the address; a later callback cannot move it to another key.
    let (status, ok) = post(json!({"holder_binding": binding(t.issuer(), &reg, now)})).await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(ok["offered"].as_array().unwrap().len(), 1, "{ok}");
    let other = holder_key();
    let moved = protocol::invitation::HolderBinding {
        aud: t.issuer().to_owned(),
        sub: reg.clone(),
        iat: now,
    }
    .sign(&other);
    let (status, refused) = post(json!({"holder_binding": moved})).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("bound to another wallet's holder key"),
        "{refused}"
    );
    // The same key again is fine (a repeated callback changes nothing).
    let (status, again) = post(json!({"holder_binding": binding(t.issuer(), &reg, now)})).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["offered"].as_array().unwrap().len(), 0, "{again}");

    // The offer is redeemed with the bound key only.
    let link = offer_of(&t, &reg).await["offer_link"]
        .as_str()
        .unwrap()
        .to_owned();
    let offer = json!({ "credential_offer_uri": offer_uri(&link) });
    for (holder, expected) in [(&other, 400), (&key, 200)] {
        let code = t.pre_authorized_code(&offer).await;
        let (status, token) = t.token(&code, None).await;
        assert_eq!(status, 200, "{token}");
        let proof = protocol::oid4vci::build_proof_jwt(
            holder,
            t.issuer(),
            Some(&t.nonce().await),
            t.stack.clock.now(),
        );
        let (status, answer) = t
            .credential(
                token["access_token"].as_str().unwrap(),
                credential_request(vec![proof]),
            )
            .await;
        assert_eq!(status, expected, "{answer}");
    }
    t.stack.stop().await;
}

#[tokio::test]
async fn offers_made_one_by_one_stay_unbound() {
    // POST /admin/offers (no registration, no wallet callback): any wallet's key.
    let t = TestStack::start().await;
    let sd_jwt = t.obtain_credential(&holder_key(), None).await;
    assert!(sd_jwt.contains('~'));
    // An address registered without a binding (an older wallet's callback) is unbound too.
    let ach = achievement(&t).await;
    let reg = register(&t, &ach, "Ken", "ken@example.org").await;
    let inv = invitation(&t, &reg).await;
    let r = t
        .http
        .post(format!("{}/invitations/callback", t.issuer()))
        .bearer_auth(inv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let link = offer_of(&t, &reg).await["offer_link"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = t
        .pre_authorized_code(&json!({ "credential_offer_uri": offer_uri(&link) }))
        .await;
    let (status, token) = t.token(&code, None).await;
    assert_eq!(status, 200, "{token}");
    let proof = protocol::oid4vci::build_proof_jwt(
        &holder_key(),
        t.issuer(),
        Some(&t.nonce().await),
        t.stack.clock.now(),
    );
    let (status, answer) = t
        .credential(
            token["access_token"].as_str().unwrap(),
            credential_request(vec![proof]),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    t.stack.stop().await;
}

/// A browser that registered through `registration`'s invitation on the wallet's page.
async fn registered_in_browser(t: &TestStack, registration: &str) -> WebClient {
    let inv = invitation(t, registration).await;
    let mut c = WebClient::new(&t.stack.wallet.url);
    let page = c.get(&format!("/register?invitation={inv}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let a = c
        .post(
            "/register",
            &[
                ("invitation", &inv),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    c
}

/// The receive page's path for an offer link.
fn receive_path(link: &str) -> String {
    format!("/receive?{}", link.split_once('?').unwrap().1)
}

#[tokio::test]
async fn the_receive_page_says_whether_the_offer_comes_from_an_issuer_the_holder_registered_with() {
    let t = TestStack::start().await;
    let ach = achievement(&t).await;
    let ana_reg = register(&t, &ach, "Ana Lee", "ana@example.org").await;
    let mallory_reg = register(&t, &ach, "Mallory", "mallory@example.org").await;
    let mut ana = registered_in_browser(&t, &ana_reg).await;
    let _mallory = registered_in_browser(&t, &mallory_reg).await;
    let ana_link = offer_of(&t, &ana_reg).await["offer_link"]
        .as_str()
        .unwrap()
        .to_owned();
    let mallory_link = offer_of(&t, &mallory_reg).await["offer_link"]
        .as_str()
        .unwrap()
        .to_owned();

    // Ana's own offer: from the issuer she registered with, said so; the identifier shown.
    let page = ana.get(&receive_path(&ana_link)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(&format!("<code>{}</code>", t.issuer())),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("You registered with this issuer from this wallet."),
        "{}",
        page.body
    );
    assert!(!page.body.contains("class=\"caution\""));

    // Mallory's offer pasted into Ana's wallet: refused by the issuer when Ana accepts,
    // the reason shown, nothing held.
    let page = ana.get(&receive_path(&mallory_link)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let a = ana.post("/receive", &[("offer", &mallory_link)]).await;
    assert_ne!(a.status, 303, "{}", a.body);
    assert!(a.body.contains("holder binding"), "{}", a.body);
    let home = ana.get("/").await;
    assert!(!home.body.contains("/badges/"), "{}", home.body);

    // Bo made his wallet himself and never registered with this issuer: an offer from it
    // (an unbound one, made one by one) is flagged as unsolicited, in English and Japanese.
    let bo_account = web_account(&t, "bo@example.org").await;
    assert!(!bo_account.id.is_empty());
    let mut bo = WebClient::new(&t.stack.wallet.url);
    bo.get("/sign-in").await;
    let a = bo
        .post(
            "/sign-in",
            &[("email", "bo@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let offer = t.offer(false, None).await;
    let link = offer["offer_link"].as_str().unwrap().to_owned();
    let page = bo.get(&receive_path(&link)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("class=\"caution\""), "{}", page.body);
    assert!(
        page.body
            .contains("You have not registered with this issuer from this wallet."),
        "{}",
        page.body
    );
    bo.get("/lang/ja").await;
    let page = bo.get(&receive_path(&link)).await;
    assert!(
        page.body
            .contains("このウォレットからこの発行者に登録したことはありません。"),
        "{}",
        page.body
    );
    assert!(page.body.contains("発行者のアドレス"), "{}", page.body);
    // Told, he may still receive it: the offer is unbound.
    let a = bo.post("/receive", &[("offer", &link)]).await;
    assert_eq!(a.status, 303, "{}", a.body);
    // A form without its CSRF token is refused.
    let a = bo.post_raw("/receive", &[("offer", &link)]).await;
    assert_eq!(a.status, 403, "{}", a.body);
    t.stack.stop().await;
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn the_unsolicited_offer_notice_in_chromium_at_two_widths_in_two_languages() {
    let t = TestStack::start().await;
    let wallet = t.stack.wallet.url.clone();
    web_account(&t, "bo@example.org").await;
    let offer = t.offer(false, None).await;
    let path = receive_path(offer["offer_link"].as_str().unwrap());
    let mut b = Browser::start("bound_offers").await.unwrap();
    b.goto(&format!("{wallet}/sign-in")).await.unwrap();
    b.fill("#email", "bo@example.org").await.unwrap();
    b.fill("#password", PASSWORD).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("h1", "My badges").await.unwrap();
    for (lang, title, notice) in [
        (
            "ja",
            "バッジを受け取る",
            "このウォレットからこの発行者に登録したことはありません。",
        ),
        (
            "en",
            "Receive a badge",
            "You have not registered with this issuer from this wallet.",
        ),
    ] {
        let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        b.goto(&format!("{wallet}/lang/{lang}?next={next}"))
            .await
            .unwrap();
        b.wait_for_text("h1", title).await.unwrap();
        assert!(b.text("#offer-source").await.unwrap().contains(notice));
        assert_eq!(
            b.attribute("#offer-source", "class")
                .await
                .unwrap()
                .as_deref(),
            Some("caution")
        );
        assert_eq!(b.text("#issuer-id").await.unwrap(), t.issuer());
        b.screenshots(&format!("receive-unsolicited-{lang}"))
            .await
            .unwrap();
    }
    // Told, the holder may still receive it (an unbound offer).
    b.click("#accept").await.unwrap();
    b.wait_until(
        "return document.getElementById('badge-name') !== null;",
        "the badge page",
    )
    .await
    .unwrap();
    b.quit().await;
    t.stack.stop().await;
}
