//! The issuer's upstream OpenID Connect provider (issue 17, `ISSUER_OIDC_ISSUER`): a person
//! whose wallet starts the authorization code flow without the badge email's link (no
//! `issuer_state`) signs in at the provider and receives the badge waiting for the address
//! it verified.
//!
//! The judge is an independent provider, npm `oidc-provider` 9 (`interop/oidc_idp.mjs`,
//! its development login and consent forms driven here over HTTP by a browser with a cookie
//! jar); the Akashi wallet is the client (PAR, PKCE S256, DPoP). The forgeries a real
//! provider would never sign (another key, another audience, another nonce, an expired
//! token, a discovery document naming another issuer) come from a fake provider in this
//! file. Each refusal is checked for the check it names.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};

use protocol::keys::{Alg, Signer, SigningKey};
use serde_json::{Value, json};

use crate::common::{TestStack, link_param};

const CLIENT_ID: &str = "akashi-issuer";
const CLIENT_SECRET: &str = "issuer-secret-at-the-idp";

/// The independent provider, running until dropped (its stdin closed, then killed).
struct NpmIdp {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
    url: String,
}

impl NpmIdp {
    /// Starts `interop/oidc_idp.mjs`; it listens and says its URL, and waits for its client.
    fn start() -> NpmIdp {
        let dir = crate::interop::harness::interop_dir();
        let installed = dir.join("node_modules/oidc-provider");
        assert!(
            installed.is_dir(),
            "{} is missing: run `npm ci` in interop/ (interop/README.md)",
            installed.display()
        );
        let mut child = Command::new("node")
            .arg("oidc_idp.mjs")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("the provider prints its URL");
        let first: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the npm provider did not start ({e}): {line:?}"));
        NpmIdp {
            child,
            stdin: Some(stdin),
            stdout,
            url: first["url"].as_str().expect("url").to_owned(),
        }
    }

    /// Registers the issuer as its client (the callback of `issuer`) with the ID token
    /// algorithm `alg`, and these accounts.
    fn configure(&mut self, issuer: &str, alg: &str) {
        let config = json!({
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": format!("{issuer}/authorize/callback"),
            "alg": alg,
            "accounts": {
                "ana": {"email": "Ana@Example.org", "email_verified": true},
                "unverified": {"email": "ana@example.org", "email_verified": false},
                "stranger": {"email": "stranger@example.org", "email_verified": true},
            },
        });
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{config}").expect("write the provider's configuration");
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("the provider says it is ready");
        assert!(line.contains("ready"), "{line:?}");
    }
}

impl Drop for NpmIdp {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A stack whose issuer signs people in at `provider`.
async fn stack_with_provider(provider: &str, allow_loopback: bool) -> TestStack {
    let provider = provider.to_owned();
    TestStack::start_with(move |c| {
        c.issuer.oidc_issuer = Some(provider);
        c.issuer.oidc_client_id = Some(CLIENT_ID.into());
        c.issuer.oidc_client_secret = Some(issuer_agent::config::Secret::new(CLIENT_SECRET));
        c.issuer.oidc_allow_loopback = allow_loopback;
    })
    .await
}

/// A browser: follows nothing by itself, keeps cookies by name (both servers are on
/// 127.0.0.1, and a browser's cookies do not depend on the port).
struct Browser {
    http: reqwest::Client,
    jar: Mutex<BTreeMap<String, String>>,
}

/// An answer as a browser sees it.
struct Seen {
    status: u16,
    location: Option<String>,
    set_cookie: Vec<String>,
    body: String,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .expect("client"),
            jar: Mutex::new(BTreeMap::new()),
        }
    }

    async fn send(&self, url: &str, request: reqwest::RequestBuilder) -> Seen {
        let cookies: Vec<String> = self
            .jar
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let request = if cookies.is_empty() {
            request
        } else {
            request.header("cookie", cookies.join("; "))
        };
        let r = request.send().await.expect("request");
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(|l| url::Url::parse(url).unwrap().join(l).unwrap().to_string());
        let set_cookie: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect();
        {
            let mut jar = self.jar.lock().unwrap();
            for c in &set_cookie {
                let pair = c.split(';').next().unwrap_or_default();
                if let Some((k, v)) = pair.split_once('=') {
                    if v.is_empty() || c.contains("Max-Age=0") {
                        jar.remove(k.trim());
                    } else {
                        jar.insert(k.trim().to_owned(), v.to_owned());
                    }
                }
            }
        }
        let body = r.text().await.unwrap_or_default();
        Seen {
            status,
            location,
            set_cookie,
            body,
        }
    }

    async fn get(&self, url: &str) -> Seen {
        self.send(url, self.http.get(url)).await
    }

    async fn post(&self, url: &str, form: &[(&str, &str)]) -> Seen {
        self.send(url, self.http.post(url).form(form)).await
    }
}

