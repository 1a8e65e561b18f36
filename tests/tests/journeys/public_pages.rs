//! The wallet's public badge pages: a received badge (both `dc+sd-jwt` and `ldp_vc`) is
//! public by default at an unguessable `/p/{slug}`, showing the recipient's name and never
//! the email; the page (signed out) shows the badge with HTML-bearing names escaped, Open
//! Graph and Twitter card tags, share links (not the holder's email signature), and a QR code
//! that `zbarimg` reads back as the page's URL; the SD-JWT presentation verifies with
//! exactly the chosen disclosures; the `ldp_vc` (issued with the name, never the email)
//! is published as JSON-LD and baked into the PNG and SVG while the name is shown, and its
//! Data Integrity proof verifies once unbaked; with the name hidden, the images are the
//! plain badge art and there is no JSON-LD form. Made private
//! (the front page's form, with its CSRF token), the page, the credential form and the
//! images are 404 for everyone but the signed-in holder, with the body of an unknown slug;
//! public again (API), all is back. A second account can neither see nor change the first
//! one's badge (404). A privacy sweep fetches every response of a page with nothing chosen
//! and with only the name chosen, and finds no more than that in any of them.

use akashi_tests::browser::Browser;
use holder_agent::cli::{Command, PublicOrPrivate};
use protocol::keys::Jwk;
use protocol::sd_jwt::SdJwt;
use serde_json::{Value, json};

use crate::common::{ADMIN, TestStack};

const BADGE: &str = "<script>alert(\"badge\")</script> Supporter & Co";
const RECIPIENT: &str = "<img src=x onerror=alert(1)> Ana";
pub(crate) const PASSWORD: &str = "correct horse battery";
const TEST: &str = "public_badge_pages_private_toggle_and_baked_downloads";

