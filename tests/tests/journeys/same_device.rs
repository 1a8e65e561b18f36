//! OpenID4VP 1.0 request variants, verifier and our wallet together: the `redirect_uri:`
//! client identifier prefix (unsigned request object), `request_uri_method=post` (the
//! wallet POSTs `wallet_metadata` and `wallet_nonce`; the request object echoes the nonce),
//! and the same-device answer to `direct_post`: a `redirect_uri` carrying a fresh
//! `response_code` that the relying application shows back to read the result.

use serde_json::{Value, json};

use crate::common::{TestStack, VERIFIER_TOKEN, check, failed_checks, link_param};

/// POSTs to a `request_uri` as a wallet using `request_uri_method=post` would; returns
/// the request object's JOSE header and claims (unverified) and its signature part.
async fn post_request_uri(t: &TestStack, request_uri: &str, nonce: &str) -> (Value, Value, String) {
    let r = t
        .http
        .post(request_uri)
        .header("accept", "application/oauth-authz-req+jwt")
        .form(&[
            (
                "wallet_metadata",
                r#"{"vp_formats_supported":{"dc+sd-jwt":{}}}"#,
            ),
            ("wallet_nonce", nonce),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/oauth-authz-req+jwt"
    );
    let jwt = r.text().await.unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    let decode = |p: &str| -> Value {
        serde_json::from_slice(&protocol::b64::decode(p).expect("base64url")).expect("JSON")
    };
    (decode(parts[0]), decode(parts[1]), parts[2].to_owned())
}

async fn result_with_code(t: &TestStack, id: &str, code: &str) -> (u16, Value) {
    let r = t
        .http
        .get(format!("{}/api/requests/{id}/result", t.verifier()))
        .query(&[("response_code", code)])
        .bearer_auth(VERIFIER_TOKEN)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn redirect_uri_client_by_post_with_a_response_code() {
    let t = TestStack::start().await;
    let account = t.wallet_with_badge().await;
    let request = t
        .verifier_request_with(json!({
            "client_id_prefix": "redirect_uri",
            "request_uri_method": "post",
            "redirect_uri": "https://app.example/checked",
        }))
        .await;
    let link = request["openid4vp_uri"].as_str().unwrap();
    let client_id = format!("redirect_uri:{}/response", t.verifier());
    assert_eq!(link_param(link, "client_id"), Some(client_id.clone()));
    assert_eq!(
        link_param(link, "request_uri_method").as_deref(),
        Some("post")
    );

    // The request object: unsigned, as a `redirect_uri:` client's must be, with the
    // wallet's nonce echoed.
    let (header, claims, signature) =
        post_request_uri(&t, request["request_uri"].as_str().unwrap(), "wn-1234").await;
    assert_eq!(header["alg"], "none", "{header}");
    assert_eq!(header["typ"], "oauth-authz-req+jwt");
    assert!(signature.is_empty());
    assert_eq!(claims["client_id"], client_id.as_str());
    assert_eq!(claims["wallet_nonce"], "wn-1234");
    assert_eq!(
        claims["response_uri"],
        format!("{}/response", t.verifier()).as_str()
    );
    assert!(claims["client_metadata"]["vp_formats_supported"]["dc+sd-jwt"].is_object());

    // Our wallet fetches it by POST, checks its own nonce came back, and answers; the
    // verifier sends it on to the relying application with a response code.
    let presented = t
        .stack
        .wallet
        .app
        .present(&account, link, None, t.stack.clock.now())
        .await
        .expect("the wallet presents to a redirect_uri: client by POST");
    assert_eq!(presented.status, 200, "{:?}", presented.body);
    assert_eq!(presented.client_id, client_id);
    let redirect = presented
        .redirect_uri
        .expect("a same-device answer names where to go next");
    assert_eq!(presented.body["redirect_uri"], redirect.as_str());
    let (to, code) = redirect
        .split_once("#response_code=")
        .expect("a response code in the fragment");
    assert_eq!(to, "https://app.example/checked");
    assert!(protocol::b64::decode(code).unwrap().len() >= 16, "{code}");

    // The result opens to the code given to this wallet, and only to it.
    let id = request["id"].as_str().unwrap();
    let (status, problem) = result_with_code(&t, id, "not-the-code").await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["field"], "response_code", "{problem}");
    let (status, result) = result_with_code(&t, id, code).await;
    assert_eq!(status, 200, "{result}");
    // Single use: shown back a second time, the code opens nothing.
    let (status, problem) = result_with_code(&t, id, code).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["field"], "response_code", "{problem}");
    assert_eq!(result["state"], "verified", "{result:#}");
    assert!(failed_checks(&result).is_empty(), "{result:#}");
    // The KB-JWT is bound to the full `redirect_uri:` client_id.
    assert_eq!(check(&result, "audience"), Some(true), "{result:#}");
    t.stack.stop().await;
}

#[tokio::test]
async fn signed_request_by_post_echoes_the_wallet_nonce() {
    let t = TestStack::start().await;
    let account = t.wallet_with_badge().await;
    let request = t
        .verifier_request_with(json!({"request_uri_method": "post"}))
        .await;
    let link = request["openid4vp_uri"].as_str().unwrap();
    assert_eq!(
        link_param(link, "request_uri_method").as_deref(),
        Some("post")
    );
    assert!(
        link_param(link, "client_id")
            .unwrap()
            .starts_with("decentralized_identifier:did:web:")
    );
    let (header, claims, signature) =
        post_request_uri(&t, request["request_uri"].as_str().unwrap(), "wn-5678").await;
    assert_eq!(header["alg"], "ES256", "{header}");
    assert!(!signature.is_empty());
    assert_eq!(claims["wallet_nonce"], "wn-5678");

    let presented = t
        .stack
        .wallet
        .app
        .present(&account, link, None, t.stack.clock.now())
        .await
        .expect("the wallet presents by POST");
    assert_eq!(presented.status, 200, "{:?}", presented.body);
    // No redirect_uri was asked for: a cross-device answer is `{}`.
    assert_eq!(presented.redirect_uri, None);
    assert_eq!(presented.body, json!({}));
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    // Without a response code given, none opens the result.
    let (status, _) = result_with_code(&t, request["id"].as_str().unwrap(), "x").await;
    assert_eq!(status, 400);
    t.stack.stop().await;
}

#[tokio::test]
async fn request_variants_are_checked_when_created() {
    let t = TestStack::start().await;
    for (body, field) in [
        (
            json!({"redirect_uri": "https://app.example/done#already"}),
            "redirect_uri",
        ),
        (json!({"redirect_uri": "done"}), "redirect_uri"),
        (
            json!({"client_id_prefix": "verifier_attestation"}),
            "client_id_prefix",
        ),
        (json!({"request_uri_method": "put"}), "request_uri_method"),
    ] {
        let mut req = json!({"template": {"issuer": t.issuer()}});
        req.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        let r = t
            .http
            .post(format!("{}/api/requests", t.verifier()))
            .bearer_auth(VERIFIER_TOKEN)
            .json(&req)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{req}");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["field"], field, "{req}: {problem}");
    }
    t.stack.stop().await;
}