/// At the npm provider from `at` (its authorization endpoint): follows its redirects,
/// signing in as `login` and consenting on its forms (or, with `abort`, cancelling at the
/// login form). Returns the URL it sends the browser back to (not followed).
async fn sign_in(b: &Browser, at: &str, login: &str, abort: bool) -> String {
    let mut url = at.to_owned();
    for _ in 0..12 {
        let seen = b.get(&url).await;
        if seen.status == 200 {
            // One of its interaction forms, posted back to the same URL.
            if seen.body.contains(r#"name="prompt" value="login""#) {
                if abort {
                    url = format!("{url}/abort");
                    continue;
                }
                let posted = b
                    .post(
                        &url,
                        &[("prompt", "login"), ("login", login), ("password", "any")],
                    )
                    .await;
                assert_eq!(posted.status, 303, "{}", posted.body);
                url = posted.location.expect("Location");
            } else if seen.body.contains(r#"name="prompt" value="consent""#) {
                let posted = b.post(&url, &[("prompt", "consent")]).await;
                assert_eq!(posted.status, 303, "{}", posted.body);
                url = posted.location.expect("Location");
            } else {
                panic!("an unexpected page at {url}: {}", seen.body);
            }
            continue;
        }
        assert!(
            matches!(seen.status, 302 | 303),
            "{url}: {} {}",
            seen.status,
            seen.body
        );
        let next = seen.location.expect("Location");
        if next.contains("/authorize/callback") {
            return next;
        }
        url = next;
    }
    panic!("the provider never sent the browser back");
}

/// A by-value credential offer with an authorization code grant and no `issuer_state`: the
/// issuer's generic "receive your badge" link, which does not say who the person is.
fn generic_offer(issuer: &str) -> String {
    let offer = json!({
        "credential_issuer": issuer,
        "credential_configuration_ids": ["OpenBadgeCredential_sd_jwt"],
        "grants": {"authorization_code": {}},
    });
    format!(
        "openid-credential-offer://?credential_offer={}",
        url::form_urlencoded::byte_serialize(offer.to_string().as_bytes()).collect::<String>()
    )
}

/// The wallet starts the flow without `issuer_state`; the browser opens the authorization
/// URL and is sent to the provider with the sign-in cookie. Returns the provider URL.
async fn start_at_issuer(
    t: &TestStack,
    b: &Browser,
    now: i64,
) -> (
    String,
    holder_agent::wallet::authorization_code::PendingAuthorization,
) {
    let (url, pending) = t
        .stack
        .wallet
        .app
        .begin_authorization(&generic_offer(t.issuer()), now)
        .await
        .expect("the wallet starts the flow");
    let seen = b.get(&url).await;
    assert_eq!(seen.status, 303, "{}", seen.body);
    let cookie = seen
        .set_cookie
        .iter()
        .find(|c| c.starts_with("akashi_oidc_login="))
        .expect("the sign-in cookie");
    for attribute in [
        "Path=/authorize/callback",
        "Max-Age=600",
        "HttpOnly",
        "SameSite=Lax",
    ] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    (seen.location.expect("Location"), pending)
}

/// The page's `<code>` check and its description.
fn assert_page(seen: &Seen, status: u16, check: &str, says: &str) {
    assert_eq!(seen.status, status, "{}", seen.body);
    assert!(
        seen.body.contains(&format!("<code>{check}</code>")),
        "{check}: {}",
        seen.body
    );
    let says = says.replace('"', "&#34;").replace('\'', "&#39;");
    assert!(seen.body.contains(&says), "{says}: {}", seen.body);
}

