//! Defects found in `protocol::sd_jwt` while checking it against RFC 9901 and independent
//! implementations. Each test fails until the defect is fixed on main; they are
//! sd_jwt_findings -- --ignored`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a failed step is the failure"
)]

use protocol::jose;
use protocol::keys::{Alg, Signer, SigningKey};
use protocol::sd_jwt::{self, SdJwtError, TYP_DC_SD_JWT};
use serde_json::{Map, Value, json};

fn claims(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("object literal"),
    }
}

/// `SdJwt::verify` reads `exp`/`nbf` with `Value::as_i64`, so a NumericDate with a
/// fraction (RFC 7519 §2 allows non-integer values) is skipped: an expired credential
/// passes.
#[test]
fn fractional_exp_is_checked() {
    let issuer = SigningKey::generate(Alg::ES256);
    let sd = sd_jwt::issue(
        claims(json!({"iss": "https://i.example", "exp": 1000.5, "nbf": 9000.5})),
        &[],
        0,
        jose::header(TYP_DC_SD_JWT, None),
        &issuer,
    )
    .expect("issues");
    let key = issuer.public_jwk().verifying_key().expect("key");
    assert!(matches!(
        sd.verify(&key, &[TYP_DC_SD_JWT], 5000, 0),
        Err(SdJwtError::Expired { .. }) | Err(SdJwtError::NotYetValid { .. })
    ));
}
