//! Wallet accounts belong to the owner of the email (issue 13), tried as an attacker would:
//! a hostile issuer of the attacker's own (its `/.well-known/jwt-vc-issuer` key, a callback
//! answering 200) signs a registration invitation for a victim's address, and the wallet
//! must neither open, re-password nor confirm the victim's account through it, nor count
//! the invitation as proof of a new address. Also: the trusted issuer's invitation does not
//! open an existing account either; `next` redirects stay on the wallet; a shared client
//! address does not lock others out of signing in; a CSRF token is good only with its own
//! session; the wallet's files are private.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use protocol::invitation::Invitation;
use protocol::keys::{Alg, Signer, SigningKey};
use serde_json::{Value, json};

use crate::common::TestStack;
use crate::mail::SmtpSink;
use crate::wallet_accounts::{
    PASSWORD, WebClient, api, link_in, nth_mail, registered, stack_with_mail,
};
use crate::wallet_present::web_account;

const ATTACKER_PASSWORD: &str = "the attacker's password";

/// An issuer the attacker runs: its own key published as JWT VC Issuer Metadata, and an
/// invitation callback that answers 200 and counts its calls.
struct HostileIssuer {
    url: String,
    key: SigningKey,
    callbacks: Arc<AtomicUsize>,
}

impl HostileIssuer {
    async fn start() -> HostileIssuer {
        let key = SigningKey::generate(Alg::ES256);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mut jwk = serde_json::to_value(key.public_jwk()).unwrap();
        jwk["kid"] = json!("hostile-1");
        let metadata = json!({"issuer": url, "jwks": {"keys": [jwk]}});
        let callbacks = Arc::new(AtomicUsize::new(0));
        let counter = callbacks.clone();
        let router = axum::Router::new()
            .route(
                "/.well-known/jwt-vc-issuer",
                axum::routing::get(move || {
                    let metadata = metadata.clone();
                    async move { axum::Json(metadata) }
                }),
            )
            .route(
                "/invitations/callback",
                axum::routing::post(move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async { axum::Json(json!({"offered": []})) }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, router).await });
        HostileIssuer {
            url,
            key,
            callbacks,
        }
    }

    /// An invitation for `email` in the real issuer's format, signed with this key.
    fn invitation(&self, t: &TestStack, email: &str) -> String {
        let now = t.stack.clock.now();
        Invitation {
            iss: self.url.clone(),
            sub: "hostile-registration".into(),
            email: email.into(),
            name: "Victim".into(),
            issuer_name: "Akashi Demo Issuer".into(),
            achievement: "Digital Supporter — Level 1".into(),
            locale: "en".into(),
            callback: format!("{}/invitations/callback", self.url),
            iat: now,
            exp: now + 3600,
        }
        .sign(&self.key, "hostile-1")
    }

    fn callbacks(&self) -> usize {
        self.callbacks.load(Ordering::SeqCst)
    }
}