#[tokio::test]
#[ignore = "heavy: run by ./test (npm interop packages)"]
async fn the_wallet_receives_a_badge_after_signing_in_at_an_independent_provider() {
    let mut idp = NpmIdp::start();
    let t = stack_with_provider(&idp.url, true).await;
    idp.configure(t.issuer(), "RS256");
    let now = t.stack.clock.now();
    let wallet = &t.stack.wallet.app;
    let account = wallet.ensure_account("default", now).await.unwrap();
    let offer = t.offer(false, Some(365)).await;

    let b = Browser::new();
    let (at_idp, pending) = start_at_issuer(&t, &b, now).await;
    // The request to the provider: code flow, our client, our callback, nonce, PKCE S256.
    assert!(
        at_idp.starts_with(&format!("{}/auth?", idp.url)),
        "{at_idp}"
    );
    for (name, value) in [
        ("response_type", "code".to_owned()),
        ("client_id", CLIENT_ID.to_owned()),
        ("redirect_uri", format!("{}/authorize/callback", t.issuer())),
        ("scope", "openid email".to_owned()),
        ("code_challenge_method", "S256".to_owned()),
    ] {
        assert_eq!(link_param(&at_idp, name).as_deref(), Some(value.as_str()));
    }
    for name in ["state", "nonce", "code_challenge"] {
        assert!(link_param(&at_idp, name).is_some(), "{name}: {at_idp}");
    }
    // The sign-in is stored with its secrets hashed (the PKCE verifier sealed).
    let rows: Vec<(String, String, String)> = kit::with_db!(&t.stack.issuer.app.store.db, |pool| {
        sqlx::query_as("SELECT state_hash, nonce_hash, verifier_sealed FROM oidc_logins")
            .fetch_all(pool)
            .await
    })
    .unwrap();
    assert_eq!(rows.len(), 1);
    let state = link_param(&at_idp, "state").unwrap();
    assert_eq!(rows[0].0, protocol::b64::sha256(&state));
    assert_eq!(
        rows[0].1,
        protocol::b64::sha256(link_param(&at_idp, "nonce").unwrap())
    );
    assert!(!rows[0].2.contains(&state));
    let callback = sign_in(&b, &at_idp, "ana", false).await;
    assert_eq!(
        link_param(&callback, "iss").as_deref(),
        Some(idp.url.as_str())
    );
    let back = b.get(&callback).await;
    assert_eq!(back.status, 303, "{}", back.body);
    let to_wallet = back.location.expect("Location");
    assert!(
        to_wallet.starts_with(&wallet.oauth_redirect_uri()),
        "{to_wallet}"
    );
    assert_eq!(link_param(&to_wallet, "iss").as_deref(), Some(t.issuer()));
    let accepted = wallet
        .finish_authorization(&account, pending, &to_wallet, now)
        .await
        .expect("the wallet receives the badge");
    assert!(!accepted.credentials.is_empty());
    // The badge is the offer's: the offer made for ana@example.org is spent.
    let (s, _) = t
        .get_json(offer["credential_offer_uri"].as_str().unwrap())
        .await;
    assert_eq!(s, 404);

    // The callback again, in the same browser (its cookie put back): the state is spent.
    let replay = Browser::new();
    let cookie = back
        .set_cookie
        .iter()
        .find(|c| c.starts_with("akashi_oidc_login=;"))
        .expect("the callback forgets the cookie");
    assert!(cookie.contains("Max-Age=0"), "{cookie}");
    let seen = replay.get(&callback).await;
    assert_page(&seen, 400, "invalid_sign_in", "state was already used");
    t.stack.stop().await;
}

