//! The desk's "Pick a badge saved on this device" through the browser's Digital Credentials API
//! (issue 17 item 5; OpenID4VP 1.0 Appendix A), in Chromium. No platform wallet is
//! available here, so `navigator.credentials.get` is replaced, before the page's scripts
//! run, by a test double that records the request it receives and waits; the test reads the
//! request, has the REAL wallet library answer it for the page's origin
//! ([`holder_agent::App::answer_dc_api`]), and hands that answer back as the
//! `DigitalCredential` the double resolves with. The page posts it to the verifier, which
//! verifies it through the Response Endpoint's pipeline and shows the verdict.
//!
//! Signed (`x509_hash:`, `dc_api.jwt`; `decentralized_identifier:`, `dc_api`) and unsigned
//! (`redirect_uri:`, `dc_api`) requests, in English and Japanese, with screenshots at 390
//! and 1280 px (axe-core on each); then the attacks: an answer replayed to another request
//! (nonce), an answer made for another origin (audience; and a signed request's
//! `expected_origins` refused by the wallet), a signed request forged with the verifier's
//! `x5c`, an answer posted without the desk session's CSRF token or without the session, a
//! presentation of a forged issuer's badge, and a tampered JWE.

use akashi_tests::browser::Browser;
use protocol::jose::Jws;
use protocol::keys::{Alg, Signer, SigningKey};
use protocol::oid4vp::dc_api::{PROTOCOL_SIGNED, PROTOCOL_UNSIGNED, web_origin};
use serde_json::{Value, json};

use crate::common::{TestStack, VERIFIER_TOKEN, check, failed_checks, holder_key};
use crate::counterfeit::re_sign;
use crate::presentation::present;

const TEST: &str = "dc_api";

/// The test double of the Digital Credentials API: `DigitalCredential` exists (the page's
/// feature test), and `navigator.credentials.get` records each call's options and the
/// page's origin in `window.__dcApi`, answering when the test calls its `resolve` or
/// `reject`.
const DOUBLE: &str = r#"
(function () {
  if (!("DigitalCredential" in window)) { window.DigitalCredential = function DigitalCredential() {}; }
  var calls = [];
  window.__dcApi = calls;
  navigator.credentials.get = function (options) {
    return new Promise(function (resolve, reject) {
      calls.push({ options: JSON.parse(JSON.stringify(options)), origin: window.location.origin,
                   resolve: resolve, reject: reject });
    });
  };
})();
"#;

/// What the double received: protocol, data, the page's origin, the whole options.
struct Asked {
    protocol: String,
    data: Value,
    origin: String,
    options: Value,
}

async fn sign_in(desk: &Browser, t: &TestStack) {
    desk.goto(&format!("{}/desk", t.verifier())).await.unwrap();
    desk.fill("#token", VERIFIER_TOKEN).await.unwrap();
    desk.click("#sign-in").await.unwrap();
    desk.wait_until(
        "return document.getElementById('create') !== null;",
        "the new-request form",
    )
    .await
    .unwrap();
}

/// Creates a request (through the API, with `options`) and opens its desk page; returns
/// its id once the page offers the wallet on this device.
async fn open_request(desk: &Browser, t: &TestStack, options: Value) -> String {
    let request = t.verifier_request_with(options).await;
    let id = request["id"].as_str().unwrap().to_owned();
    desk.goto(&format!("{}/desk/requests/{id}", t.verifier()))
        .await
        .unwrap();
    desk.wait_until(
        "var b = document.getElementById('dc-api'); return b !== null && !b.hidden;",
        "the Digital Credentials API button shown",
    )
    .await
    .unwrap();
    id
}

