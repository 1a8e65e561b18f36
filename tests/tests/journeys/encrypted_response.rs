//! `response_mode=direct_post.jwt` (OpenID4VP 1.0 §8.3, HAIP 1.0 §5) end to end: the
//! verifier publishes a per-request ECDH-ES key, our wallet encrypts its response to it
//! and the badge is verified; a response encrypted to another key, or sent in the clear,
//! is refused and the result names the failed `response_encryption` check.

use protocol::jose::jwe::{self, Enc, EncryptionKey};
use protocol::keys::{Jwk, Signer};
use protocol::sd_jwt::{KeyBinding, SdJwt};
use serde_json::{Value, json};

use crate::common::{TestStack, check, failed_checks, holder_key};

const JWT_MODE: &str = "direct_post.jwt";

/// The encryption key the request object publishes, after checking its metadata.
fn published_key(object: &Value) -> Jwk {
    assert_eq!(object["response_mode"], JWT_MODE, "{object:#}");
    let metadata = &object["client_metadata"];
    assert_eq!(
        metadata["encrypted_response_enc_values_supported"],
        json!(["A128GCM", "A256GCM"])
    );
    let keys = metadata["jwks"]["keys"].as_array().expect("jwks.keys");
    assert_eq!(keys.len(), 1, "{metadata:#}");
    assert_eq!(keys[0]["use"], "enc");
    assert_eq!(keys[0]["alg"], "ECDH-ES");
    assert_eq!(keys[0]["crv"], "P-256");
    assert!(keys[0].get("d").is_none(), "no private member is published");
    Jwk::from_value(&keys[0]).expect("a public P-256 JWK")
}

#[tokio::test]
async fn wallet_encrypts_and_the_badge_is_verified() {
    let t = TestStack::start().await;
    let offer = t.offer(false, Some(365)).await;
    let wallet = &t.stack.wallet.app;
    let account = wallet
        .ensure_account("default", t.stack.clock.now())
        .await
        .expect("account");
    wallet
        .accept(
            &account,
            offer["offer_link"].as_str().unwrap(),
            None,
            t.stack.clock.now(),
        )
        .await
        .expect("the wallet accepts the offer");

    let request = t
        .verifier_request_with(json!({"response_mode": JWT_MODE}))
        .await;
    let object = t
        .request_object(request["openid4vp_uri"].as_str().unwrap())
        .await;
    let key = published_key(&object);
    // Each request has its own key.
    let other = t
        .verifier_request_with(json!({"response_mode": JWT_MODE}))
        .await;
    let other_object = t
        .request_object(other["openid4vp_uri"].as_str().unwrap())
        .await;
    assert_ne!(published_key(&other_object).kid, key.kid);

    let presented = wallet
        .present(
            &account,
            request["openid4vp_uri"].as_str().unwrap(),
            None,
            t.stack.clock.now(),
        )
        .await
        .expect("the wallet presents");
    assert_eq!(presented.status, 200, "{:?}", presented.body);
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    assert!(failed_checks(&result).is_empty(), "{result:#}");
    assert_eq!(
        check(&result, "response_encryption"),
        Some(true),
        "{result:#}"
    );
    let detail = result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "response_encryption")
        .map(|c| c["detail"].to_string())
        .unwrap_or_default();
    assert!(
        detail.contains("A256GCM"),
        "the wallet prefers A256GCM: {detail}"
    );
    for name in [
        "issuer_signature",
        "holder_binding",
        "nonce",
        "audience",
        "dcql",
    ] {
        assert_eq!(check(&result, name), Some(true), "{name}: {result:#}");
    }
    assert!(result["disclosed"].to_string().contains("田中 アナ"));
    t.stack.stop().await;
}