#[tokio::test]
#[ignore = "heavy: run by ./test (npm interop packages)"]
async fn refusals_at_the_callback_are_pages_naming_the_check() {
    let mut idp = NpmIdp::start();
    let t = stack_with_provider(&idp.url, true).await;
    idp.configure(t.issuer(), "ES256");
    let now = t.stack.clock.now();
    let wallet = &t.stack.wallet.app;
    let account = wallet.ensure_account("default", now).await.unwrap();
    t.offer(false, None).await;

    // The provider verified no address: refused.
    let b = Browser::new();
    let (at_idp, _) = start_at_issuer(&t, &b, now).await;
    let callback = sign_in(&b, &at_idp, "unverified", false).await;
    let seen = b.get(&callback).await;
    assert_page(
        &seen,
        400,
        "invalid_sign_in",
        "id_token `email_verified` is false, not true",
    );

    // A verified address no offer is waiting for.
    let b = Browser::new();
    let (at_idp, _) = start_at_issuer(&t, &b, now).await;
    let callback = sign_in(&b, &at_idp, "stranger", false).await;
    let seen = b.get(&callback).await;
    assert_page(
        &seen,
        404,
        "no_offer",
        "no badge is waiting for stranger@example.org",
    );
    assert!(seen.body.contains("No badge is waiting for this address"));
    assert!(seen.body.contains("このアドレス宛てのバッジはありません"));

    // The person cancels at the provider: error=access_denied, in plain words.
    let b = Browser::new();
    let (at_idp, _) = start_at_issuer(&t, &b, now).await;
    let callback = sign_in(&b, &at_idp, "ana", true).await;
    assert_eq!(
        link_param(&callback, "error").as_deref(),
        Some("access_denied")
    );
    let seen = b.get(&callback).await;
    assert_page(
        &seen,
        400,
        "access_denied",
        "the sign-in provider answered error \"access_denied\"",
    );
    assert!(seen.body.contains("You did not sign in"));
    assert!(seen.body.contains("サインインされませんでした"));

    // The callback opened in another browser (no cookie, then another sign-in's cookie):
    // refused, and the sign-in is not spent: the browser that started it finishes it.
    let b = Browser::new();
    let (at_idp, pending) = start_at_issuer(&t, &b, now).await;
    let callback = sign_in(&b, &at_idp, "ana", false).await;
    let other = Browser::new();
    let seen = other.get(&callback).await;
    assert_page(
        &seen,
        400,
        "browser_mismatch",
        "the sign-in cookie is missing",
    );
    let (_, _) = start_at_issuer(&t, &other, now).await;
    let seen = other.get(&callback).await;
    assert_page(
        &seen,
        400,
        "browser_mismatch",
        "the sign-in cookie is not this sign-in's",
    );
    let back = b.get(&callback).await;
    assert_eq!(back.status, 303, "{}", back.body);
    let accepted = wallet
        .finish_authorization(&account, pending, &back.location.unwrap(), now)
        .await
        .expect("the wallet receives the badge (ES256 ID token)");
    assert!(!accepted.credentials.is_empty());

    // A state the issuer never gave, and none at all.
    let seen = b
        .get(&format!(
            "{}/authorize/callback?state=made-up&code=x",
            t.issuer()
        ))
        .await;
    assert_page(
        &seen,
        400,
        "invalid_sign_in",
        "state is unknown to this issuer",
    );
    let seen = b
        .get(&format!("{}/authorize/callback?code=x", t.issuer()))
        .await;
    assert_page(&seen, 400, "invalid_sign_in", "state is missing");
    t.stack.stop().await;
}

/// What the fake provider gets wrong in the ID tokens it signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Forgery {
    None,
    OtherKey,
    WrongAudience,
    WrongNonce,
    Expired,
    /// The callback names another issuer (`iss`, RFC 9207: a mix-up).
    CallbackIss,
}

struct Fake {
    url: String,
    key: SigningKey,
    other: SigningKey,
    forgery: Mutex<Forgery>,
    /// A key it rotated to (`kid` `k2`): published and signing once `rotated` is set.
    next: SigningKey,
    rotated: Mutex<bool>,
    /// The nonce of each code it gave.
    nonces: Mutex<HashMap<String, String>>,
}

