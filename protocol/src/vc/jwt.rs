//! Open Badges 3.0 VC-JWT (ob3.md §3, OB 3.0 §8.2): the credential JSON is the JWT payload,
//! with the registered claims mirroring it — `iss` = `issuer.id`, `jti` = `id`, `nbf` =
//! `validFrom`, `sub` = `credentialSubject.id`, `exp` = `validUntil` — and a header of `alg`,
//! `kid` and `typ: "JWT"` only. No `vc` claim (that is the VCDM 1.1 form).

use serde_json::{Map, Value};

use crate::jose::{JoseError, Jws};
use crate::keys::{Signer, VerifyingKey};

/// The header `typ` OB 3.0 allows.
pub const TYP_JWT: &str = "JWT";

/// Why a credential could not be signed, or a VC-JWT was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VcJwtError {
    #[error("credential is not a JSON object")]
    NotAnObject,
    #[error("credential has no {0}")]
    Missing(&'static str),
    #[error("credential `{member}` is not an RFC 3339 date-time: {value:?}")]
    BadDate { member: &'static str, value: String },
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// `expected` and `found` are JSON texts (`null` when absent).
    #[error("claim `{claim}` is {found} but the credential says {expected}")]
    ClaimMismatch {
        claim: &'static str,
        expected: String,
        found: String,
    },
    #[error("the credential is not valid before {nbf}")]
    NotYetValid { nbf: i64 },
    #[error("the credential expired at {exp}")]
    Expired { exp: i64 },
}

/// The registered claims the credential `vc` implies.
fn mirrored_claims(vc: &Map<String, Value>) -> Result<Map<String, Value>, VcJwtError> {
    let mut claims = Map::new();
    let issuer = match vc.get("issuer") {
        Some(Value::String(id)) => id.clone(),
        Some(Value::Object(profile)) => profile
            .get("id")
            .and_then(Value::as_str)
            .ok_or(VcJwtError::Missing("issuer.id"))?
            .to_owned(),
        _ => return Err(VcJwtError::Missing("issuer")),
    };
    claims.insert("iss".into(), Value::String(issuer));
    let id = vc
        .get("id")
        .and_then(Value::as_str)
        .ok_or(VcJwtError::Missing("id"))?;
    claims.insert("jti".into(), Value::String(id.to_owned()));
    for (member, claim, required) in [("validFrom", "nbf", true), ("validUntil", "exp", false)] {
        match vc.get(member).and_then(Value::as_str) {
            Some(text) => {
                let t = crate::clock::parse_rfc3339(text).ok_or_else(|| VcJwtError::BadDate {
                    member,
                    value: text.to_owned(),
                })?;
                claims.insert(claim.into(), Value::from(t));
            }
            None if required => return Err(VcJwtError::Missing("validFrom")),
            None => {}
        }
    }
    if let Some(sub) = vc
        .get("credentialSubject")
        .and_then(|s| s.get("id"))
        .and_then(Value::as_str)
    {
        claims.insert("sub".into(), Value::String(sub.to_owned()));
    }
    Ok(claims)
}

/// Signs `credential` as an OB 3.0 VC-JWT with `signer`, naming its key `kid`.
pub fn sign(credential: &Value, kid: &str, signer: &dyn Signer) -> Result<String, VcJwtError> {
    let vc = credential.as_object().ok_or(VcJwtError::NotAnObject)?;
    let mut payload = vc.clone();
    payload.extend(mirrored_claims(vc)?);
    Ok(Jws::sign(
        crate::jose::header(TYP_JWT, Some(kid)),
        &payload,
        signer,
    ))
}

/// The credential a VC-JWT carries (the payload without the registered claims), once its
/// signature verifies with `key`, its `typ` (if any) is `JWT` or `vc+jwt`, its claims
/// mirror the credential, and `now` lies within `nbf`..`exp` (± `leeway` seconds).
pub fn verify(
    compact: &str,
    key: &VerifyingKey,
    now: i64,
    leeway: i64,
) -> Result<Value, VcJwtError> {
    let jws = Jws::decode(compact)?;
    if jws.typ().is_some() {
        jws.expect_typ(&["jwt", "vc+jwt"])?;
    }
    jws.verify(key)?;
    let mut vc = jws.payload.clone();
    let claims = ["iss", "jti", "nbf", "exp", "sub"];
    for claim in claims {
        vc.remove(claim);
    }
    let expected = mirrored_claims(&vc)?;
    for claim in claims {
        let found = jws.payload.get(claim).cloned().unwrap_or(Value::Null);
        let want = expected.get(claim).cloned().unwrap_or(Value::Null);
        if found != want {
            return Err(VcJwtError::ClaimMismatch {
                claim,
                expected: want.to_string(),
                found: found.to_string(),
            });
        }
    }
    if let Some(nbf) = jws.claim_time("nbf")
        && nbf > now + leeway
    {
        return Err(VcJwtError::NotYetValid { nbf });
    }
    if let Some(exp) = jws.claim_time("exp")
        && exp <= now - leeway
    {
        return Err(VcJwtError::Expired { exp });
    }
    Ok(Value::Object(vc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Alg, SigningKey};
    use serde_json::json;

    fn credential() -> Value {
        json!({
            "@context": [crate::ob3::CONTEXT_VC_V2, crate::ob3::CONTEXT_OB_V3P0_3],
            "id": "urn:uuid:2f6b8c1e-4d2a-4b7e-9a51-0c3d5e7f9a10",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {"id": "https://issuer.example", "type": ["Profile"], "name": "Agency"},
            "validFrom": "2026-03-01T09:00:00Z",
            "validUntil": "2027-03-01T09:00:00Z",
            "credentialSubject": {"id": "did:jwk:abc", "type": ["AchievementSubject"]},
        })
    }

    #[test]
    fn claims_mirror_the_credential_for_es256_and_rs256() {
        for alg in [Alg::ES256, Alg::RS256] {
            let key = SigningKey::generate(alg);
            let jwt = sign(&credential(), "https://issuer.example#k", &key).unwrap();
            let jws = Jws::decode(&jwt).unwrap();
            assert_eq!(jws.alg, alg);
            let header: Vec<&str> = jws.header.keys().map(String::as_str).collect();
            assert_eq!(header, ["typ", "kid", "alg"]);
            assert_eq!(jws.typ(), Some("JWT"));
            assert_eq!(jws.claim_str("iss"), Some("https://issuer.example"));
            assert_eq!(
                jws.claim_str("jti"),
                Some("urn:uuid:2f6b8c1e-4d2a-4b7e-9a51-0c3d5e7f9a10")
            );
            assert_eq!(jws.claim_str("sub"), Some("did:jwk:abc"));
            assert_eq!(jws.claim_time("nbf"), Some(1_772_355_600));
            assert_eq!(jws.claim_time("exp"), Some(1_803_891_600));
            assert!(jws.payload.get("vc").is_none());
            let vk = key.public_jwk().verifying_key().unwrap();
            let back = verify(&jwt, &vk, 1_772_355_600, 0).unwrap();
            assert_eq!(back, credential());
            assert_eq!(
                verify(&jwt, &vk, 1_772_355_000, 30),
                Err(VcJwtError::NotYetValid { nbf: 1_772_355_600 })
            );
            assert_eq!(
                verify(&jwt, &vk, 1_803_891_600, 0),
                Err(VcJwtError::Expired { exp: 1_803_891_600 })
            );
        }
    }

    #[test]
    fn a_claim_that_does_not_mirror_is_refused() {
        let key = SigningKey::generate(Alg::ES256);
        let mut payload = credential().as_object().unwrap().clone();
        payload.extend(mirrored_claims(&payload.clone()).unwrap());
        payload.insert("sub".into(), json!("did:jwk:someone-else"));
        let jwt = Jws::sign(crate::jose::header("JWT", None), &payload, &key);
        let vk = key.public_jwk().verifying_key().unwrap();
        assert!(matches!(
            verify(&jwt, &vk, 1_772_355_600, 0),
            Err(VcJwtError::ClaimMismatch { claim: "sub", .. })
        ));
        let other = SigningKey::generate(Alg::ES256)
            .public_jwk()
            .verifying_key()
            .unwrap();
        let good = sign(&credential(), "k", &key).unwrap();
        assert!(matches!(
            verify(&good, &other, 1_772_355_600, 0),
            Err(VcJwtError::Jose(_))
        ));
        assert_eq!(
            sign(&json!({"id": "x"}), "k", &key),
            Err(VcJwtError::Missing("issuer"))
        );
    }
}