/// A key-bound presentation of `credential` for the request object `object`, disclosing
/// the recipient's name as the template asks.
fn presentation(credential: &str, holder: &dyn Signer, object: &Value, iat: i64) -> Value {
    let sd = SdJwt::parse(credential).expect("credential parses");
    let payload = sd.issuer_jwt().expect("issuer JWT").payload;
    let name: Vec<String> = ["ld", "credentialSubject", "identifier", "0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let keep = sd
        .reveal(payload)
        .expect("reveals")
        .disclosures_for(&[name]);
    let vp = sd
        .present(
            &keep,
            Some(KeyBinding {
                aud: object["client_id"].as_str().unwrap(),
                nonce: object["nonce"].as_str().unwrap(),
                iat,
                signer: holder,
                log_entry: None,
            }),
        )
        .serialize();
    json!({ "badge": [vp] })
}

async fn post_response(t: &TestStack, object: &Value, jwe: &str) -> (u16, Value) {
    t.post_form(
        object["response_uri"].as_str().expect("response_uri"),
        &[("response", jwe)],
    )
    .await
}

#[tokio::test]
async fn responses_not_encrypted_to_the_request_key_are_refused() {
    let t = TestStack::start().await;
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, Some(30)).await;
    let now = t.stack.clock.now();

    // Encrypted to a key of our own, under the `kid` of the request's key.
    let request = t
        .verifier_request_with(json!({"response_mode": JWT_MODE}))
        .await;
    let object = t
        .request_object(request["openid4vp_uri"].as_str().unwrap())
        .await;
    let published = published_key(&object);
    let payload = json!({
        "vp_token": presentation(&credential, &holder, &object, now),
        "state": object["state"],
    });
    let stranger = EncryptionKey::generate();
    let compact = jwe::encrypt(
        payload.to_string().as_bytes(),
        &stranger.public_jwk(),
        Enc::A256GCM,
        published.kid.as_deref(),
    )
    .expect("encrypt");
    let (status, body) = post_response(&t, &object, &compact).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains("response_encryption") && description.contains("tag"),
        "{description}"
    );
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "rejected", "{result:#}");
    assert_eq!(
        failed_checks(&result),
        vec!["response_encryption".to_owned()],
        "{result:#}"
    );
    // The same payload, properly encrypted, now comes too late: the request is answered.
    let compact = jwe::encrypt(
        payload.to_string().as_bytes(),
        &published,
        Enc::A128GCM,
        published.kid.as_deref(),
    )
    .expect("encrypt");
    let (status, _) = post_response(&t, &object, &compact).await;
    assert_eq!(status, 400);

    // A plain `vp_token` form sent to a direct_post.jwt request.
    let request = t
        .verifier_request_with(json!({"response_mode": JWT_MODE}))
        .await;
    let object = t
        .request_object(request["openid4vp_uri"].as_str().unwrap())
        .await;
    let (status, body) = t
        .post_vp_token(&object, presentation(&credential, &holder, &object, now))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("response_encryption") && d.contains("plain")),
        "{body}"
    );
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "rejected", "{result:#}");
    assert_eq!(check(&result, "response_encryption"), Some(false));

    // A JWE whose `kid` names no request is refused outright.
    let compact = jwe::encrypt(
        b"{}",
        &stranger.public_jwk(),
        Enc::A128GCM,
        Some(stranger.kid()),
    )
    .expect("encrypt");
    let (status, body) = post_response(&t, &object, &compact).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error_description"].to_string().contains("kid"),
        "{body}"
    );

    // And a plain direct_post request still takes plain forms (control).
    let request = t.verifier_request().await;
    let object = t
        .request_object(request["openid4vp_uri"].as_str().unwrap())
        .await;
    assert_eq!(object["response_mode"], "direct_post");
    assert!(object["client_metadata"].get("jwks").is_none());
    let (status, body) = t
        .post_vp_token(&object, presentation(&credential, &holder, &object, now))
        .await;
    assert_eq!(status, 200, "{body}");
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    assert_eq!(check(&result, "response_encryption"), None);
    t.stack.stop().await;
}