/// A provider that signs what it is told to: discovery, JWK set, an authorization endpoint
/// that sends the browser straight back with a code, a token endpoint giving the ID token.
async fn fake_provider() -> Arc<Fake> {
    use axum::extract::{Form, Query, State};
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::{get, post};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let fake = Arc::new(Fake {
        url,
        key: SigningKey::generate(Alg::ES256),
        other: SigningKey::generate(Alg::ES256),
        forgery: Mutex::new(Forgery::None),
        next: SigningKey::generate(Alg::RS256),
        rotated: Mutex::new(false),
        nonces: Mutex::new(HashMap::new()),
    });
    type Params = HashMap<String, String>;
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(|State(f): State<Arc<Fake>>| async move {
                axum::Json(json!({
                    "issuer": f.url,
                    "authorization_endpoint": format!("{}/auth", f.url),
                    "token_endpoint": format!("{}/token", f.url),
                    "jwks_uri": format!("{}/jwks", f.url),
                }))
            }),
        )
        .route(
            "/jwks",
            get(|State(f): State<Arc<Fake>>| async move {
                let mut jwk = f.key.public_jwk().to_value();
                jwk["kid"] = json!("k1");
                let mut keys = vec![jwk];
                if *f.rotated.lock().unwrap() {
                    let mut jwk = f.next.public_jwk().to_value();
                    jwk["kid"] = json!("k2");
                    keys.push(jwk);
                }
                axum::Json(json!({"keys": keys}))
            }),
        )
        .route(
            "/auth",
            get(
                |State(f): State<Arc<Fake>>, Query(q): Query<Params>| async move {
                    let code = protocol::b64::random(16);
                    f.nonces
                        .lock()
                        .unwrap()
                        .insert(code.clone(), q["nonce"].clone());
                    let mut back = url::Url::parse(&q["redirect_uri"]).unwrap();
                    back.query_pairs_mut()
                        .append_pair("code", &code)
                        .append_pair("state", &q["state"]);
                    if *f.forgery.lock().unwrap() == Forgery::CallbackIss {
                        back.query_pairs_mut()
                            .append_pair("iss", "https://another-provider.example");
                    }
                    Redirect::to(back.as_str()).into_response()
                },
            ),
        )
        .route(
            "/token",
            post(
                |State(f): State<Arc<Fake>>, Form(form): Form<Params>| async move {
                    let nonce = f.nonces.lock().unwrap().remove(&form["code"]);
                    let forgery = *f.forgery.lock().unwrap();
                    let now = time::OffsetDateTime::now_utc().unix_timestamp();
                    let mut claims = json!({
                        "iss": f.url, "aud": CLIENT_ID, "sub": "u-1",
                        "nonce": nonce, "iat": now, "exp": now + 300,
                        "email": "ana@example.org", "email_verified": true,
                    });
                    match forgery {
                        Forgery::WrongAudience => claims["aud"] = json!("another-client"),
                        Forgery::WrongNonce => {
                            claims["nonce"] = json!("a-nonce-of-another-request")
                        }
                        Forgery::Expired => {
                            claims["iat"] = json!(now - 400);
                            claims["exp"] = json!(now - 100);
                        }
                        Forgery::None | Forgery::OtherKey | Forgery::CallbackIss => {}
                    }
                    let (signer, kid) = if forgery == Forgery::OtherKey {
                        (&f.other, "k1")
                    } else if *f.rotated.lock().unwrap() {
                        (&f.next, "k2")
                    } else {
                        (&f.key, "k1")
                    };
                    let id_token = protocol::jose::Jws::sign(
                        protocol::jose::header("JWT", Some(kid)),
                        &claims,
                        signer,
                    );
                    axum::Json(json!({
                        "access_token": "at", "token_type": "Bearer", "id_token": id_token,
                    }))
                },
            ),
        )
        .with_state(fake.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    fake
}

/// Through the fake provider to the issuer's callback: the page or redirect it answers.
async fn through_fake(t: &TestStack, now: i64) -> Seen {
    let b = Browser::new();
    let (at_idp, _) = start_at_issuer(t, &b, now).await;
    let seen = b.get(&at_idp).await;
    assert_eq!(seen.status, 303, "{}", seen.body);
    b.get(&seen.location.expect("Location")).await
}