/// Clicks the button and returns what the double received.
async fn ask(desk: &Browser) -> Asked {
    let before = desk
        .execute("return window.__dcApi.length;", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    desk.click("#dc-api-button").await.unwrap();
    desk.wait_until(
        &format!("return window.__dcApi.length > {before};"),
        "navigator.credentials.get called",
    )
    .await
    .unwrap();
    let call = desk
        .execute(
            "var c = window.__dcApi[window.__dcApi.length - 1]; return {options: c.options, origin: c.origin};",
            vec![],
        )
        .await
        .unwrap();
    let requests = call["options"]["digital"]["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{call}");
    Asked {
        protocol: requests[0]["protocol"].as_str().unwrap().to_owned(),
        data: requests[0]["data"].clone(),
        origin: call["origin"].as_str().unwrap().to_owned(),
        options: call["options"].clone(),
    }
}

/// The double answers the last call with `data` as the `DigitalCredential`'s.
async fn resolve(desk: &Browser, protocol: &str, data: &Value) {
    desk.execute(
        "window.__dcApi[window.__dcApi.length - 1].resolve({protocol: arguments[0], data: arguments[1]}); return true;",
        vec![json!(protocol), data.clone()],
    )
    .await
    .unwrap();
}

/// Posts `data` as the page does (its cookies; its CSRF token when `csrf`); returns the
/// status and body.
async fn post_from_page(desk: &Browser, id: &str, data: &Value, csrf: bool) -> (u16, Value) {
    let v = desk
        .execute(
            "var body = new URLSearchParams();
             if (arguments[1]) { body.set('csrf', document.getElementById('dc-api').getAttribute('data-csrf')); }
             body.set('data', arguments[0]);
             return fetch(arguments[2], {method: 'POST', credentials: 'same-origin', body: body})
               .then(function (r) { return r.text().then(function (t) { return [r.status, t]; }); });",
            vec![
                json!(data.to_string()),
                json!(csrf),
                json!(format!("/desk/requests/{id}/dc-api")),
            ],
        )
        .await
        .unwrap();
    let body = serde_json::from_str(v[1].as_str().unwrap_or_default()).unwrap_or(Value::Null);
    (v[0].as_u64().unwrap() as u16, body)
}

/// The claims of a signed request's Request Object, its header checked.
fn request_object(asked: &Asked) -> (Value, Value) {
    let jws = Jws::decode(asked.data["request"].as_str().unwrap()).unwrap();
    jws.expect_typ(&["oauth-authz-req+jwt"]).unwrap();
    (Value::Object(jws.header), Value::Object(jws.payload))
}

/// The parts every request has: a fresh nonce, the badge query, no `state` or URIs.
fn assert_request_shape(params: &Value, mode: &str) {
    assert_eq!(params["response_type"], "vp_token", "{params:#}");
    assert_eq!(params["response_mode"], mode, "{params:#}");
    assert!(params["nonce"].as_str().unwrap().len() >= 22, "{params:#}");
    assert_eq!(
        params["dcql_query"]["credentials"][0]["id"], "badge",
        "{params:#}"
    );
    assert_eq!(
        params["dcql_query"]["credentials"][0]["format"], "dc+sd-jwt",
        "{params:#}"
    );
    for absent in ["state", "response_uri", "redirect_uri"] {
        assert!(params.get(absent).is_none(), "{absent}: {params:#}");
    }
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn the_desk_asks_a_wallet_on_this_device_and_shows_the_verdict() {
    let t = TestStack::start().await;
    let wallet = &t.stack.wallet.app;
    let account = t.wallet_with_badge().await;
    let origin = web_origin(&url::Url::parse(t.verifier()).unwrap());
    let mut desk = Browser::start(TEST).await.unwrap();
    desk.before_each_page(DOUBLE).await.unwrap();
    sign_in(&desk, &t).await;

    // 1. English, a HAIP-style request: x509_hash:, signed, dc_api.jwt.
    let id = open_request(
        &desk,
        &t,
        json!({"client_id_prefix": "x509_hash", "response_mode": "direct_post.jwt"}),
    )
    .await;
    assert_eq!(
        desk.text("#dc-api-button").await.unwrap(),
        "Pick a badge saved on this device"
    );
    desk.screenshots("dc-api-button-en").await.unwrap();
    let asked = ask(&desk).await;
    assert_eq!(asked.origin, origin);
    assert_eq!(asked.options["mediation"], "required");
    assert_eq!(asked.protocol, PROTOCOL_SIGNED);
    assert_eq!(
        asked.data.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["request"]
    );
    let (header, claims) = request_object(&asked);
    assert!(
        header["x5c"].as_array().is_some_and(|c| !c.is_empty()),
        "{header}"
    );
    assert_request_shape(&claims, "dc_api.jwt");
    let client_id = claims["client_id"].as_str().unwrap().to_owned();
    assert!(client_id.starts_with("x509_hash:"), "{claims:#}");
    assert_eq!(claims["expected_origins"], json!([origin]), "{claims:#}");
    let jwk = &claims["client_metadata"]["jwks"]["keys"][0];
    assert_eq!((&jwk["kty"], &jwk["crv"]), (&json!("EC"), &json!("P-256")));
    assert_eq!(
        claims["client_metadata"]["encrypted_response_enc_values_supported"],
        json!(["A128GCM", "A256GCM"])
    );
    desk.wait_for_text("#dc-api-status", "Waiting for the wallet")
        .await
        .unwrap();
    let answer = wallet
        .answer_dc_api(
            &account,
            &asked.protocol,
            &asked.data,
            &asked.origin,
            t.stack.clock.now(),
        )
        .await
        .expect("the wallet answers the signed request");
    assert_eq!(answer.audience, client_id);
    assert!(answer.signed_by.is_some());
    assert!(
        answer.data["response"].as_str().is_some(),
        "{:#}",
        answer.data
    );
    resolve(&desk, &asked.protocol, &answer.data).await;
    desk.wait_for_text("#verdict", "Verified").await.unwrap();
    desk.wait_for_text("#dc-api-status", "The wallet answered")
        .await
        .unwrap();
    let result = t.result(&id).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    for name in [
        "audience",
        "nonce",
        "response_encryption",
        "issuer_signature",
        "status",
    ] {
        assert_eq!(check(&result, name), Some(true), "{name}: {result:#}");
    }
    desk.screenshots("dc-api-verified-en").await.unwrap();
    // The same answer again: the request was answered once.
    let (status, body) = post_from_page(&desk, &id, &answer.data, true).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("already received"),
        "{body}"
    );

    // 2. Japanese, an unsigned request (redirect_uri:, dc_api): no client_id, the
    // presentation bound to origin:<the page's origin>.
    desk.goto(&format!("{}/lang/ja?next=%2Fdesk", t.verifier()))
        .await
        .unwrap();
    let id = open_request(&desk, &t, json!({"client_id_prefix": "redirect_uri"})).await;
    assert_eq!(
        desk.text("#dc-api-button").await.unwrap(),
        "この端末に保存したバッジから選ぶ"
    );
    desk.screenshots("dc-api-button-ja").await.unwrap();
    let asked = ask(&desk).await;
    assert_eq!(asked.protocol, PROTOCOL_UNSIGNED);
    assert_request_shape(&asked.data, "dc_api");
    assert!(asked.data.get("client_id").is_none(), "{:#}", asked.data);
    let answer = wallet
        .answer_dc_api(
            &account,
            &asked.protocol,
            &asked.data,
            &asked.origin,
            t.stack.clock.now(),
        )
        .await
        .expect("the wallet answers the unsigned request");
    assert_eq!(answer.audience, format!("origin:{origin}"));
    assert!(
        answer.data["vp_token"]["badge"].is_array(),
        "{:#}",
        answer.data
    );
    resolve(&desk, &asked.protocol, &answer.data).await;
    desk.wait_for_text("#verdict", "確認済み").await.unwrap();
    desk.wait_for_text("#dc-api-status", "ウォレットが応答しました")
        .await
        .unwrap();
    assert_eq!(t.result(&id).await["state"], "verified");
    desk.screenshots("dc-api-verified-ja").await.unwrap();

    // 3. A did:web-signed request (the desk's default client) answered as dc_api, after
    // the holder first closed the wallet and then found none that could answer: each said
    // in plain words, the button offered again.
    desk.goto(&format!("{}/lang/en?next=%2Fdesk", t.verifier()))
        .await
        .unwrap();
    let id = open_request(&desk, &t, json!({})).await;
    for (name, said) in [
        (
            "NotAllowedError",
            "The wallet was closed before it answered",
        ),
        ("NotSupportedError", "No wallet on this device can answer"),
    ] {
        ask(&desk).await;
        desk.execute(
            "window.__dcApi[window.__dcApi.length - 1].reject(new DOMException('test double', arguments[0])); return true;",
            vec![json!(name)],
        )
        .await
        .unwrap();
        desk.wait_for_text("#dc-api-status", said).await.unwrap();
        assert_eq!(
            desk.execute(
                "return [document.getElementById('dc-api-button').disabled, document.getElementById('dc-api-technical').hidden, document.getElementById('dc-api-detail').textContent];",
                vec![]
            )
            .await
            .unwrap(),
            json!([false, false, format!("{name}: test double")])
        );
    }
    assert_eq!(t.result(&id).await["state"], "pending");
    let asked = ask(&desk).await;
    assert_eq!(asked.protocol, PROTOCOL_SIGNED);
    let (header, claims) = request_object(&asked);
    assert!(
        header["kid"].as_str().unwrap().starts_with("did:web:"),
        "{header}"
    );
    assert_request_shape(&claims, "dc_api");
    let answer = wallet
        .answer_dc_api(
            &account,
            &asked.protocol,
            &asked.data,
            &asked.origin,
            t.stack.clock.now(),
        )
        .await
        .expect("the wallet answers the did:web-signed request");
    resolve(&desk, &asked.protocol, &answer.data).await;
    desk.wait_for_text("#verdict", "Verified").await.unwrap();
    assert_eq!(t.result(&id).await["state"], "verified");
    // An answered request is offered no more.
    desk.goto(&format!("{}/desk/requests/{id}", t.verifier()))
        .await
        .unwrap();
    assert_eq!(
        desk.execute("return document.getElementById('dc-api').hidden;", vec![])
            .await
            .unwrap(),
        json!(true)
    );
    desk.quit().await;

    // 4. A browser without the Digital Credentials API: no button, the QR code as before.
    let plain = Browser::start(&format!("{TEST}_without")).await.unwrap();
    plain
        .before_each_page("delete window.DigitalCredential;")
        .await
        .unwrap();
    sign_in(&plain, &t).await;
    let request = t.verifier_request().await;
    plain
        .goto(&format!(
            "{}/desk/requests/{}",
            t.verifier(),
            request["id"].as_str().unwrap()
        ))
        .await
        .unwrap();
    plain.find("#qr").await.unwrap();
    assert_eq!(
        plain
            .execute(
                "return [('DigitalCredential' in window), document.getElementById('dc-api').hidden];",
                vec![]
            )
            .await
            .unwrap(),
        json!([false, true])
    );
    plain.quit().await;
    t.stack.stop().await;
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn answers_that_are_not_this_requests_own_are_refused_by_name() {
    let t = TestStack::start().await;
    let wallet = &t.stack.wallet.app;
    let account = t.wallet_with_badge().await;
    let desk = Browser::start(&format!("{TEST}_attacks")).await.unwrap();
    desk.before_each_page(DOUBLE).await.unwrap();
    sign_in(&desk, &t).await;
    let unsigned = json!({"client_id_prefix": "redirect_uri"});
    let now = || t.stack.clock.now();

    // A genuine answer to request 1 …
    let first = open_request(&desk, &t, unsigned.clone()).await;
    let asked = ask(&desk).await;
    let answer = wallet
        .answer_dc_api(&account, &asked.protocol, &asked.data, &asked.origin, now())
        .await
        .unwrap();
    resolve(&desk, &asked.protocol, &answer.data).await;
    desk.wait_for_text("#verdict", "Verified").await.unwrap();
    assert_eq!(t.result(&first).await["state"], "verified");

    // 1. … replayed to request 2: the KB-JWT carries request 1's nonce.
    let second = open_request(&desk, &t, unsigned.clone()).await;
    let (status, body) = post_from_page(&desk, &second, &answer.data, true).await;
    assert_eq!((status, &body["verified"]), (200, &json!(false)), "{body}");
    let result = t.result(&second).await;
    assert_eq!(result["state"], "rejected", "{result:#}");
    assert_eq!(check(&result, "nonce"), Some(false), "{result:#}");
    assert_eq!(check(&result, "audience"), Some(true), "{result:#}");
    assert_eq!(
        body["failed_checks"],
        json!(failed_checks(&result)),
        "the page is told which checks failed: {body}"
    );

    // 2. An answer made for another origin: bound to origin:https://evil.example.
    let third = open_request(&desk, &t, unsigned.clone()).await;
    let asked = ask(&desk).await;
    let elsewhere = wallet
        .answer_dc_api(
            &account,
            &asked.protocol,
            &asked.data,
            "https://evil.example",
            now(),
        )
        .await
        .unwrap();
    assert_eq!(elsewhere.audience, "origin:https://evil.example");
    resolve(&desk, &asked.protocol, &elsewhere.data).await;
    desk.wait_for_text("#verdict", "Not verified")
        .await
        .unwrap();
    let result = t.result(&third).await;
    assert_eq!(check(&result, "audience"), Some(false), "{result:#}");
    assert_eq!(check(&result, "nonce"), Some(true), "{result:#}");
    // A signed request names its origins: the wallet will not answer it for another.
    let fourth = open_request(&desk, &t, json!({"client_id_prefix": "x509_hash"})).await;
    let asked = ask(&desk).await;
    let refused = wallet
        .answer_dc_api(
            &account,
            &asked.protocol,
            &asked.data,
            "https://evil.example",
            now(),
        )
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("https://evil.example is not among the request's expected_origins"),
        "{refused}"
    );

    // … nor one re-signed by someone else with the verifier's certificate chain in `x5c`
    // (here to add an origin of the attacker's), nor one naming an `origin:` client.
    let jws = Jws::decode(asked.data["request"].as_str().unwrap()).unwrap();
    let attacker = SigningKey::generate(Alg::ES256);
    let forge = |edit: &dyn Fn(&mut Value)| {
        let mut claims = Value::Object(jws.payload.clone());
        edit(&mut claims);
        json!({"request": Jws::sign(jws.header.clone(), &claims, &attacker)})
    };
    let forged = forge(&|c| c["expected_origins"] = json!([asked.origin, "https://evil.example"]));
    let refused = wallet
        .answer_dc_api(
            &account,
            &asked.protocol,
            &forged,
            "https://evil.example",
            now(),
        )
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("signature does not verify"),
        "{refused}"
    );
    let forged = forge(&|c| c["client_id"] = json!(format!("origin:{}", asked.origin)));
    let refused = wallet
        .answer_dc_api(&account, &asked.protocol, &forged, &asked.origin, now())
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("`origin:` is reserved"),
        "{refused}"
    );

    // 3. Without the desk session's CSRF token, and without the session: refused before
    // the answer is looked at; the request stays open and the genuine answer then passes.
    let answer = wallet
        .answer_dc_api(&account, &asked.protocol, &asked.data, &asked.origin, now())
        .await
        .unwrap();
    let (status, body) = post_from_page(&desk, &fourth, &answer.data, false).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("CSRF token"),
        "{body}"
    );
    let r = t
        .http
        .post(format!("{}/desk/requests/{fourth}/dc-api", t.verifier()))
        .form(&[("data", answer.data.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = t
        .http
        .get(format!("{}/desk/requests/{fourth}/dc-api", t.verifier()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        401,
        "the request is not given out either"
    );
    assert_eq!(t.result(&fourth).await["state"], "pending");
    let (status, body) = post_from_page(&desk, &fourth, &answer.data, true).await;
    assert_eq!((status, &body["verified"]), (200, &json!(true)), "{body}");

    // A wallet's own error answer in `data` is stored as such, and not called verified.
    let errored = open_request(&desk, &t, unsigned.clone()).await;
    let (status, body) = post_from_page(
        &desk,
        &errored,
        &json!({"error": "access_denied", "error_description": "declined"}),
        true,
    )
    .await;
    assert_eq!((status, &body["verified"]), (200, &json!(false)), "{body}");
    assert_ne!(t.result(&errored).await["state"], "verified");

    // 4. A forged issuer's badge: the real badge's claims re-signed by an attacker's key
    // under its did:jwk, presented with a correct key binding for this request.
    let fifth = open_request(&desk, &t, unsigned.clone()).await;
    let asked = ask(&desk).await;
    let holder = holder_key();
    let real = t.obtain_credential(&holder, Some(30)).await;
    let attacker = SigningKey::generate(Alg::ES256);
    let did = protocol::did::did_jwk(&attacker.public_jwk());
    let forged = re_sign(&real, &attacker, |claims| claims["iss"] = json!(did));
    let vp = present(
        &forged,
        &holder,
        &format!("origin:{}", asked.origin),
        asked.data["nonce"].as_str().unwrap(),
        now(),
    );
    resolve(
        &desk,
        &asked.protocol,
        &json!({"vp_token": {"badge": [vp]}}),
    )
    .await;
    desk.wait_for_text("#verdict", "Not verified")
        .await
        .unwrap();
    let result = t.result(&fifth).await;
    let failed = failed_checks(&result);
    assert!(failed.contains(&"issuer_binding".to_owned()), "{result:#}");
    assert_eq!(check(&result, "nonce"), Some(true), "{result:#}");
    assert_eq!(check(&result, "audience"), Some(true), "{result:#}");

    // 5. A tampered JWE (dc_api.jwt): one ciphertext character changed.
    let sixth = open_request(
        &desk,
        &t,
        json!({"client_id_prefix": "x509_hash", "response_mode": "direct_post.jwt"}),
    )
    .await;
    let asked = ask(&desk).await;
    let answer = wallet
        .answer_dc_api(&account, &asked.protocol, &asked.data, &asked.origin, now())
        .await
        .unwrap();
    let jwe = answer.data["response"].as_str().unwrap();
    let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
    let flipped = if parts[3].starts_with('A') { "B" } else { "A" };
    parts[3].replace_range(0..1, flipped);
    let tampered = json!({"response": parts.join(".")});
    let (status, body) = post_from_page(&desk, &sixth, &tampered, true).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .starts_with("response_encryption:"),
        "{body}"
    );
    let result = t.result(&sixth).await;
    assert_eq!(result["state"], "rejected", "{result:#}");
    assert_eq!(
        check(&result, "response_encryption"),
        Some(false),
        "{result:#}"
    );
    // A plain vp_token to a dc_api.jwt request is refused the same way.
    let seventh = open_request(
        &desk,
        &t,
        json!({"client_id_prefix": "x509_hash", "response_mode": "direct_post.jwt"}),
    )
    .await;
    let plain = json!({"vp_token": {"badge": ["eyJhbGciOiJub25lIn0.e30.~"]}});
    let (status, _) = post_from_page(&desk, &seventh, &plain, true).await;
    assert_eq!(status, 400);
    let result = t.result(&seventh).await;
    assert_eq!(
        check(&result, "response_encryption"),
        Some(false),
        "{result:#}"
    );

    desk.quit().await;
    t.stack.stop().await;
}
