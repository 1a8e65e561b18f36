//! The journey through the wallet's JSON API, as a headless client would drive it: accept
//! a PIN-protected offer, list the badge, scan the verifier's QR code (decoded from the
//! verifier's PNG by a real QR decoder, `zbarimg`), present only the chosen claim.

use serde_json::{Value, json};

use crate::common::{TestStack, check, zbarimg};

async fn wallet_call(
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
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.expect("wallet API");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn headless_wallet_receives_and_presents_over_its_api() {
    let t = TestStack::start().await;
    let wallet = &t.stack.wallet.app;
    let account = wallet
        .ensure_account("default", t.stack.clock.now())
        .await
        .expect("account");
    let token = wallet.rotate_api_token(&account).await.expect("token");

    let (s, body) = wallet_call(
        &t,
        "wrong-token",
        reqwest::Method::GET,
        "/api/credentials",
        None,
    )
    .await;
    assert_eq!(s, 401, "{body}");

    // A PIN-protected offer: refused without the PIN, accepted with it.
    let offer = t.offer(true, Some(365)).await;
    let link = offer["offer_link"].as_str().unwrap();
    let (s, body) = wallet_call(
        &t,
        &token,
        reqwest::Method::POST,
        "/api/accept",
        Some(json!({"offer": link})),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(body.to_string().contains("PIN"), "{body}");
    let pin = offer["tx_code"].as_str().unwrap();
    let (s, body) = wallet_call(
        &t,
        &token,
        reqwest::Method::POST,
        "/api/accept",
        Some(json!({"offer": link, "tx_code": pin})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, list) = wallet_call(&t, &token, reqwest::Method::GET, "/api/credentials", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        list["credentials"].as_array().map(Vec::len),
        Some(1),
        "{list}"
    );
    assert_eq!(
        list["credentials"][0]["achievement_name"],
        "Digital Supporter — Level 1"
    );

    // The verifier's QR code, read by a real decoder, is the openid4vp:// link.
    let request = t.verifier_request().await;
    let png = t
        .http
        .get(request["qr_png"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    let scanned = zbarimg(&png.bytes().await.unwrap());
    assert_eq!(scanned, request["openid4vp_uri"].as_str().unwrap());
    let svg = t
        .http
        .get(request["qr_svg"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");

    // Present only the recipient's name.
    let (s, body) = wallet_call(
        &t,
        &token,
        reqwest::Method::POST,
        "/api/present",
        Some(json!({"request": scanned, "disclose": ["/ld/credentialSubject/identifier/0"]})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    assert_eq!(check(&result, "dcql"), Some(true));
    assert!(
        !result["disclosed"].to_string().contains("emailAddress"),
        "{result:#}"
    );
    t.stack.stop().await;
}