#[tokio::test]
async fn forged_id_tokens_are_refused_each_by_its_check() {
    let fake = fake_provider().await;
    let t = stack_with_provider(&fake.url, true).await;
    let now = t.stack.clock.now();
    for _ in 0..2 {
        t.offer(false, None).await;
    }
    for (forgery, says) in [
        (
            Forgery::OtherKey,
            "id_token signature does not verify with the provider's key",
        ),
        (
            Forgery::WrongAudience,
            "id_token `aud` \"another-client\" does not contain our client_id \"akashi-issuer\"",
        ),
        (
            Forgery::WrongNonce,
            "id_token `nonce` is not the one of our authentication request",
        ),
        (Forgery::Expired, "id_token has expired"),
    ] {
        *fake.forgery.lock().unwrap() = forgery;
        let seen = through_fake(&t, now).await;
        assert_page(&seen, 400, "invalid_sign_in", says);
    }
    // A callback naming another provider (RFC 9207 `iss`): a mix-up, refused.
    *fake.forgery.lock().unwrap() = Forgery::CallbackIss;
    let seen = through_fake(&t, now).await;
    assert_page(
        &seen,
        400,
        "invalid_sign_in",
        "the callback's `iss` is \"https://another-provider.example\"",
    );
    // The same provider signing honestly: the person is let through.
    *fake.forgery.lock().unwrap() = Forgery::None;
    let seen = through_fake(&t, now).await;
    assert_eq!(seen.status, 303, "{}", seen.body);
    assert!(link_param(seen.location.as_deref().unwrap(), "code").is_some());
    // It rotates to an RS256 key the cached JWK set lacks: the set is fetched again.
    *fake.rotated.lock().unwrap() = true;
    let seen = through_fake(&t, now).await;
    assert_eq!(seen.status, 303, "{}", seen.body);
    assert!(link_param(seen.location.as_deref().unwrap(), "code").is_some());
    // A sign-in that took longer than its lifetime: the state has expired.
    let b = Browser::new();
    let (at_idp, _) = start_at_issuer(&t, &b, now).await;
    let seen = b.get(&at_idp).await;
    t.stack
        .clock
        .advance(issuer_agent::domain::oidc::LOGIN_TTL + 1);
    let seen = b.get(&seen.location.expect("Location")).await;
    assert_page(&seen, 400, "invalid_sign_in", "state has expired");
    t.stack.stop().await;

    // A provider configured as another issuer than its discovery document names.
    let t = stack_with_provider(&format!("{}/", fake.url), true).await;
    let b = Browser::new();
    let (url, _) = t
        .stack
        .wallet
        .app
        .begin_authorization(&generic_offer(t.issuer()), now)
        .await
        .unwrap();
    let seen = b.get(&url).await;
    assert_page(
        &seen,
        502,
        "upstream_unavailable",
        &format!(
            "discovery document `issuer` is \"{}\", not the configured issuer \"{}/\"",
            fake.url, fake.url
        ),
    );
    assert!(
        !seen
            .set_cookie
            .iter()
            .any(|c| c.starts_with("akashi_oidc_login"))
    );
    t.stack.stop().await;
}

#[tokio::test]
async fn a_provider_at_a_private_address_is_refused_by_the_fetch_guard() {
    for (provider, allow_loopback, says) in [
        (
            "https://10.0.0.5",
            true,
            "discovery document could not be fetched: destination 10.0.0.5 resolves to forbidden address 10.0.0.5",
        ),
        (
            "https://localhost:9",
            false,
            "discovery document could not be fetched: destination localhost resolves to forbidden address",
        ),
    ] {
        let t = stack_with_provider(provider, allow_loopback).await;
        let now = t.stack.clock.now();
        let (url, _) = t
            .stack
            .wallet
            .app
            .begin_authorization(&generic_offer(t.issuer()), now)
            .await
            .unwrap();
        let seen = Browser::new().get(&url).await;
        assert_page(&seen, 502, "upstream_unavailable", says);
        t.stack.stop().await;
    }
}

#[tokio::test]
async fn without_a_provider_the_person_is_asked_for_the_email_link_as_before() {
    let t = TestStack::start().await;
    let now = t.stack.clock.now();
    let (url, _) = t
        .stack
        .wallet
        .app
        .begin_authorization(&generic_offer(t.issuer()), now)
        .await
        .unwrap();
    let b = Browser::new();
    let seen = b.get(&url).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert!(
        seen.body.contains("Open the link in your badge email"),
        "{}",
        seen.body
    );
    assert!(seen.set_cookie.is_empty(), "{:?}", seen.set_cookie);
    let seen = b
        .get(&format!("{}/authorize/callback?state=s&code=c", t.issuer()))
        .await;
    assert_eq!(seen.status, 404, "{}", seen.body);
    let rows: Vec<(String,)> = kit::with_db!(&t.stack.issuer.app.store.db, |pool| {
        sqlx::query_as("SELECT state_hash FROM oidc_logins")
            .fetch_all(pool)
            .await
    })
    .unwrap();
    assert!(rows.is_empty());
    t.stack.stop().await;
}