/// `POST /api/register` with `invitation`.
async fn api_register(t: &TestStack, invitation: &str) -> (u16, Value) {
    let r = t
        .http
        .post(format!("{}/api/register", t.stack.wallet.url))
        .json(&json!({"invitation": invitation}))
        .send()
        .await
        .expect("wallet request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The wallet's registration page for `invitation` and its form posted with the
/// attacker's password, from a fresh browser: both must refuse as an existing account,
/// and leave that browser signed out.
async fn invitation_pages_refuse(t: &TestStack, invitation: &str, email: &str) {
    let wallet = &t.stack.wallet.url;
    let mut attacker = WebClient::new(wallet);
    let page = attacker
        .get(&format!("/register?invitation={invitation}"))
        .await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("A wallet already exists for {email}")),
        "{}",
        page.body
    );
    assert!(page.body.contains("href=\"/sign-in\""), "{}", page.body);
    assert!(page.body.contains("href=\"/forgot?email="), "{}", page.body);
    assert!(!page.body.contains("name=\"password\""), "no form");
    // The same in Japanese.
    let mut ja = WebClient::new(wallet);
    ja.cookies.insert("wallet_lang".into(), "ja".into());
    let page = ja.get(&format!("/register?invitation={invitation}")).await;
    assert_eq!(page.status, 409);
    assert!(
        page.body
            .contains(&format!("{email} のウォレットはすでに存在します")),
        "{}",
        page.body
    );
    // The form posted anyway (its CSRF token from the open registration page).
    attacker.get("/register").await;
    let a = attacker
        .post(
            "/register",
            &[
                ("invitation", invitation),
                ("password", ATTACKER_PASSWORD),
                ("password2", ATTACKER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(a.status, 409, "{}", a.body);
    assert!(a.body.contains("A wallet already exists"), "{}", a.body);
    assert!(a.location.is_none());
    assert_eq!(attacker.signed_in_as().await, None, "not signed in");
    // The API.
    let (s, body) = api_register(t, invitation).await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["error"], "account_exists", "{body}");
    let text = body["error_description"].as_str().unwrap();
    assert!(
        text.contains(email) && text.contains("sign in") && text.contains("reset the password"),
        "{body}"
    );
    assert!(body.get("api_token").is_none());
}

/// The attacker's password does not sign in as `email`.
async fn attacker_cannot_sign_in(t: &TestStack, email: &str) {
    let mut c = WebClient::new(&t.stack.wallet.url);
    c.get("/sign-in").await;
    let a = c
        .post(
            "/sign-in",
            &[("email", email), ("password", ATTACKER_PASSWORD)],
        )
        .await;
    assert_eq!(a.status, 401, "{}", a.body);
}

/// An achievement and a registration of `email` at the real issuer: its invitation email
/// is sent; returns the invitation JWT from the link.
async fn real_invitation(t: &TestStack, sink: &SmtpSink, email: &str, n: usize) -> String {
    let (status, a) = t
        .admin_post(
            "/admin/achievements",
            json!({"name": "Digital Supporter", "description": "d", "criteria": "c"}),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let (status, r) = t
        .admin_post(
            &format!(
                "/admin/achievements/{}/registrations",
                a["id"].as_str().unwrap()
            ),
            json!({"name": "Ana Lee", "email": email}),
        )
        .await;
    assert!(status == 201 || status == 200, "{r}");
    let mail = nth_mail(sink, email, n).await;
    let link = mail
        .link(&format!("{}/invitations/open?invitation=", t.issuer()))
        .expect("the invitation links to the wallet");
    link.split_once("invitation=").unwrap().1.to_owned()
}

/// The victim's account was made by `POST /api/register` from the real issuer's
/// invitation and holds a badge; the hostile issuer's invitation for the same address
/// opens nothing, through the page or the API, and the victim's token still works.
#[tokio::test]
async fn wallet_trust_hostile_invitation_does_not_open_an_api_account() {
    let sink = SmtpSink::start().await;
    let t = stack_with_mail(&sink).await;
    let hostile = HostileIssuer::start().await;
    let victim = "victim@example.org";

    let invitation = real_invitation(&t, &sink, victim, 1).await;
    let (s, registered) = api_register(&t, &invitation).await;
    assert_eq!(s, 200, "{registered}");
    assert_eq!(registered["created"], true);
    assert_eq!(registered["trusted_issuer"], true);
    let token = registered["api_token"].as_str().unwrap().to_owned();
    let offer = t.offer(false, Some(365)).await;
    let (s, body) = api(
        &t,
        &token,
        reqwest::Method::POST,
        "/api/accept",
        Some(json!({"offer": offer["offer_link"]})),
    )
    .await;
    assert_eq!(s, 200, "{body}");

    let forged = hostile.invitation(&t, victim);
    invitation_pages_refuse(&t, &forged, victim).await;
    // Upper case in the invitation changes nothing.
    let (s, body) = api_register(&t, &hostile.invitation(&t, "Victim@Example.ORG")).await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(
        hostile.callbacks(),
        0,
        "the hostile callback was never called"
    );

    // The victim's token still lists the badge; the attacker's password opens nothing.
    let (s, list) = api(&t, &token, reqwest::Method::GET, "/api/credentials", None).await;
    assert_eq!(s, 200);
    assert_eq!(list["credentials"].as_array().unwrap().len(), 1, "{list}");
    attacker_cannot_sign_in(&t, victim).await;
    t.stack.stop().await;
}

/// A registration waiting for its confirmation: the hostile invitation neither confirms
/// it nor replaces its password; the victim's own link and password still work.
#[tokio::test]
async fn wallet_trust_hostile_invitation_does_not_take_a_pending_registration() {
    let sink = SmtpSink::start().await;
    let t = stack_with_mail(&sink).await;
    let hostile = HostileIssuer::start().await;
    let wallet = t.stack.wallet.url.clone();
    let victim = "pending@example.org";

    let mut v = WebClient::new(&wallet);
    v.get("/register").await;
    let a = v
        .post(
            "/register",
            &[
                ("email", victim),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let link = link_in(
        &nth_mail(&sink, victim, 1).await,
        &format!("{wallet}/confirm?token="),
    );

    invitation_pages_refuse(&t, &hostile.invitation(&t, victim), victim).await;
    assert_eq!(hostile.callbacks(), 0);
    // Still pending: the right password is told to confirm first, the attacker's is wrong.
    let mut c = WebClient::new(&wallet);
    c.get("/sign-in").await;
    let a = c
        .post("/sign-in", &[("email", victim), ("password", PASSWORD)])
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("is not confirmed yet"), "{}", a.body);
    attacker_cannot_sign_in(&t, victim).await;

    // The victim confirms with the emailed link and signs in with the own password.
    v.get(&link).await;
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let a = v.post("/confirm", &[("token", &token)]).await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(v.signed_in_as().await.as_deref(), Some(victim));
    attacker_cannot_sign_in(&t, victim).await;
    // Confirmed now: still refused.
    invitation_pages_refuse(&t, &hostile.invitation(&t, victim), victim).await;
    t.stack.stop().await;
}

/// An address without an account: the hostile invitation makes an ordinary open
/// registration. The account is pending, a confirmation link is emailed, nobody is signed
/// in and no API token is handed out, and the hostile issuer is not called back.
#[tokio::test]
async fn wallet_trust_hostile_invitation_for_a_new_address_needs_the_confirmation_link() {
    let sink = SmtpSink::start().await;
    let t = stack_with_mail(&sink).await;
    let hostile = HostileIssuer::start().await;
    let wallet = t.stack.wallet.url.clone();
    let email = "fresh@example.org";

    // The page: no "confirmed" mark, and it says a link will be emailed.
    let mut attacker = WebClient::new(&wallet);
    let invitation = hostile.invitation(&t, email);
    let page = attacker
        .get(&format!("/register?invitation={invitation}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("an issuer this wallet does not know"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("✓"), "the address is not confirmed");
    let a = attacker
        .post(
            "/register",
            &[
                ("invitation", &invitation),
                ("password", ATTACKER_PASSWORD),
                ("password2", ATTACKER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.body.contains(&format!("We sent an email to {email}")),
        "{}",
        a.body
    );
    assert!(!a.body.contains("My badges"));
    assert_eq!(attacker.signed_in_as().await, None, "not signed in");
    let a = attacker.get("/").await;
    assert_eq!(a.status, 303, "the badge list needs a session");
    // The confirmation email went to the address; until it is used, the password does not
    // sign in.
    let mail = nth_mail(&sink, email, 1).await;
    assert_eq!(
        mail.subject(),
        "Confirm your email address for your Akashi wallet"
    );
    link_in(&mail, &format!("{wallet}/confirm?token="));
    let mut c = WebClient::new(&wallet);
    c.get("/sign-in").await;
    let a = c
        .post(
            "/sign-in",
            &[("email", email), ("password", ATTACKER_PASSWORD)],
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("is not confirmed yet"), "{}", a.body);

    // The API: 202, no token, a confirmation email.
    let api_email = "fresh-api@example.org";
    let (s, body) = api_register(&t, &hostile.invitation(&t, api_email)).await;
    assert_eq!(s, 202, "{body}");
    assert_eq!(body["created"], false, "{body}");
    assert_eq!(body["confirmation_required"], true, "{body}");
    assert_eq!(body["trusted_issuer"], false, "{body}");
    assert!(body.get("api_token").is_none(), "{body}");
    let mail = nth_mail(&sink, api_email, 1).await;
    link_in(&mail, &format!("{wallet}/confirm?token="));
    // Again for the same address: it has an account now.
    let (s, body) = api_register(&t, &hostile.invitation(&t, api_email)).await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(
        hostile.callbacks(),
        0,
        "the hostile callback was never called"
    );
    t.stack.stop().await;
}

/// The trusted issuer's own invitation does not open an existing account either (open
/// registration, confirmed or pending): it says to sign in or reset the password.
#[tokio::test]
async fn wallet_trust_trusted_invitation_does_not_sign_in_to_an_existing_account() {
    let sink = SmtpSink::start().await;
    let t = stack_with_mail(&sink).await;
    let wallet = t.stack.wallet.url.clone();
    let ana = "ana@example.org";
    let mut owner = registered(&t, &sink, ana, PASSWORD).await;

    let invitation = real_invitation(&t, &sink, ana, 2).await;
    invitation_pages_refuse_trusted(&t, &invitation, ana).await;
    attacker_cannot_sign_in(&t, ana).await;
    assert_eq!(owner.signed_in_as().await.as_deref(), Some(ana));

    // A pending registration likewise.
    let bo = "bo@example.org";
    let mut c = WebClient::new(&wallet);
    c.get("/register").await;
    c.post(
        "/register",
        &[
            ("email", bo),
            ("password", PASSWORD),
            ("password2", PASSWORD),
        ],
    )
    .await;
    nth_mail(&sink, bo, 1).await;
    let invitation = real_invitation(&t, &sink, bo, 2).await;
    invitation_pages_refuse_trusted(&t, &invitation, bo).await;
    let mut c = WebClient::new(&wallet);
    c.get("/sign-in").await;
    let a = c
        .post("/sign-in", &[("email", bo), ("password", PASSWORD)])
        .await;
    assert!(a.body.contains("is not confirmed yet"), "still pending");
    t.stack.stop().await;
}

/// The pages refuse a trusted invitation for an existing account; the API opens nothing
/// either (it calls the issuer back, which emails the address, and hands out no token).
async fn invitation_pages_refuse_trusted(t: &TestStack, invitation: &str, email: &str) {
    let mut attacker = WebClient::new(&t.stack.wallet.url);
    let page = attacker
        .get(&format!("/register?invitation={invitation}"))
        .await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("A wallet already exists for {email}"))
    );
    attacker.get("/register").await;
    let a = attacker
        .post(
            "/register",
            &[
                ("invitation", invitation),
                ("password", ATTACKER_PASSWORD),
                ("password2", ATTACKER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(a.status, 409, "{}", a.body);
    assert_eq!(attacker.signed_in_as().await, None);
    let (s, body) = api_register(t, invitation).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["created"], false, "{body}");
    assert!(body.get("api_token").is_none(), "{body}");
}

/// An expired invitation, or a link that is not an invitation, is said at once on the
/// registration page (before a password is typed), in the reader's language, with what to
/// do next; the check that failed (a Unix time, a JOSE error) is not shown.
#[tokio::test]
async fn wallet_trust_expired_or_damaged_invitations_are_said_at_once() {
    let t = TestStack::start().await;
    let issuer = HostileIssuer::start().await;
    let now = t.stack.clock.now();
    let expired = Invitation {
        iss: issuer.url.clone(),
        sub: "late-registration".into(),
        email: "late@example.org".into(),
        name: "Late".into(),
        issuer_name: "Akashi Demo Issuer".into(),
        achievement: "Digital Supporter".into(),
        locale: "en".into(),
        callback: format!("{}/invitations/callback", issuer.url),
        iat: now - 7200,
        exp: now - 3600,
    }
    .sign(&issuer.key, "hostile-1");
    let mut en = WebClient::new(&t.stack.wallet.url);
    let page = en.get(&format!("/register?invitation={expired}")).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(
        page.body.contains("This invitation has expired."),
        "{}",
        page.body
    );
    assert!(!page.body.contains("name=\"password\""), "no form");
    assert!(
        !page.body.contains(&(now - 3600).to_string()),
        "no Unix time"
    );
    assert!(page.body.contains("href=\"/sign-in\""), "{}", page.body);
    let mut ja = WebClient::new(&t.stack.wallet.url);
    ja.cookies.insert("wallet_lang".into(), "ja".into());
    let page = ja.get(&format!("/register?invitation={expired}")).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("この招待は有効期限が切れています。"));
    akashi_tests::lang::assert_no_english("expired invitation", &page.body, &[]);
    // Cut short, or forged with another key: damaged, said the same way.
    let cut = &expired[..expired.len() / 2];
    let forged = {
        let other = SigningKey::generate(Alg::ES256);
        let mut parts: Vec<&str> = expired.split('.').collect();
        let sig = other.sign(b"x");
        let sig = protocol::b64::encode(sig);
        parts[2] = &sig;
        parts.join(".")
    };
    for bad in [cut.to_owned(), forged, "not-an-invitation".to_owned()] {
        let page = en.get(&format!("/register?invitation={bad}")).await;
        assert_eq!(page.status, 400, "{}", page.body);
        assert!(
            page.body
                .contains("This invitation link is incomplete or damaged."),
            "{}",
            page.body
        );
        assert!(!page.body.contains("name=\"password\""), "no form");
    }
    assert_eq!(issuer.callbacks(), 0);

    // A form's failed check written in English (here the two passwords differ) on a
    // Japanese page: a plain Japanese sentence, the check folded under 技術的な詳細.
    ja.get("/register").await;
    let a = ja
        .post(
            "/register",
            &[
                ("email", "mismatch@example.org"),
                ("password", "correct horse battery"),
                ("password2", "correct horse battery!"),
            ],
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body
            .contains("入力内容を確認して、もう一度お試しください。"),
        "{}",
        a.body
    );
    assert!(
        a.body.contains("<summary>技術的な詳細</summary>"),
        "{}",
        a.body
    );
    akashi_tests::lang::assert_no_english("a form error in Japanese", &a.body, &[]);
    t.stack.stop().await;
}

/// `next` (of `/lang/*`, `/sign-in` and the redirect after signing in) is a path on the
/// wallet; every trick to leave it lands on the front page.
#[tokio::test]
async fn wallet_trust_next_redirects_stay_on_the_wallet() {
    let t = TestStack::start().await;
    web_account(&t, "nina@example.org").await;
    let mut c = WebClient::new(&t.stack.wallet.url);
    // As a browser sends them in the query (percent-encoded once).
    let hostile = [
        "/%09/evil.example",
        "//evil.example",
        "/%5Cevil.example",
        "/%5C/evil.example",
        "https://evil.example",
        "/%252F/evil.example",
        "/%252F%252Fevil.example",
        "%252F%252Fevil.example",
        "%20/x",
        "/x%0D%0ASet-Cookie:%20wallet_session=x",
        "/%0A/evil.example",
    ];
    for next in hostile {
        for lang in ["en", "ja"] {
            let a = c.get(&format!("/lang/{lang}?next={next}")).await;
            assert_eq!(a.status, 303, "{next}");
            assert_eq!(a.location.as_deref(), Some("/"), "/lang/{lang}?next={next}");
        }
        let a = c.get(&format!("/sign-in?next={next}")).await;
        assert_eq!(a.status, 200, "{next}");
        assert!(
            a.body.contains("name=\"next\" value=\"/\""),
            "/sign-in?next={next}: {}",
            a.body
        );
    }
    // A path of the wallet is kept.
    let a = c.get("/lang/ja?next=%2Freceive%3Fx%3D1").await;
    assert_eq!(a.location.as_deref(), Some("/receive?x=1"));

    // The redirect after signing in.
    for (next, expected) in [
        ("/\t/evil.example", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/%2F/evil.example", "/"),
        ("/badges/x", "/badges/x"),
    ] {
        let mut c = WebClient::new(&t.stack.wallet.url);
        c.get("/sign-in").await;
        let a = c
            .post(
                "/sign-in",
                &[
                    ("email", "nina@example.org"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(a.status, 303, "{next:?}: {}", a.body);
        assert_eq!(a.location.as_deref(), Some(expected), "{next:?}");
    }
    t.stack.stop().await;
}

/// Many people behind one address (a training room, a proxy): their failed sign-ins for
/// their own accounts do not lock another person out. The lock is per account, and per
/// (address, account); an address alone is locked only far later.
#[tokio::test]
async fn wallet_trust_a_shared_address_does_not_lock_others_out() {
    use holder_agent::AppError;
    use holder_agent::wallet::web::WebAuthError;

    let t = TestStack::start().await;
    let app = &t.stack.wallet.app;
    let clock = &t.stack.clock;
    for email in ["cy@example.org", "di@example.org"] {
        web_account(&t, email).await;
    }
    let shared = Some("203.0.113.7");
    for i in 0..10 {
        let e = app
            .sign_in(
                &format!("person{i}@example.org"),
                "wrong",
                shared,
                clock.now(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(e, AppError::Web(WebAuthError::WrongCredentials)),
            "{e}"
        );
    }
    app.sign_in("di@example.org", PASSWORD, shared, clock.now())
        .await
        .expect("ten failures of others from the same address do not lock di out");

    // (address, account): four failures from A; a success from B resets the account's
    // count but not A's; a fifth failure from A locks A out of that account only.
    let (a, b) = (Some("198.51.100.1"), Some("198.51.100.2"));
    for _ in 0..4 {
        app.sign_in("cy@example.org", "wrong", a, clock.now())
            .await
            .unwrap_err();
    }
    app.sign_in("cy@example.org", PASSWORD, b, clock.now())
        .await
        .expect("from B");
    app.sign_in("cy@example.org", "wrong", a, clock.now())
        .await
        .unwrap_err();
    let e = app
        .sign_in("cy@example.org", PASSWORD, a, clock.now())
        .await
        .unwrap_err();
    assert!(
        matches!(e, AppError::Web(WebAuthError::AccountLocked { .. })),
        "{e}"
    );
    app.sign_in("cy@example.org", PASSWORD, b, clock.now())
        .await
        .expect("B is not locked out");
    app.sign_in("di@example.org", PASSWORD, a, clock.now())
        .await
        .expect("A is not locked out of other accounts");
    t.stack.stop().await;
}

/// A CSRF token is good only with the session it was made for: a victim's session cookie
/// with the attacker's own CSRF cookie and token (planted, say, from a sibling domain) is
/// refused; the victim's own pair works.
#[tokio::test]
async fn wallet_trust_csrf_token_is_bound_to_the_session() {
    let t = TestStack::start().await;
    let wallet = t.stack.wallet.url.clone();
    web_account(&t, "vic@example.org").await;
    web_account(&t, "mal@example.org").await;
    let mut victim = WebClient::new(&wallet);
    victim.get("/sign-in").await;
    let a = victim
        .post(
            "/sign-in",
            &[("email", "vic@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(a.status, 303);
    assert_eq!(
        victim.signed_in_as().await.as_deref(),
        Some("vic@example.org")
    );

    // The attacker's pair: signed out, and signed in as the attacker.
    let mut attacker = WebClient::new(&wallet);
    attacker.get("/sign-in").await;
    let signed_out_pair = (attacker.cookies["wallet_csrf"].clone(), attacker.csrf());
    attacker
        .post(
            "/sign-in",
            &[("email", "mal@example.org"), ("password", PASSWORD)],
        )
        .await;
    attacker.get("/").await;
    let signed_in_pair = (attacker.cookies["wallet_csrf"].clone(), attacker.csrf());

    for (cookie, token) in [signed_out_pair, signed_in_pair] {
        let mut forged = WebClient::new(&wallet);
        forged.cookies.insert(
            "wallet_session".into(),
            victim.cookies["wallet_session"].clone(),
        );
        forged.cookies.insert("wallet_csrf".into(), cookie);
        let a = forged.post_raw("/sign-out", &[("csrf", &token)]).await;
        assert_eq!(a.status, 403, "{}", a.body);
        assert!(a.body.contains("CSRF token"), "{}", a.body);
        assert_eq!(
            victim.signed_in_as().await.as_deref(),
            Some("vic@example.org"),
            "the victim's session is still there"
        );
    }
    // The victim's own pair signs out.
    let a = victim.post("/sign-out", &[]).await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(victim.signed_in_as().await, None);
    t.stack.stop().await;
}
