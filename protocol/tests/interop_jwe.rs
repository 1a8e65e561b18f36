//! Interop of our compact JWE (`protocol::jose::jwe`: ECDH-ES on P-256, A128GCM/A256GCM,
//! the `direct_post.jwt` encryption of OpenID4VP 1.0 §8.3) with an independent
//! implementation, the npm `jose` package (`interop/jwe.mjs`), in both directions. Needs
//! `npm ci` in `interop/` (interop/README.md); without it the tests fail, never pass.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a failed step is the failure"
)]

#[path = "../../interop/harness.rs"]
mod harness;

use harness::jwe_node;
use protocol::b64;
use protocol::jose::jwe::{self, Enc, EncryptionKey, JweError};
use serde_json::{Value, json};

const PAYLOAD: &str = r#"{"vp_token":{"badge":["eyJ...~WyJ...~eyJ..."]},"state":"b3f1c2"}"#;

/// The private JWK of an encryption key, for `jose`: `d` from `to_secret_bytes()`.
fn private_jwk(key: &EncryptionKey) -> Value {
    let secret = key.to_secret_bytes();
    let (tag, scalar) = secret.split_first().expect("secret bytes");
    assert_eq!((*tag, scalar.len()), (1, 32), "a P-256 key");
    let mut jwk = key.public_jwk().to_value();
    jwk["d"] = Value::String(b64::encode(scalar));
    jwk
}

#[test]
#[ignore = "heavy: run by ./test (npm jose interop package)"]
fn jose_encrypts_we_decrypt() {
    let key = EncryptionKey::generate();
    for enc in Enc::ALL {
        let answer = jwe_node(
            "encrypt",
            &json!({"plaintext": PAYLOAD, "recipient_jwk": key.public_jwk().to_value(),
                    "enc": enc.as_str(), "kid": key.kid()}),
        );
        let compact = answer["jwe"].as_str().expect("jose returns a compact JWE");
        let plain = key.decrypt(compact).expect("we decrypt jose's JWE");
        assert_eq!(plain, PAYLOAD.as_bytes(), "{enc}");
    }
}

#[test]
#[ignore = "heavy: run by ./test (npm jose interop package)"]
fn jose_encryption_to_another_key_is_refused() {
    let key = EncryptionKey::generate();
    let other = EncryptionKey::generate();
    let answer = jwe_node(
        "encrypt",
        &json!({"plaintext": PAYLOAD, "recipient_jwk": other.public_jwk().to_value(),
                "enc": "A256GCM", "kid": key.kid()}),
    );
    let compact = answer["jwe"].as_str().expect("jose returns a compact JWE");
    assert_eq!(key.decrypt(compact), Err(JweError::Decryption));
}

#[test]
#[ignore = "heavy: run by ./test (npm jose interop package)"]
fn we_encrypt_jose_decrypts() {
    let key = EncryptionKey::generate();
    for enc in Enc::ALL {
        let compact = jwe::encrypt(PAYLOAD.as_bytes(), &key.public_jwk(), enc, Some(key.kid()))
            .expect("encrypt to a P-256 key");
        let answer = jwe_node(
            "decrypt",
            &json!({"jwe": compact, "private_jwk": private_jwk(&key)}),
        );
        assert_eq!(answer["ok"], true, "jose refused our JWE: {answer}");
        assert_eq!(answer["plaintext"], PAYLOAD);
        assert_eq!(answer["header"]["alg"], "ECDH-ES");
        assert_eq!(answer["header"]["enc"], enc.as_str());
        assert_eq!(answer["header"]["kid"], key.kid());
    }
    // And jose, too, refuses ours when the ciphertext is altered.
    let compact = jwe::encrypt(b"x", &key.public_jwk(), Enc::A128GCM, Some(key.kid()))
        .expect("encrypt to a P-256 key");
    let mut parts: Vec<String> = compact.split('.').map(str::to_owned).collect();
    let mut ct = b64::decode(&parts[3]).expect("base64url");
    ct[0] ^= 1;
    parts[3] = b64::encode(ct);
    let answer = jwe_node(
        "decrypt",
        &json!({"jwe": parts.join("."), "private_jwk": private_jwk(&key)}),
    );
    assert_eq!(answer["ok"], false, "{answer}");
}
