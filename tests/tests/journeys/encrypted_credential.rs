//! Encrypted Credential Responses (OpenID4VCI 1.0 §8.2, §10; issue 17 item 2): the issuer
//! advertises `credential_response_encryption` (ECDH-ES, A128GCM and A256GCM, no `zip`)
//! and answers a request that gives a key with a compact JWE (`application/jwt`) to it,
//! the key's `kid` copied; encryption parameters it cannot honour are refused as
//! `invalid_encryption_parameters` *before* anything is issued, so the offer stays
//! redeemable; the Akashi wallet asks for encryption whenever an issuer offers it.

use protocol::jose::jwe::{EncryptionKey, protected_header};
use serde_json::{Value, json};

use crate::common::{TestStack, credential_request, holder_key};

/// POSTs a credential request and returns (status, content type, body text).
async fn post(t: &TestStack, token: &str, body: &Value) -> (u16, String, String) {
    let r = t
        .http
        .post(format!("{}/credential", t.issuer()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ct, r.text().await.unwrap())
}

#[tokio::test]
async fn credential_responses_are_encrypted_to_the_key_the_wallet_gives() {
    let t = TestStack::start().await;
    let (_, md) = t
        .get_json(&format!(
            "{}/.well-known/openid-credential-issuer",
            t.issuer()
        ))
        .await;
    assert_eq!(
        md["credential_response_encryption"],
        json!({"alg_values_supported": ["ECDH-ES"], "enc_values_supported": ["A128GCM", "A256GCM"], "encryption_required": false})
    );

    let offer = t.offer(false, Some(365)).await;
    let code = t.pre_authorized_code(&offer).await;
    let (s, token) = t.token(&code, None).await;
    assert_eq!(s, 200, "{token}");
    let token = token["access_token"].as_str().unwrap().to_owned();
    let holder = holder_key();
    let request = |nonce: &str, encryption: Value| {
        let proof = protocol::oid4vci::build_proof_jwt(
            &holder,
            t.issuer(),
            Some(nonce),
            t.stack.clock.now(),
        );
        let mut body = credential_request(vec![proof]);
        body["credential_response_encryption"] = encryption;
        body
    };
    let key = EncryptionKey::generate();
    let public = key.public_jwk().to_value();

    // Parameters the issuer cannot honour: refused by name, nothing issued.
    let mut with_private = public.clone();
    with_private["d"] = json!("AAAA");
    let rsa = json!({"kty": "RSA", "n": "sXch", "e": "AQAB"});
    for (encryption, says) in [
        (
            json!({"jwk": with_private, "enc": "A256GCM"}),
            "private key",
        ),
        (
            json!({"jwk": public, "enc": "A192GCM"}),
            "\"A192GCM\" is not supported",
        ),
        (
            json!({"jwk": public, "enc": "A256GCM", "zip": "DEF"}),
            "no compression",
        ),
        (
            json!({"jwk": rsa, "enc": "A256GCM"}),
            "credential_response_encryption.jwk",
        ),
        (
            json!({"jwk": {"kty": "EC", "crv": "P-256", "x": public["x"], "y": public["y"], "alg": "ECDH-ES+A128KW"}, "enc": "A128GCM"}),
            "\"ECDH-ES+A128KW\" is not supported",
        ),
    ] {
        let nonce = t.nonce().await;
        let (status, _, body) = post(&t, &token, &request(&nonce, encryption)).await;
        assert_eq!(status, 400, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"], "invalid_encryption_parameters", "{body}");
        assert!(
            body["error_description"].as_str().unwrap().contains(says),
            "{body} should say {says}"
        );
    }

    // A good key: a JWE to it, with its kid; the plaintext is the credential response.
    let nonce = t.nonce().await;
    let (status, ct, jwe) = post(
        &t,
        &token,
        &request(&nonce, json!({"jwk": public, "enc": "A256GCM"})),
    )
    .await;
    assert_eq!(status, 200, "{jwe}");
    assert_eq!(ct, "application/jwt");
    let header = protected_header(&jwe).unwrap();
    assert_eq!(header["alg"], "ECDH-ES");
    assert_eq!(header["enc"], "A256GCM");
    assert_eq!(header["kid"], json!(key.kid()));
    let plain: Value = serde_json::from_slice(&key.decrypt(&jwe).unwrap()).unwrap();
    let sd_jwt = plain["credentials"][0]["credential"].as_str().unwrap();
    assert!(sd_jwt.contains('~'), "{plain}");
    // Another key cannot read it.
    assert!(EncryptionKey::generate().decrypt(&jwe).is_err());
    t.stack.stop().await;
}

/// The Akashi wallet receives from the issuer, which offers encryption, so the wallet
/// asks for it (a plain answer to such a request is refused as a downgrade: the unit
/// test `an_encrypted_response_is_opened_and_a_plain_or_foreign_one_refused`).
#[tokio::test]
async fn the_wallet_receives_with_an_encrypted_response() {
    let t = TestStack::start().await;
    let wallet = &t.stack.wallet.app;
    let now = t.stack.clock.now();
    let account = wallet.ensure_account("default", now).await.unwrap();
    let offer = t.offer(false, Some(365)).await;
    let accepted = wallet
        .accept(&account, offer["offer_link"].as_str().unwrap(), None, now)
        .await
        .expect("received, encrypted");
    assert_eq!(accepted.credentials.len(), 1);
    t.stack.stop().await;
}
