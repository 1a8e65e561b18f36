//! Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite (W3C VC Data Integrity
//! EdDSA Cryptosuites v1.0 §3.2; ob3.md §3), through ssi 0.16, for `ldp_vc` Open Badges.
//!
//! * JSON-LD contexts come from ssi's bundled set plus the pinned Open Badges contexts
//!   ([`crate::ob3::contexts`]); an unknown context fails, nothing is fetched.
//! * json-ld-core 0.21 (ssi's JSON-LD processor) turns a native boolean under a term typed
//!   `https://www.w3.org/2001/XMLSchema#boolean` (OB's `hashed`) into an `http://…#boolean`
//!   literal, where the JSON-LD algorithms (and `@digitalbazaar/vc`) keep the coerced type
//!   (STACK.md). So ssi canonicalises a copy whose `hashed` values are the lexical strings
//!   `"true"`/`"false"` — which expand to exactly the literal the algorithm gives the
//!   native value — and the proof is attached to the original.
//! * The 1EdTech schema wants `proof` as an array: the proof is written as a one-element
//!   array.
//!
//! The verification method is the issuer's `Multikey` (`publicKeyMultibase` `z6Mk…`), which
//! the caller also publishes in its DID document.

use std::collections::HashMap;

use serde_json::{Value, json};
use ssi::claims::data_integrity::suites::EdDsaRdfc2022;
use ssi::claims::data_integrity::{CryptographicSuite, DataIntegrity, ProofOptions};
use ssi::claims::vc::v2::JsonCredential;
use ssi::claims::{SignatureEnvironment, VerificationParameters};
use ssi::json_ld::ContextLoader;
use ssi::verification_methods::{Multikey, SingleSecretSigner};

use crate::keys::{Alg, Jwk, Signer, SigningKey};

/// The proof's `cryptosuite`.
pub const CRYPTOSUITE: &str = "eddsa-rdfc-2022";

/// Why a credential could not be signed or verified.
#[derive(Debug, thiserror::Error)]
pub enum DataIntegrityError {
    #[error("the key is not an Ed25519 key")]
    NotEd25519,
    #[error("verification method {0:?} is not an absolute IRI")]
    BadMethod(String),
    #[error("the credential is not a VC 2.0 credential ssi accepts: {0}")]
    Credential(String),
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("the proof does not verify: {0}")]
    Verify(String),
}

/// A JSON-LD context loader with ssi's bundled contexts and the pinned OB 3.0 ones.
#[expect(
    clippy::expect_used,
    reason = "the pinned OB 3.0 contexts are JSON with absolute IRIs"
)]
pub fn context_loader() -> ContextLoader {
    let map: HashMap<String, String> = crate::ob3::contexts::pinned_contexts()
        .iter()
        .map(|(url, text)| ((*url).to_owned(), (*text).to_owned()))
        .collect();
    ContextLoader::default()
        .with_context_map_from(map)
        .expect("the pinned OB 3.0 contexts are JSON with absolute IRIs")
}

/// The `Multikey` verification method `id`, controlled by `controller`, of the Ed25519
/// public key `key`, as a DID document lists it.
pub fn multikey_method(id: &str, controller: &str, key: &Jwk) -> Result<Value, DataIntegrityError> {
    if key.key_alg() != Ok(Alg::EdDSA) {
        return Err(DataIntegrityError::NotEd25519);
    }
    Ok(json!({
        "id": id,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": crate::did::multibase_key(key)
            .map_err(|_| DataIntegrityError::NotEd25519)?,
    }))
}

/// The methods ssi may resolve: the one we sign or verify with.
fn resolver(
    method: &str,
    controller: &str,
    key: &Jwk,
) -> Result<HashMap<iref::IriBuf, Multikey>, DataIntegrityError> {
    let bad = || DataIntegrityError::BadMethod(method.to_owned());
    let iri = iref::IriBuf::new(method.to_owned()).map_err(|_| bad())?;
    let multikey: Multikey = serde_json::from_value(multikey_method(method, controller, key)?)
        .map_err(|e| DataIntegrityError::Credential(format!("Multikey: {e}")))?;
    Ok(HashMap::from([(iri, multikey)]))
}

