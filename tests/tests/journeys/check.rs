//! Checking without a wallet: credentials issued by the real issuer in every format, sent
//! to the verifier's `POST /api/check` as they are, baked into PNG and SVG badges, and
//! published on badge pages (a small server here plays the wallet's public page, per the
//! `/p/{slug}` contract); each check made to fail alone (signature, key, status revoked and
//! suspended on both kinds of list, validity, schema, image digest, trust, source); the
//! public `/check` page with its CSRF token, upload and camera-frame endpoints.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use protocol::keys::{Alg, SigningKey};
use serde_json::{Value, json};

use crate::common::{ADMIN, TestStack, VERIFIER_TOKEN, check, failed_checks, holder_key};
use crate::formats::{JWT_VC_ES256, JWT_VC_RS256, LDP_VC, SD_JWT, request, set_status};

/// The badge image of the test achievement (a PNG; any picture does).
pub(crate) fn badge_png(text: &str) -> Vec<u8> {
    protocol::qr::Qr::new(text).expect("QR").png(3)
}

/// An achievement with a PNG image, an offer for it; returns (offer, image URL,
/// achievement id).
pub(crate) async fn offer_with_image(
    t: &TestStack,
    valid_days: Option<i64>,
) -> (Value, String, String) {
    let (s, a) = t
        .admin_post(
            "/admin/achievements",
            json!({
                "name": "Digital Supporter — Level 1",
                "description": "Helps citizens use public digital services.",
                "criteria": "Completed the 6-hour course.",
                "valid_days": valid_days,
            }),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().expect("achievement id").to_owned();
    let (s, view) = put_image(t, &id, badge_png("the badge image")).await;
    assert_eq!(s, 200, "{view}");
    let image_url = view["image_url"].as_str().expect("image_url").to_owned();
    let (s, offer) = t
        .admin_post(
            "/admin/offers",
            json!({
                "achievement_id": id,
                "recipient_name": "田中 アナ",
                "recipient_email": "ana@example.org",
                "tx_code": false,
            }),
        )
        .await;
    assert_eq!(s, 201, "{offer}");
    (offer, image_url, id)
}

async fn put_image(t: &TestStack, id: &str, png: Vec<u8>) -> (u16, Value) {
    let r = t
        .http
        .put(format!("{}/admin/achievements/{id}/image", t.issuer()))
        .bearer_auth(ADMIN)
        .header("content-type", "image/png")
        .body(png)
        .send()
        .await
        .expect("PUT image");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// The credentials of `configurations` issued on `offer` to `holder`.
pub(crate) async fn issue(
    t: &TestStack,
    offer: &Value,
    configurations: &[&str],
    holder: &SigningKey,
) -> Vec<Value> {
    let code = t.pre_authorized_code(offer).await;
    let (s, token) = t.token(&code, None).await;
    assert_eq!(s, 200, "{token}");
    let token = token["access_token"].as_str().expect("token").to_owned();
    let mut out = Vec::new();
    for configuration in configurations {
        let (s, resp) = request(t, &token, configuration, &[holder]).await;
        assert_eq!(s, 200, "{resp}");
        out.push(resp["credentials"][0]["credential"].clone());
    }
    out
}

/// The issuer's id of the credential of `configuration` issued on `offer`.
pub(crate) async fn credential_id(t: &TestStack, offer: &Value, configuration: &str) -> String {
    let r = t
        .http
        .get(format!(
            "{}/admin/offers/{}",
            t.issuer(),
            offer["offer_id"].as_str().expect("offer_id")
        ))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("admin offer");
    let view: Value = r.json().await.expect("JSON");
    view["credentials"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["configuration"] == configuration))
        .and_then(|c| c["id"].as_str())
        .unwrap_or_else(|| panic!("a {configuration} credential in {view:#}"))
        .to_owned()
}

/// `POST /api/check` with a JSON body.
pub(crate) async fn check_json(t: &TestStack, body: Value) -> Value {
    let r = t
        .http
        .post(format!("{}/api/check", t.verifier()))
        .bearer_auth(VERIFIER_TOKEN)
        .json(&body)
        .send()
        .await
        .expect("check");
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.expect("result JSON")
}

/// `POST /api/check` with a file.
async fn check_file(t: &TestStack, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let r = t
        .http
        .post(format!("{}/api/check", t.verifier()))
        .bearer_auth(VERIFIER_TOKEN)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("check");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

pub(crate) fn detail(result: &Value, name: &str) -> String {
    result["checks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .and_then(|c| c["detail"].as_str())
        .unwrap_or_default()
        .to_owned()
}

fn assert_verified(result: &Value, format: &str) {
    assert_eq!(result["state"], "verified", "{result:#}");
    assert_eq!(result["format"], format, "{result:#}");
    for name in [
        "issuer_key",
        "issuer_signature",
        "validity",
        "status",
        "ob3_schema",
        "image_digest",
    ] {
        assert_eq!(check(result, name), Some(true), "{name}: {result:#}");
    }
    for name in ["holder_binding", "nonce", "audience"] {
        assert_eq!(
            check(result, name),
            None,
            "{name} is not applicable: {result:#}"
        );
    }
    assert_eq!(check(result, "trust"), None, "no trust list: {result:#}");
}

/// A compact credential with one character of its payload changed.
fn tamper(compact: &str) -> String {
    let mut parts: Vec<String> = compact.split('.').map(str::to_owned).collect();
    let mut payload: Value =
        serde_json::from_slice(&protocol::b64::decode(&parts[1]).expect("base64url"))
            .expect("JSON");
    payload["name"] = json!("Expert in everything");
    parts[1] = protocol::b64::encode(payload.to_string().as_bytes());
    parts.join(".")
}

#[tokio::test]
async fn every_format_and_baked_badge_verifies_and_each_check_fails_alone() {
    let t = TestStack::start().await;
    let holder = holder_key();
    let (offer, _image_url, achievement) = offer_with_image(&t, None).await;
    let issued = issue(
        &t,
        &offer,
        &[SD_JWT, JWT_VC_ES256, JWT_VC_RS256, LDP_VC],
        &holder,
    )
    .await;
    let sd = issued[0].as_str().expect("SD-JWT").to_owned();
    let es = issued[1].as_str().expect("VC-JWT").to_owned();
    let rs = issued[2].as_str().expect("VC-JWT").to_owned();
    let ldp = issued[3].clone();

    // Each format as it is.
    let r = check_json(&t, json!({ "credential": sd })).await;
    assert_verified(&r, "dc+sd-jwt");
    assert_eq!(check(&r, "vct"), Some(true));
    assert_eq!(
        r["disclosed"]["credential"][0]["ld"]["name"],
        "Digital Supporter — Level 1"
    );
    for jwt in [&es, &rs] {
        let r = check_json(&t, json!({ "credential": jwt })).await;
        assert_verified(&r, "jwt_vc_json");
        assert_eq!(check(&r, "jwt_claims"), Some(true));
        assert!(detail(&r, "status").contains("suspension list"), "{r:#}");
    }
    let r = check_json(&t, json!({ "credential": ldp })).await;
    assert_verified(&r, "ldp_vc");

    // Baked: a VC-JWT in a PNG, the ldp_vc JSON and the SD-JWT in SVGs.
    let png = protocol::baked::bake_png(&badge_png("baked"), &es).expect("bakes");
    let (s, r) = check_file(&t, "image/png", png).await;
    assert_eq!(s, 200, "{r}");
    assert_verified(&r, "jwt_vc_json");
    let svg =
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="4"/></svg>"#;
    for (credential, format) in [(ldp.to_string(), "ldp_vc"), (sd.clone(), "dc+sd-jwt")] {
        let baked = protocol::baked::bake_svg(svg, &credential).expect("bakes");
        let (s, r) = check_file(&t, "image/svg+xml", baked.into_bytes()).await;
        assert_eq!(s, 200, "{r}");
        assert_verified(&r, format);
    }
    // Not a badge at all: a 400 naming the body.
    let (s, r) = check_file(&t, "image/svg+xml", svg.as_bytes().to_vec()).await;
    assert_eq!(s, 400, "{r}");
    assert_eq!(r["field"], "body");
    let (s, _) = check_file(&t, "image/gif", b"GIF89a".to_vec()).await;
    assert_eq!(s, 400);

    // Tampered signature.
    let r = check_json(&t, json!({ "credential": tamper(&es) })).await;
    assert_eq!(failed_checks(&r), ["issuer_signature"], "{r:#}");
    assert_eq!(r["state"], "rejected");
    assert!(r["disclosed"].as_object().unwrap().is_empty());
    let mut forged = ldp.clone();
    forged["credentialSubject"]["achievement"]["name"] = json!("Expert in everything");
    let r = check_json(&t, json!({ "credential": forged })).await;
    assert_eq!(failed_checks(&r), ["issuer_signature"], "{r:#}");

    // An unknown key: the credential re-signed with a key the issuer never published.
    let jws = protocol::jose::Jws::decode(&es).expect("JWS");
    let did = protocol::did::did_web_from_url(t.issuer()).expect("did:web");
    let stranger = SigningKey::generate(Alg::ES256);
    let unknown = protocol::jose::Jws::sign(
        protocol::jose::header("JWT", Some(&format!("{did}#key-9"))),
        &jws.payload,
        &stranger,
    );
    let r = check_json(&t, json!({ "credential": unknown })).await;
    assert_eq!(failed_checks(&r), ["issuer_key"], "{r:#}");

    // A schema violation, properly signed by its own did:jwk issuer.
    let mut vc = Value::Object(jws.payload.clone());
    for claim in [
        "iss",
        "jti",
        "nbf",
        "exp",
        "sub",
        "credentialStatus",
        "relatedResource",
    ] {
        vc.as_object_mut().unwrap().remove(claim);
    }
    let signer = SigningKey::generate(Alg::ES256);
    let signer_did = protocol::did::did_jwk(&protocol::keys::Signer::public_jwk(&signer));
    vc["issuer"]["id"] = json!(signer_did);
    vc["credentialSubject"]["achievement"]
        .as_object_mut()
        .unwrap()
        .remove("description");
    let invalid = protocol::vc::jwt::sign(&vc, &format!("{signer_did}#0"), &signer).expect("signs");
    let r = check_json(&t, json!({ "credential": invalid })).await;
    assert_eq!(failed_checks(&r), ["ob3_schema"], "{r:#}");
    assert_eq!(
        check(&r, "issuer_key"),
        Some(true),
        "did:jwk resolves: {r:#}"
    );

    // The achievement image changed after issuance.
    let (s, _) = put_image(&t, &achievement, badge_png("another image")).await;
    assert_eq!(s, 200);
    for credential in [json!(sd), json!(es), ldp.clone()] {
        let r = check_json(&t, json!({ "credential": credential })).await;
        assert_eq!(failed_checks(&r), ["image_digest"], "{r:#}");
        assert!(
            detail(&r, "image_digest").contains("does not match its digestSRI"),
            "{r:#}"
        );
    }
    let (s, _) = put_image(&t, &achievement, badge_png("the badge image")).await;
    assert_eq!(s, 200);

    // Suspended, then revoked, on the Token Status List (SD-JWT) and the Bitstring Status
    // Lists (VC-JWT, ldp_vc): one badge, one status, so naming any one credential changes
    // every form. The lists are cached for their ttl, so time moves past it.
    for (named, state) in [(SD_JWT, "suspended"), (LDP_VC, "revoked")] {
        set_status(&t, &credential_id(&t, &offer, named).await, state).await;
        t.stack.clock.advance(3700);
        for credential in [json!(sd), json!(es), json!(rs), ldp.clone()] {
            let r = check_json(&t, json!({ "credential": credential })).await;
            assert_eq!(failed_checks(&r), ["status"], "{r:#}");
            assert!(detail(&r, "status").starts_with(state), "{state}: {r:#}");
        }
    }
    t.stack.stop().await;
}

#[tokio::test]
async fn validity_and_trust_fail_alone() {
    let t = TestStack::start_with(|c| {
        c.verifier.trusted_issuers = vec!["https://trusted.example".into()];
    })
    .await;
    let holder = holder_key();
    let (offer, _, _) = offer_with_image(&t, Some(1)).await;
    let issued = issue(&t, &offer, &[SD_JWT, JWT_VC_ES256, LDP_VC], &holder).await;
    // The Data Integrity proof is judged alone: outside the validity period only
    // `validity` fails, whatever the system clock says.
    let credentials = [json!(issued[0]), json!(issued[1]), issued[2].clone()];

    // Not on the trust list.
    for c in &credentials {
        let r = check_json(&t, json!({ "credential": c })).await;
        assert_eq!(failed_checks(&r), ["trust"], "{r:#}");
        assert!(detail(&r, "trust").contains("is not on the trust list"));
    }
    // Not yet valid (the clock set back), then expired (two days on).
    t.stack.clock.advance(-3600);
    for c in &credentials {
        let r = check_json(&t, json!({ "credential": c })).await;
        assert_eq!(failed_checks(&r), ["validity", "trust"], "{r:#}");
    }
    t.stack.clock.advance(3600 + 2 * 86_400);
    for c in &credentials {
        let r = check_json(&t, json!({ "credential": c })).await;
        assert_eq!(failed_checks(&r), ["validity", "trust"], "{r:#}");
        assert!(detail(&r, "validity").contains("xpired"), "{r:#}");
    }
    t.stack.stop().await;
}

// ---- badge pages ----

/// A stand-in for the wallet's public badge pages, serving real credentials.
pub(crate) struct BadgePages {
    pub url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for BadgePages {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

/// A GET route answering `body` as `media_type`.
fn serve(body: String, media_type: &'static str) -> axum::routing::MethodRouter {
    axum::routing::get(move || {
        let body = body.clone();
        async move { typed(body, media_type) }
    })
}

fn typed(body: String, media_type: &'static str) -> axum::response::Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    r
}

/// One badge issued in its three forms (SD-JWT VC, `ldp_vc`, VC-JWT) and served by
/// [`badge_pages`]; the credentials are returned too.
pub(crate) async fn issued_badge_pages(t: &TestStack) -> (Vec<Value>, BadgePages) {
    let holder = holder_key();
    let (offer, _, _) = offer_with_image(t, None).await;
    let issued = issue(t, &offer, &[SD_JWT, LDP_VC, JWT_VC_ES256], &holder).await;
    let pages = badge_pages(
        issued[0].as_str().unwrap().to_owned(),
        issued[1].clone(),
        issued[2].as_str().unwrap().to_owned(),
    )
    .await;
    (issued, pages)
}

/// Serves `/p/good` (both alternates), `/p/ldp` (only the JSON one), `/p/private` (404),
/// `/p/elsewhere` (a link to another origin) and `/direct` (a VC-JWT as such).
pub(crate) async fn badge_pages(sd_jwt: String, ldp: Value, vc_jwt: String) -> BadgePages {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let page = |links: &str| {
        format!(
            "<!doctype html><html><head><title>Badge</title>{links}</head><body><h1>Digital Supporter</h1></body></html>"
        )
    };
    let good = page(concat!(
        "<link rel=\"alternate\" type=\"application/vc+ld+json\" href=\"/p/good/credential.json\">",
        "<link rel=\"alternate\" type=\"application/dc+sd-jwt\" href=\"/p/good/credential\">"
    ));
    let ldp_only =
        page("<link rel=\"alternate\" type=\"application/vc+ld+json\" href=\"credential.json\">");
    let elsewhere = page(&format!(
        "<link rel=\"alternate\" type=\"application/dc+sd-jwt\" href=\"http://localhost:{port}/p/good/credential\">"
    ));
    let ldp_text = ldp.to_string();
    let app = axum::Router::new()
        .route("/p/good", serve(good, "text/html; charset=utf-8"))
        .route("/p/good/credential", serve(sd_jwt, "application/dc+sd-jwt"))
        .route(
            "/p/good/credential.json",
            serve(ldp_text.clone(), "application/vc+ld+json"),
        )
        .route("/p/ldp/", serve(ldp_only, "text/html"))
        .route(
            "/p/ldp/credential.json",
            serve(ldp_text, "application/vc+ld+json"),
        )
        .route("/p/private", get(|| async { StatusCode::NOT_FOUND }))
        .route("/p/elsewhere", serve(elsewhere, "text/html"))
        .route("/direct", serve(vc_jwt, "application/jwt"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    BadgePages {
        url: format!("http://127.0.0.1:{port}"),
        shutdown: Some(tx),
    }
}

/// The `/check` page's CSRF cookie (`name=value`) and token.
pub(crate) async fn check_page_csrf(t: &TestStack) -> (String, String) {
    let r = t
        .http
        .get(format!("{}/check", t.verifier()))
        .send()
        .await
        .expect("check page");
    assert_eq!(r.status().as_u16(), 200);
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a CSRF cookie")
        .to_owned();
    let html = r.text().await.expect("HTML");
    let token = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF token")
        .to_owned();
    (cookie, token)
}

#[tokio::test]
async fn badge_page_urls_are_followed_and_the_check_page_works_without_a_wallet() {
    let t = TestStack::start().await;
    let (issued, pages) = issued_badge_pages(&t).await;

    // The page's SD-JWT is preferred; a page with only the JSON credential gives that.
    let r = check_json(&t, json!({ "url": format!("{}/p/good", pages.url) })).await;
    assert_verified(&r, "dc+sd-jwt");
    assert_eq!(check(&r, "source"), Some(true));
    assert!(
        detail(&r, "source").contains("/p/good/credential (application/dc+sd-jwt)"),
        "{r:#}"
    );
    let r = check_json(&t, json!({ "url": format!("{}/p/ldp/", pages.url) })).await;
    assert_verified(&r, "ldp_vc");
    let r = check_json(&t, json!({ "url": format!("{}/direct", pages.url) })).await;
    assert_verified(&r, "jwt_vc_json");
    assert!(
        detail(&r, "source").contains("is a credential (application/jwt)"),
        "{r:#}"
    );

    // A private badge, a link leaving the page's origin, a server that is not there.
    let r = check_json(&t, json!({ "url": format!("{}/p/private", pages.url) })).await;
    assert_eq!(failed_checks(&r), ["source"], "{r:#}");
    assert_eq!(r["state"], "rejected");
    assert!(
        detail(&r, "source").contains("not available (404): private or removed"),
        "{r:#}"
    );
    assert_eq!(check(&r, "issuer_signature"), None);
    let r = check_json(&t, json!({ "url": format!("{}/p/elsewhere", pages.url) })).await;
    assert_eq!(failed_checks(&r), ["source"], "{r:#}");
    assert!(
        detail(&r, "source").contains("leaves the page's origin"),
        "{r:#}"
    );
    // The guarded fetcher: no private addresses even in this loopback-allowing setup.
    let r = check_json(&t, json!({ "url": "http://10.0.0.1/p/x" })).await;
    assert_eq!(failed_checks(&r), ["source"], "{r:#}");

    // The API wants its token.
    let r = t
        .http
        .post(format!("{}/api/check", t.verifier()))
        .json(&json!({ "url": pages.url }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // The page: a pasted URL (no JavaScript needed), CSRF-checked.
    let (cookie, token) = check_page_csrf(&t).await;
    let page_url = format!("{}/p/good", pages.url);
    let post = |form: Vec<(&'static str, String)>, cookie: Option<String>| {
        let mut req = t.http.post(format!("{}/check", t.verifier())).form(&form);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    let r = post(
        vec![("csrf", token.clone()), ("input", page_url.clone())],
        Some(cookie.clone()),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-state=\"verified\""), "{html}");
    assert!(
        html.contains("data-check=\"source\" data-outcome=\"passed\""),
        "{html}"
    );
    assert!(
        html.contains("data-check=\"holder_binding\" data-outcome=\"not checked\""),
        "{html}"
    );
    assert!(html.contains("Digital Supporter"), "{html}");
    let r = post(vec![("input", page_url.clone())], Some(cookie.clone()))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "no CSRF token");
    let r = post(
        vec![("csrf", token.clone()), ("input", page_url.clone())],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 403, "no CSRF cookie");
    // Markup in the input comes back escaped.
    let r = post(
        vec![
            ("csrf", token.clone()),
            ("input", "<script>alert(1)</script>".into()),
        ],
        Some(cookie.clone()),
    )
    .await
    .unwrap();
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );

    // Uploads: a photo of the card's QR code, and a baked badge.
    let upload = |content_type: &'static str, body: Vec<u8>, path: &'static str| {
        t.http
            .post(format!("{}{path}", t.verifier()))
            .header("cookie", cookie.clone())
            .header("x-csrf-token", token.clone())
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let qr = protocol::qr::Qr::new(&page_url).expect("QR").png(5);
    let r = upload("image/png", qr.clone(), "/check/upload")
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-state=\"verified\""), "{html}");
    let baked = protocol::baked::bake_png(&badge_png("b"), issued[2].as_str().unwrap()).unwrap();
    let r = upload("image/png", baked, "/check/upload").await.unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("data-state=\"verified\""), "{html}");
    assert!(html.contains("jwt_vc_json"), "{html}");
    // Camera frames: nothing yet, then the QR code.
    let r = upload("image/png", badge_png("x")[..8].to_vec(), "/check/frame")
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r: Value = upload("image/png", qr, "/check/frame")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["found"], true, "{r}");
    assert_eq!(r["text"], page_url.as_str());
    assert!(
        r["html"]
            .as_str()
            .unwrap()
            .contains("data-state=\"verified\""),
        "{r}"
    );
    let r = t
        .http
        .post(format!("{}/check/frame", t.verifier()))
        .header("cookie", cookie.clone())
        .header("content-type", "image/png")
        .body(badge_png("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "a frame without the CSRF token");
    drop(pages);
    t.stack.stop().await;
}