/// `text` as the pages escape it (askama: numeric character references).
fn esc(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// A browser without JavaScript: a cookie jar and forms.
pub(crate) struct WebClient {
    base: String,
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl WebClient {
    pub(crate) fn new(base: &str) -> WebClient {
        WebClient {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    fn keep_cookies(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all("set-cookie") {
            let pair = v.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            self.cookies.push((k.to_owned(), v.to_owned()));
        }
    }

    pub(crate) fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) async fn get(&mut self, path: &str) -> (u16, String) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let r = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&r);
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&r);
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (status, location.unwrap_or(r.text().await.unwrap()))
    }

    /// The CSRF token of the page at `path`.
    async fn csrf(&mut self, path: &str) -> String {
        let (_, html) = self.get(path).await;
        let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
        html[at..].split('"').next().unwrap().to_owned()
    }

    pub(crate) async fn sign_in(&mut self, email: &str) {
        let csrf = self.csrf("/sign-in").await;
        let (status, location) = self
            .post(
                "/sign-in",
                &[
                    ("csrf", &csrf),
                    ("next", "/"),
                    ("email", email),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(status, 303, "{location}");
    }
}

/// A wallet account with an email and password, and its API token.
pub(crate) async fn web_account(
    t: &TestStack,
    name: &str,
    email: &str,
) -> (holder_agent::Account, String) {
    let wallet = &t.stack.wallet.app;
    let now = t.stack.clock.now();
    let account = wallet.ensure_account(name, now).await.unwrap();
    let hash = holder_agent::wallet::web::hash_password(PASSWORD)
        .await
        .unwrap();
    wallet
        .store
        .set_email_and_password(&account.id, email, &hash, now)
        .await
        .unwrap();
    let token = wallet.rotate_api_token(&account).await.unwrap();
    (account, token)
}

async fn api(
    t: &TestStack,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = t
        .http
        .request(method, format!("{}{path}", t.stack.wallet.url))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(t: &TestStack, url: &str) -> (u16, Option<String>, Vec<u8>) {
    let r = t.http.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, ct, r.bytes().await.unwrap().to_vec())
}

fn loopback_fetcher() -> kit::fetch::Fetcher {
    kit::fetch::Fetcher::new(kit::fetch::FetchPolicy {
        allow_loopback: true,
        ..kit::fetch::FetchPolicy::default()
    })
    .unwrap()
}

/// Verifies an `ldp_vc` as a verifier would: the proof's key from the issuer's did:web.
async fn verify_ldp_vc(vc: &Value) {
    let method = vc["proof"][0]["verificationMethod"].as_str().unwrap();
    let did = vc["issuer"]["id"].as_str().unwrap();
    let key: Jwk = protocol::did::DidResolver::new(loopback_fetcher())
        .resolve_key(method, protocol::did::Relationship::AssertionMethod)
        .await
        .unwrap();
    protocol::vc::data_integrity::verify(vc, &key, method, did)
        .await
        .expect("the ldp_vc's Data Integrity proof verifies");
}

/// Verifies the SD-JWT presentation of the public page; returns its revealed claims.
async fn verify_presentation(t: &TestStack, text: &str) -> (SdJwt, Value) {
    let sd = SdJwt::parse(text).unwrap();
    assert!(sd.kb_jwt.is_none(), "no KB-JWT on a public page");
    assert!(text.ends_with('~'));
    let jws = sd.issuer_jwt().unwrap();
    let iss = jws.claim_str("iss").unwrap().to_owned();
    let resolver = protocol::issuer_key::IssuerKeyResolver::new(
        loopback_fetcher(),
        protocol::did::DidResolver::new(loopback_fetcher()),
    );
    let key = resolver.resolve(&iss, jws.kid()).await.unwrap();
    let revealed = sd
        .verify(
            &key.verifying_key().unwrap(),
            &["dc+sd-jwt"],
            t.stack.clock.now(),
            60,
        )
        .expect("the presentation verifies");
    (sd, Value::Object(revealed.claims))
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn public_badge_pages_private_toggle_and_baked_downloads() {
    let t = TestStack::start().await;
    let wallet = t.stack.wallet.url.clone();

    // An achievement with a hostile name and a PNG image; an offer to a hostile name.
    let (status, a) = t
        .admin_post(
            "/admin/achievements",
            json!({"name": BADGE, "description": "Helps <i>citizens</i>.", "criteria": "Did it."}),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let achievement = a["id"].as_str().unwrap().to_owned();
    let art = protocol::qr::Qr::new("badge art").unwrap().png(4);
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
            json!({"achievement_id": achievement, "recipient_name": RECIPIENT,
                   "recipient_email": "ana@example.org", "tx_code": false}),
        )
        .await;
    assert_eq!(status, 201, "{offer}");

    let (ana, ana_token) = web_account(&t, "ana", "ana@example.org").await;
    let (_ben, ben_token) = web_account(&t, "ben", "ben@example.org").await;
    let accepted = t
        .stack
        .wallet
        .app
        .accept(
            &ana,
            offer["offer_link"].as_str().unwrap(),
            None,
            t.stack.clock.now(),
        )
        .await
        .expect("the wallet accepts the offer");
    assert_eq!(
        accepted.credentials.len(),
        1,
        "one badge, not one per format"
    );

    // Public by default, with an unguessable URL.
    let (s, list) = api(
        &t,
        &ana_token,
        reqwest::Method::GET,
        "/api/credentials",
        None,
    )
    .await;
    assert_eq!(s, 200, "{list}");
    let cred = &list["credentials"][0];
    let id = cred["id"].as_str().unwrap().to_owned();
    assert_eq!(cred["visibility"]["public"], true, "{cred}");
    assert_eq!(
        cred["visibility"]["disclose"],
        json!(["/ld/credentialSubject/identifier/0"]),
        "the name is shown by default"
    );
    let url = cred["visibility"]["public_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let slug = url
        .strip_prefix(&format!("{wallet}/p/"))
        .expect("the page is under /p/")
        .to_owned();
    assert!(
        protocol::b64::decode(&slug).unwrap().len() >= 16,
        "128 bits: {slug}"
    );

    // The page, signed out.
    let mut anon = WebClient::new(&wallet);
    let (s, html) = anon.get(&url).await;
    assert_eq!(s, 200, "{html}");
    assert!(!html.contains("<script>alert"), "the name is escaped");
    assert!(html.contains(&esc(BADGE)), "{html}");
    assert!(
        html.contains(&esc(RECIPIENT)),
        "the recipient's name is shown by default: {html}"
    );
    assert!(!html.contains("ana@example.org"), "never the email");
    for tag in [
        format!("<meta property=\"og:url\" content=\"{url}\">"),
        format!("<meta property=\"og:image\" content=\"{url}/share.png\">"),
        "<meta name=\"twitter:card\" content=\"summary_large_image\">".to_owned(),
        format!(
            "<link rel=\"alternate\" type=\"application/dc+sd-jwt\" href=\"/p/{slug}/credential\">"
        ),
        format!(
            "<link rel=\"alternate\" type=\"application/vc+ld+json\" href=\"/p/{slug}/credential.json\">"
        ),
    ] {
        assert!(html.contains(&tag), "{tag} in {html}");
    }
    // The share preview image: a 1200 x 630 PNG.
    let (s, ct, png) = get(&t, &format!("{url}/share.png")).await;
    assert_eq!((s, ct.as_deref()), (200, Some("image/png")));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    // IHDR: width and height, big-endian, right after the signature and chunk header.
    let dim = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    assert_eq!((dim(16), dim(20)), (1200, 630));
    assert!(
        html.contains(&format!(
            "<meta property=\"og:title\" content=\"{}\">",
            esc(BADGE)
        )),
        "{html}"
    );
    let encoded: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
    assert!(html.contains(&format!(
        "https://www.linkedin.com/sharing/share-offsite/?url={encoded}"
    )));
    assert!(html.contains(&format!(
        "https://www.facebook.com/sharer/sharer.php?u={encoded}"
    )));
    assert!(html.contains(&format!("https://x.com/intent/tweet?url={encoded}")));
    assert!(
        html.contains("id=\"verdict\" data-state=\"valid\">Verified"),
        "{html}"
    );
    assert!(html.contains(&format!(
        "https://social-plugins.line.me/lineit/share?url={encoded}"
    )));
    // The email signature and the card are the holder's tools (their badge page), not a
    // stranger's.
    assert!(!html.contains("id=\"signature\""), "{html}");
    assert!(!html.contains("card.pdf"), "{html}");
    assert!(!html.contains("holder-tools"), "{html}");

    // In a real browser: the hostile name is text, the baked image and the QR code load.
    let mut b = Browser::start(TEST).await.unwrap();
    b.goto(&url).await.unwrap();
    assert_eq!(b.text("#badge-name").await.unwrap(), BADGE);
    b.wait_until(
        "return ['img.art', '#qr'].every(s => { const i = document.querySelector(s); \
         return i.complete && i.naturalWidth > 0; });",
        "the badge image and the QR code load",
    )
    .await
    .unwrap();
    b.screenshot("public-page").await.unwrap();
    b.quit().await;

    // On a phone (390 px), in Japanese: nothing scrolls sideways.
    let mut phone = Browser::start_phone(&format!("{TEST}_phone"), 390)
        .await
        .unwrap();
    phone
        .goto(&format!("{wallet}/lang/ja?next=/p/{slug}"))
        .await
        .unwrap();
    phone.wait_for_text("#verdict", "検証済み").await.unwrap();
    assert_eq!(
        phone
            .execute(
                "return [document.documentElement.clientWidth, document.documentElement.scrollWidth];",
                vec![]
            )
            .await
            .unwrap(),
        json!([390, 390]),
        "no horizontal scrolling at 390 px"
    );
    phone.screenshot("public-page-ja-390").await.unwrap();
    phone.quit().await;

    // The QR code, read by a real decoder, is the page's URL.
    let (s, ct, png) = get(&t, &format!("{url}/qr.png")).await;
    assert_eq!((s, ct.as_deref()), (200, Some("image/png")));
    assert_eq!(crate::common::zbarimg(&png), url);
    let (s, ct, _) = get(&t, &format!("{url}/qr.svg")).await;
    assert_eq!((s, ct.as_deref()), (200, Some("image/svg+xml")));

    // The machine-readable forms.
    let (s, ct, body) = get(&t, &format!("{url}/credential")).await;
    assert_eq!((s, ct.as_deref()), (200, Some("application/dc+sd-jwt")));
    let (_, claims) = verify_presentation(&t, &String::from_utf8(body).unwrap()).await;
    assert_eq!(
        claims.pointer("/ld/credentialSubject/achievement/name"),
        Some(&json!(BADGE))
    );
    assert_eq!(
        claims["ld"]["credentialSubject"]["identifier"],
        json!([{"type": "IdentityObject", "identityType": "name", "hashed": false,
                "identityHash": RECIPIENT}]),
        "the name and nothing else"
    );
    let (s, ct, body) = get(&t, &format!("{url}/credential.json")).await;
    assert_eq!((s, ct.as_deref()), (200, Some("application/vc+ld+json")));
    let vc: Value = serde_json::from_slice(&body).unwrap();
    verify_ldp_vc(&vc).await;
    assert_eq!(
        vc["credentialSubject"]["identifier"],
        json!([{"type": "IdentityObject", "identityType": "name", "hashed": false,
                "identityHash": RECIPIENT}]),
        "the ldp_vc carries the name and never the email"
    );

    // Baked downloads: the issuer's PNG with the ldp_vc in it, and an SVG.
    let (s, ct, png) = get(&t, &format!("{url}/badge.png")).await;
    assert_eq!((s, ct.as_deref()), (200, Some("image/png")));
    let unbaked: Value = serde_json::from_str(&protocol::baked::unbake_png(&png).unwrap()).unwrap();
    assert_eq!(unbaked, vc);
    verify_ldp_vc(&unbaked).await;
    let (s, ct, svg) = get(&t, &format!("{url}/badge.svg")).await;
    assert_eq!((s, ct.as_deref()), (200, Some("image/svg+xml")));
    let unbaked: Value = serde_json::from_str(
        &protocol::baked::unbake_svg(&String::from_utf8(svg).unwrap()).unwrap(),
    )
    .unwrap();
    verify_ldp_vc(&unbaked).await;

    // The holder shows their name: exactly that disclosure appears, and the page shows it
    // escaped.
    let (_, claims) = t
        .stack
        .wallet
        .app
        .credential_of(&ana, &id)
        .await
        .unwrap()
        .unwrap();
    let ids = claims["ld"]["credentialSubject"]["identifier"]
        .as_array()
        .unwrap();
    let name_at = ids
        .iter()
        .position(|i| i["identityType"] == "name")
        .unwrap();
    let pointer = format!("/ld/credentialSubject/identifier/{name_at}");
    let (s, v) = api(
        &t,
        &ana_token,
        reqwest::Method::POST,
        &format!("/api/credentials/{id}/visibility"),
        Some(json!({"public": true, "disclose": [pointer]})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["disclose"], json!([pointer]));
    let (s, v) = api(
        &t,
        &ana_token,
        reqwest::Method::POST,
        &format!("/api/credentials/{id}/visibility"),
        Some(json!({"public": true, "disclose": ["/ld/issuer"]})),
    )
    .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("disclose")), "{v}");
    let (_, _, body) = get(&t, &format!("{url}/credential")).await;
    let (sd, claims) = verify_presentation(&t, &String::from_utf8(body).unwrap()).await;
    assert!(!sd.disclosures.is_empty());
    // Exactly the chosen identifier is revealed (array elements not disclosed are gone).
    let shown = claims["ld"]["credentialSubject"]["identifier"]
        .as_array()
        .unwrap();
    assert_eq!(shown.len(), 1, "{claims:#}");
    assert_eq!(shown[0]["identityType"], "name");
    assert_eq!(shown[0]["identityHash"], json!(RECIPIENT));
    let (_, html) = anon.get(&url).await;
    assert!(html.contains(&esc(RECIPIENT)), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");

    // A second account cannot change (or even find) the first one's badge.
    let (s, v) = api(
        &t,
        &ben_token,
        reqwest::Method::POST,
        &format!("/api/credentials/{id}/visibility"),
        Some(json!({"public": false})),
    )
    .await;
    assert_eq!(s, 404, "{v}");
    let mut ben = WebClient::new(&wallet);
    ben.sign_in("ben@example.org").await;
    let csrf = ben.csrf("/").await;
    let (s, _) = ben
        .post(
            &format!("/badges/{id}/public"),
            &[("csrf", &csrf), ("public", "0")],
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = ben.get(&format!("/badges/{id}/public")).await;
    assert_eq!(s, 404);
    assert_eq!(anon.get(&url).await.0, 200, "still public");

    // Made private from the front page: the form needs its CSRF token.
    let mut holder = WebClient::new(&wallet);
    holder.sign_in("ana@example.org").await;
    let (s, home) = holder.get("/").await;
    assert_eq!(s, 200);
    assert!(home.contains(&url), "the front page links the public page");
    let (s, _) = holder
        .post(&format!("/badges/{id}/public"), &[("public", "0")])
        .await;
    assert_eq!(s, 403, "no CSRF token");
    let csrf = holder.csrf("/").await;
    let (s, location) = holder
        .post(
            &format!("/badges/{id}/public"),
            &[("csrf", &csrf), ("public", "0")],
        )
        .await;
    assert_eq!((s, location.as_str()), (303, "/"));

    let unknown = format!("{wallet}/p/{}", protocol::b64::random(16));
    let (_, unknown_page) = anon.get(&unknown).await;
    let (s, page) = anon.get(&url).await;
    assert_eq!(s, 404);
    assert_eq!(page, unknown_page, "a private page is an unknown page");
    // The same in Japanese, headers included (no oracle for which slugs exist), and the
    // page speaks to a stranger: no "Back to my badges".
    let ja_404 = |target: String| {
        let http = t.http.clone();
        async move {
            let r = http
                .get(target)
                .header("accept-language", "ja")
                .send()
                .await
                .unwrap();
            let mut headers: Vec<(String, String)> = r
                .headers()
                .iter()
                .filter(|(k, _)| *k != "date")
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect();
            headers.sort();
            (r.status().as_u16(), headers, r.text().await.unwrap())
        }
    };
    let private_ja = ja_404(url.clone()).await;
    let unknown_ja = ja_404(unknown.clone()).await;
    assert_eq!(private_ja.0, 404);
    assert_eq!(private_ja, unknown_ja, "byte-identical, headers included");
    assert!(
        private_ja.2.contains("ページが見つかりません"),
        "{}",
        private_ja.2
    );
    akashi_tests::lang::assert_no_english("the 404 page", &private_ja.2, &[]);
    assert!(!page.contains("Back to my badges"), "{page}");
    assert!(page.contains("Page not found"), "{page}");
    // An address the wallet has no route for: the same translated page, not an empty body.
    let (s, nowhere) = anon.get(&format!("{wallet}/no/such/page")).await;
    assert_eq!(s, 404);
    assert!(nowhere.contains("Page not found"), "{nowhere}");
    let (s, _, api_body) = get(&t, &format!("{wallet}/api/no-such-endpoint")).await;
    assert_eq!(s, 404);
    let api_error: Value = serde_json::from_slice(&api_body).unwrap();
    assert_eq!(api_error["error"], "not_found", "{api_error}");
    for part in [
        "credential",
        "credential.json",
        "badge.png",
        "badge.svg",
        "qr.png",
        "share.png",
    ] {
        let (s, _, body) = get(&t, &format!("{url}/{part}")).await;
        let (us, _, unknown_body) = get(&t, &format!("{unknown}/{part}")).await;
        assert_eq!((s, us), (404, 404), "{part}");
        assert_eq!(body, unknown_body, "{part}");
    }
    let (s, html) = holder.get(&url).await;
    assert_eq!(s, 200, "the holder still sees their private page");
    assert!(html.contains("id=\"private-banner\""), "{html}");
    assert!(html.contains("<meta name=\"robots\" content=\"noindex\">"));
    let (_, list) = api(
        &t,
        &ana_token,
        reqwest::Method::GET,
        "/api/credentials",
        None,
    )
    .await;
    assert_eq!(list["credentials"][0]["visibility"]["public"], false);

    // Public again (API; the disclosure choice kept): everything is back, same URL.
    let (s, v) = api(
        &t,
        &ana_token,
        reqwest::Method::POST,
        &format!("/api/credentials/{id}/visibility"),
        Some(json!({"public": true})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["public_url"], json!(url));
    assert_eq!(v["disclose"], json!([pointer]));
    assert_eq!(anon.get(&url).await.0, 200);
    for part in ["credential", "badge.png", "badge.svg"] {
        assert_eq!(get(&t, &format!("{url}/{part}")).await.0, 200, "{part}");
    }

    // The settings page: untick everything (hide the name), keep public.
    let csrf = holder.csrf(&format!("/badges/{id}/public")).await;
    let (s, _) = holder
        .post(
            &format!("/badges/{id}/public"),
            &[("csrf", &csrf), ("choose", "1"), ("public", "1")],
        )
        .await;
    assert_eq!(s, 303);
    let (_, _, body) = get(&t, &format!("{url}/credential")).await;
    let (sd, _) = verify_presentation(&t, &String::from_utf8(body).unwrap()).await;
    assert!(sd.disclosures.is_empty());
    // The ldp_vc would show the hidden name: no JSON-LD form, the images unbaked.
    assert_eq!(get(&t, &format!("{url}/credential.json")).await.0, 404);
    let (s, _, png) = get(&t, &format!("{url}/badge.png")).await;
    assert_eq!(s, 200);
    assert_eq!(png, art, "the badge art as the issuer made it");
    assert!(protocol::baked::unbake_png(&png).is_err());
    let (_, _, svg) = get(&t, &format!("{url}/badge.svg")).await;
    assert!(protocol::baked::unbake_svg(&String::from_utf8(svg).unwrap()).is_err());

    // The command line, over the same domain function: ben's account cannot touch ana's
    // badge; ana's makes it private and shows her name, then public again.
    let cli = |account: &str, public: PublicOrPrivate, disclose: Vec<String>| {
        let mut config = t.stack.wallet.app.config.clone();
        config.account = account.to_owned();
        holder_agent::cli::run(
            config,
            Command::Visibility {
                id: id.clone(),
                visibility: public,
                disclose,
                disclose_none: false,
                json: true,
            },
        )
    };
    match cli("ben", PublicOrPrivate::Private, vec![]).await {
        Err(holder_agent::AppError::NotFound(_)) => {}
        other => panic!("another account's badge: {other:?}"),
    }
    assert_eq!(anon.get(&url).await.0, 200);
    cli("ana", PublicOrPrivate::Private, vec![pointer.clone()])
        .await
        .unwrap();
    assert_eq!(anon.get(&url).await.0, 404);
    assert_eq!(get(&t, &format!("{url}/credential")).await.0, 404);
    cli("ana", PublicOrPrivate::Public, vec![]).await.unwrap();
    let (_, _, body) = get(&t, &format!("{url}/credential")).await;
    let (_, claims) = verify_presentation(&t, &String::from_utf8(body).unwrap()).await;
    assert_eq!(
        claims.pointer("/ld/credentialSubject/identifier/0/identityHash"),
        Some(&json!(RECIPIENT)),
        "the choice made with --disclose is kept"
    );
}

/// Everything a stranger can fetch of the page at `url`, each as text that names what it
/// carries: the page, the SD-JWT presentation decoded (issuer payload and every
/// disclosure), what is baked into the images (nothing, or the credential), and the raw
/// bytes of every resource.
async fn everything_published(t: &TestStack, url: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for part in [
        "",
        "/credential",
        "/credential.json",
        "/badge.png",
        "/badge.svg",
        "/qr.png",
        "/qr.svg",
        "/share.png",
    ] {
        let (status, _, body) = get(t, &format!("{url}{part}")).await;
        let text = String::from_utf8_lossy(&body).into_owned();
        out.push((format!("{part} ({status}, raw)"), text.clone()));
        if part == "/credential" {
            let sd = SdJwt::parse(&text).unwrap();
            let jws = sd.issuer_jwt().unwrap();
            out.push((
                "/credential issuer payload".into(),
                Value::Object(jws.payload.clone()).to_string(),
            ));
            for d in &sd.disclosures {
                out.push((
                    "/credential disclosure".into(),
                    format!("{:?} {}", d.name, d.value),
                ));
            }
        }
        if part == "/badge.png"
            && let Ok(baked) = protocol::baked::unbake_png(&body)
        {
            out.push(("/badge.png baked".into(), baked));
        }
        if part == "/badge.svg"
            && let Ok(baked) = protocol::baked::unbake_svg(&text)
        {
            out.push(("/badge.svg baked".into(), baked));
        }
    }
    out
}

/// The privacy rule, attacked from outside: a public badge whose holder chose nothing
/// publishes neither the name nor the email nor its hash or salt in any response of the
/// page (images and downloads included); with only the name chosen, the name appears and
/// still nothing of the email; the presentation verifies in two independent SD-JWT
/// libraries. The email identifier cannot be chosen through the API or the form, and an
/// issuer's SVG art cannot run script on the wallet's origin.
#[tokio::test]
#[ignore = "heavy: run by ./test (npm and PyPI interop packages)"]
async fn a_public_page_publishes_only_what_the_holder_chose() {
    const NAME: &str = "Hanako Privacy";
    const EMAIL: &str = "hanako.private@example.org";
    let t = TestStack::start().await;
    let (status, a) = t
        .admin_post(
            "/admin/achievements",
            json!({"name": "Privacy badge", "description": "d", "criteria": "c"}),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let (status, offer) = t
        .admin_post(
            "/admin/offers",
            json!({"achievement_id": a["id"], "recipient_name": NAME,
                   "recipient_email": EMAIL, "tx_code": false}),
        )
        .await;
    assert_eq!(status, 201, "{offer}");
    let (hanako, token) = web_account(&t, "hanako", EMAIL).await;
    let app = &t.stack.wallet.app;
    let accepted = app
        .accept(
            &hanako,
            offer["offer_link"].as_str().unwrap(),
            None,
            t.stack.clock.now(),
        )
        .await
        .unwrap();
    let id = accepted.credentials[0].id.clone();
    // What must never leak: the email, its hash (whole and hex part) and its salt.
    let (_, claims) = app.credential_of(&hanako, &id).await.unwrap().unwrap();
    let email_id = claims["ld"]["credentialSubject"]["identifier"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["identityType"] == "emailAddress")
        .expect("the badge carries the hashed email")
        .clone();
    let hash = email_id["identityHash"].as_str().unwrap().to_owned();
    let salt = email_id["salt"].as_str().unwrap().to_owned();
    let secrets = [
        EMAIL.to_owned(),
        hash.clone(),
        hash.trim_start_matches("sha256$").to_owned(),
        salt,
    ];
    let url = app
        .visibility(&hanako, &id, t.stack.clock.now())
        .await
        .unwrap()
        .public_url;
    assert!(
        app.store
            .companion(&id, holder_agent::wallet::oid4vci::FORMAT_LDP_VC)
            .await
            .unwrap()
            .is_some(),
        "the wallet holds the ldp_vc (which carries the email identifier)"
    );
    let set = |disclose: Value| {
        let token = token.clone();
        let id = id.clone();
        let t = &t;
        async move {
            api(
                t,
                &token,
                reqwest::Method::POST,
                &format!("/api/credentials/{id}/visibility"),
                Some(json!({"public": true, "disclose": disclose})),
            )
            .await
        }
    };

    // Nothing chosen: neither the name nor anything of the email, anywhere.
    let (s, v) = set(json!([])).await;
    assert_eq!(s, 200, "{v}");
    let published = everything_published(&t, &url).await;
    for (what, text) in &published {
        for secret in secrets.iter().chain([&NAME.to_owned()]) {
            assert!(!text.contains(secret.as_str()), "{secret:?} in {what}");
        }
    }
    assert_eq!(
        published.len(),
        9,
        "8 responses and the issuer payload, no disclosure"
    );

    // Only the name: the name appears; still nothing of the email.
    let (s, v) = set(json!(["/ld/credentialSubject/identifier/0"])).await;
    assert_eq!(s, 200, "{v}");
    let published = everything_published(&t, &url).await;
    assert!(
        published
            .iter()
            .any(|(what, text)| what.starts_with(" (200") && text.contains(NAME)),
        "the page shows the name"
    );
    for (what, text) in &published {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{secret:?} in {what}");
        }
    }

    // The email identifier cannot be chosen: not alone, not within, not by enclosing it.
    for pointer in [
        "/ld/credentialSubject/identifier/1",
        "/ld/credentialSubject/identifier/1/salt",
        "/ld/credentialSubject/identifier",
    ] {
        let (s, v) = set(json!([pointer])).await;
        assert_eq!(
            (s, v["field"].as_str()),
            (400, Some("disclose")),
            "{pointer}: {v}"
        );
        assert!(
            v["error_description"]
                .as_str()
                .unwrap()
                .contains("email address"),
            "{v}"
        );
    }

    // What the page publishes verifies in two independent implementations of each format:
    // the JSON-LD (ours and Digital Bazaar's), the SD-JWT (@sd-jwt and the Python library).
    let (s, _, body) = get(&t, &format!("{url}/credential.json")).await;
    assert_eq!(s, 200);
    let vc: Value = serde_json::from_slice(&body).unwrap();
    verify_ldp_vc(&vc).await;
    let answer = crate::interop::digitalbazaar_verifies(&t, &vc).await;
    assert_eq!(answer["ok"], true, "{answer}");
    let (_, _, png) = get(&t, &format!("{url}/badge.png")).await;
    let baked: Value = serde_json::from_str(&protocol::baked::unbake_png(&png).unwrap()).unwrap();
    assert_eq!(baked, vc, "the image carries the same credential");

    let (_, _, body) = get(&t, &format!("{url}/credential")).await;
    let presentation = String::from_utf8(body).unwrap();
    let (s, meta) = t
        .get_json(&format!("{}/.well-known/jwt-vc-issuer", t.issuer()))
        .await;
    assert_eq!(s, 200);
    let jwk = meta["jwks"]["keys"][0].clone();
    let now = t.stack.clock.now();
    for run in [
        crate::interop::harness::node as fn(&str, &Value) -> Value,
        crate::interop::harness::python,
    ] {
        let input = json!({"sdjwt": presentation, "issuer_jwk": jwk, "kb": null, "now": now + 5});
        let answer = tokio::task::spawn_blocking(move || run("verify", &input))
            .await
            .unwrap();
        assert_eq!(answer["ok"], true, "{answer}");
        assert_eq!(
            answer["payload"]["ld"]["credentialSubject"]["identifier"],
            json!([{"type": "IdentityObject", "identityType": "name", "hashed": false,
                    "identityHash": NAME}]),
            "{answer}"
        );
    }

    // Images are served with a policy that runs nothing: an issuer's SVG stays a picture.
    let r = t.http.get(format!("{url}/badge.svg")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("sandbox") && csp.contains("default-src 'none'"),
        "{csp}"
    );
}