/// The copy ssi canonicalises: native `hashed` booleans as their lexical strings (see the
/// module documentation), and a single proof object instead of an array.
fn for_ssi(credential: &Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    if k == "hashed"
                        && let Value::Bool(b) = child
                    {
                        *child = Value::String(b.to_string());
                    } else {
                        walk(child);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut copy = credential.clone();
    walk(&mut copy);
    if let Some(proofs) = copy.get("proof").and_then(Value::as_array)
        && let [only] = proofs.as_slice()
    {
        copy["proof"] = only.clone();
    }
    copy
}

/// Signs `credential` (a VC 2.0 JSON-LD credential without `proof`) with the Ed25519 `key`,
/// named by the DID URL `method` of `controller`; returns it with `proof: [ … ]`.
pub async fn sign(
    credential: &Value,
    key: &SigningKey,
    method: &str,
    controller: &str,
) -> Result<Value, DataIntegrityError> {
    if key.alg() != Alg::EdDSA {
        return Err(DataIntegrityError::NotEd25519);
    }
    let secret = key.to_secret_bytes();
    let mut jwk = key.public_jwk().to_value();
    jwk["d"] = Value::String(crate::b64::encode(&secret[1..]));
    let jwk: ssi::JWK =
        serde_json::from_value(jwk).map_err(|e| DataIntegrityError::Sign(e.to_string()))?;
    let resolver = resolver(method, controller, &key.public_jwk())?;
    let unsigned: JsonCredential = serde_json::from_value(for_ssi(credential))
        .map_err(|e| DataIntegrityError::Credential(e.to_string()))?;
    let iri = iref::IriBuf::new(method.to_owned())
        .map_err(|_| DataIntegrityError::BadMethod(method.to_owned()))?;
    let signed = EdDsaRdfc2022
        .sign_with(
            SignatureEnvironment {
                json_ld_loader: context_loader(),
                eip712_loader: (),
            },
            unsigned,
            &resolver,
            SingleSecretSigner::new(jwk),
            ProofOptions::from_method(iri.into()),
            (),
        )
        .await
        .map_err(|e| DataIntegrityError::Sign(e.to_string()))?;
    let signed =
        serde_json::to_value(&signed).map_err(|e| DataIntegrityError::Sign(e.to_string()))?;
    let proof = match signed.get("proof") {
        Some(Value::Array(items)) => items.clone(),
        Some(one) => vec![one.clone()],
        None => return Err(DataIntegrityError::Sign("ssi wrote no proof".into())),
    };
    let mut out = credential.clone();
    out["proof"] = Value::Array(proof);
    Ok(out)
}

/// Verifies the `eddsa-rdfc-2022` proof of `credential` with the Ed25519 public `key` of
/// `method` (ssi; the independent check is the `@digitalbazaar/vc` interop test).
pub async fn verify(
    credential: &Value,
    key: &Jwk,
    method: &str,
    controller: &str,
) -> Result<(), DataIntegrityError> {
    let resolver = resolver(method, controller, key)?;
    let signed: DataIntegrity<JsonCredential, EdDsaRdfc2022> =
        serde_json::from_value(for_ssi(credential))
            .map_err(|e| DataIntegrityError::Credential(e.to_string()))?;
    let params = VerificationParameters::from_resolver(&resolver)
        .with_json_ld_loader(context_loader())
        .with_date_time(inside_validity(credential));
    signed
        .verify(params)
        .await
        .map_err(|e| DataIntegrityError::Verify(e.to_string()))?
        .map_err(|e| DataIntegrityError::Verify(e.to_string()))
}

/// A moment inside the credential's validity period, for ssi: its verification also
/// refuses a credential outside `validFrom`..`validUntil` (against the system clock), which
/// would report an expired badge as a broken proof. This verifies the proof alone; the
/// period is the caller's `validity` check, against the caller's clock.
fn inside_validity(credential: &Value) -> ssi::claims::chrono::DateTime<ssi::claims::chrono::Utc> {
    use ssi::claims::chrono::{DateTime, Utc};
    let time = |name: &str| {
        credential
            .get(name)
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    match (time("validFrom"), time("validUntil")) {
        (Some(from), _) => from,
        (None, Some(until)) => until - ssi::claims::chrono::Duration::seconds(1),
        (None, None) => Utc::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn badge() -> Value {
        json!({
            "@context": [crate::ob3::CONTEXT_VC_V2, crate::ob3::CONTEXT_OB_V3P0_3],
            "id": "urn:uuid:2f6b8c1e-4d2a-4b7e-9a51-0c3d5e7f9a10",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": "Digital Supporter",
            "issuer": {"id": "https://issuer.example", "type": ["Profile"], "name": "Agency"},
            "validFrom": "2026-03-01T09:00:00Z",
            "credentialSubject": {
                "id": "did:jwk:eyJrdHkiOiJPS1AifQ",
                "type": ["AchievementSubject"],
                "identifier": [{
                    "type": "IdentityObject", "identityType": "emailAddress", "hashed": true,
                    "identityHash": "sha256$abc", "salt": "s"
                }],
                "achievement": {
                    "id": "https://issuer.example/achievements/1", "type": ["Achievement"],
                    "name": "Digital Supporter", "description": "Helps.",
                    "criteria": {"narrative": "Did it."}
                }
            },
        })
    }

    #[tokio::test]
    async fn the_proof_of_a_credential_outside_its_validity_period_still_verifies() {
        // Dates are the caller's `validity` check; the proof is judged alone.
        let key = SigningKey::generate(Alg::EdDSA);
        let did = "did:web:issuer.example";
        let method = "did:web:issuer.example#key-3";
        for (from, until) in [
            ("2020-01-01T00:00:00Z", Some("2021-01-01T00:00:00Z")),
            ("2999-01-01T00:00:00Z", None),
        ] {
            let mut badge = badge();
            badge["validFrom"] = json!(from);
            if let Some(until) = until {
                badge["validUntil"] = json!(until);
            }
            let signed = sign(&badge, &key, method, did).await.unwrap();
            verify(&signed, &key.public_jwk(), method, did)
                .await
                .unwrap();
            let mut tampered = signed.clone();
            tampered["validFrom"] = json!("2019-01-01T00:00:00Z");
            assert!(matches!(
                verify(&tampered, &key.public_jwk(), method, did).await,
                Err(DataIntegrityError::Verify(_))
            ));
        }
    }

    #[tokio::test]
    async fn signs_an_open_badge_and_the_proof_verifies_until_tampered_with() {
        let key = SigningKey::generate(Alg::EdDSA);
        let did = "did:web:issuer.example";
        let method = "did:web:issuer.example#key-3";
        let signed = sign(&badge(), &key, method, did).await.unwrap();
        let proofs = signed["proof"].as_array().expect("proof is an array");
        assert_eq!(proofs.len(), 1);
        assert_eq!(proofs[0]["type"], "DataIntegrityProof");
        assert_eq!(proofs[0]["cryptosuite"], CRYPTOSUITE);
        assert_eq!(proofs[0]["verificationMethod"], method);
        assert_eq!(proofs[0]["proofPurpose"], "assertionMethod");
        assert!(proofs[0]["proofValue"].as_str().unwrap().starts_with('z'));
        assert_eq!(signed["credentialSubject"]["identifier"][0]["hashed"], true);
        crate::ob3::schema::validate(&signed).expect("schema-valid with the proof");
        verify(&signed, &key.public_jwk(), method, did)
            .await
            .unwrap();

        let mut tampered = signed.clone();
        tampered["credentialSubject"]["achievement"]["name"] = json!("Expert");
        assert!(matches!(
            verify(&tampered, &key.public_jwk(), method, did).await,
            Err(DataIntegrityError::Verify(_))
        ));
        let other = SigningKey::generate(Alg::EdDSA);
        assert!(
            verify(&signed, &other.public_jwk(), method, did)
                .await
                .is_err()
        );
        assert!(matches!(
            sign(&badge(), &SigningKey::generate(Alg::ES256), method, did).await,
            Err(DataIntegrityError::NotEd25519)
        ));
    }
}
