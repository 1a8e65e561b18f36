//! The bodies of the `cargo fuzz` targets in `fuzz/` (one function per kind of input a
//! stranger can send), kept here so that `protocol/tests/fuzz_corpus.rs` replays the seed
//! corpus and every crash found on stable, in the ordinary test suite.
//!
//! Each function takes raw bytes, drives the parser and what runs on its result in the
//! services, and asserts nothing that real input could legitimately break: a fuzzer looks
//! for panics, hangs and runaway memory only. Not an API: compiled with the `fuzzing`
//! feature (or in this crate's tests).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::did;
use crate::jose::Jws;
use crate::jose::jwe::{self, EncryptionKey};
use crate::keys::{Jwk, VerifyingKey};
use crate::ob3::{self, AchievementCredential};
use crate::oid4vci::OfferRef;
use crate::oid4vp::Invocation;
use crate::oid4vp::dcql::{Candidate, DcqlQuery};
use crate::sd_jwt::SdJwt;

/// The fixed P-256 scalar of [`jwe_key`] (format byte `1`, then 32 bytes).
const JWE_SECRET: [u8; 33] = {
    let mut bytes = [0x42u8; 33];
    bytes[0] = 1;
    bytes
};

/// The recipient key of the `jwe` target: fixed, so that seeds encrypted to it (see
/// `fuzz/README.md`) reach the decryption itself.
#[expect(clippy::expect_used, reason = "a fixed valid P-256 scalar")]
pub fn jwe_key() -> &'static EncryptionKey {
    static KEY: OnceLock<EncryptionKey> = OnceLock::new();
    KEY.get_or_init(|| {
        EncryptionKey::from_secret_bytes(&JWE_SECRET).expect("a fixed valid P-256 scalar")
    })
}

/// A fixed P-256 public key that no fuzzed signature is made with: signatures are checked
/// against it (and fail) so that the verification code runs on fuzzed input.
#[expect(clippy::expect_used, reason = "a fixed valid P-256 point")]
fn fixed_verifying_key() -> &'static VerifyingKey {
    static KEY: OnceLock<VerifyingKey> = OnceLock::new();
    KEY.get_or_init(|| {
        jwe_key()
            .public_jwk()
            .verifying_key()
            .expect("a fixed valid P-256 point")
    })
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// `sd_jwt`: an SD-JWT (VC) or SD-JWT+KB as a wallet receives it or a verifier is
/// presented with it: split, decode the issuer JWT, reveal every disclosure, read `cnf`,
/// check the KB-JWT, present a subset.
pub fn sd_jwt(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(sd) = SdJwt::parse(text) else { return };
    let _ = sd.serialize();
    let Ok(jws) = sd.issuer_jwt() else { return };
    let _ = jws.expect_typ(&["dc+sd-jwt", "vc+sd-jwt"]);
    let _ = jws.verify(fixed_verifying_key());
    let Ok(revealed) = sd.reveal(jws.payload) else {
        return;
    };
    let _ = revealed.cnf_jwk();
    let pointers = revealed.disclosure_pointers();
    let _ = revealed.disclosures_for(&revealed.disclosure_paths[..pointers.len().min(2)]);
    let _ = sd.verify_key_binding(&revealed, "x509_san_dns:v.example", "n", 1_000, 300, 60);
    let presented = sd.present(&[0, 2], None);
    let _ = SdJwt::parse(&presented.serialize());
}

/// `jws`: a compact JWS or JWT (request objects, VC-JWTs, proofs, KB-JWTs, status list
/// tokens): decode, read the header, resolve a `jwk` or a did:jwk / did:key `kid`, verify.
pub fn jws(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(jws) = Jws::decode(text) else { return };
    let _ = jws.typ();
    let _ = jws.expect_typ(&["JWT", "openid4vci-proof+jwt", "kb+jwt"]);
    let _ = (
        jws.claim_str("iss"),
        jws.claim_time("iat"),
        jws.claim_time("exp"),
    );
    let _ = jws.verify(fixed_verifying_key());
    if let Some(jwk) = jws.header.get("jwk")
        && let Ok(jwk) = Jwk::from_value(jwk)
    {
        let _ = jwk.thumbprint();
        let _ = did::did_jwk(&jwk);
        if let Ok(key) = jwk.verifying_key() {
            let _ = jws.verify(&key);
        }
    }
    if let Some(kid) = jws.kid()
        && let Ok((did, _fragment)) = did::split_did_url(kid)
    {
        let jwk = if did.starts_with("did:jwk:") {
            did::parse_did_jwk(did).ok()
        } else if did.starts_with("did:key:") {
            did::parse_did_key(did).ok()
        } else {
            None
        };
        if let Some(key) = jwk.and_then(|jwk| jwk.verifying_key().ok()) {
            let _ = jws.verify(&key);
        }
    }
}

/// `jwe`: an encrypted `direct_post.jwt` Authorization Response: read the protected
/// header, then decrypt with the verifier's (here a fixed) key.
pub fn jwe(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let _ = jwe::protected_header(text);
    if let Ok(plain) = jwe_key().decrypt(text) {
        let _ = serde_json::from_slice::<Value>(&plain);
    }
}

/// The credentials a DCQL query is evaluated against: a wallet's SD-JWT VC badge, a
/// Data Integrity badge and a VC-JWT.
fn candidates() -> &'static [Candidate] {
    static CANDIDATES: OnceLock<Vec<Candidate>> = OnceLock::new();
    CANDIDATES.get_or_init(|| {
        let ld = json!({
            "credentialSubject": {
                "type": ["AchievementSubject"],
                "name": "Ana",
                "identifier": [{"type": "IdentityObject", "identityHash": "ana@example.org"}],
                "result": [{"value": "A"}, {"value": "B"}],
                "achievement": {"id": "urn:uuid:1", "name": "Welding", "criteria": {"narrative": "n"}}
            },
            "issuer": {"id": "https://issuer.example", "name": "Agency"}
        });
        let types = vec![
            "https://www.w3.org/2018/credentials#VerifiableCredential".to_owned(),
            "https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential".to_owned(),
        ];
        vec![
            Candidate {
                format: "dc+sd-jwt".into(),
                vct: Some("https://issuer.example/vct/badge".into()),
                types: Vec::new(),
                claims: json!({
                    "iss": "https://issuer.example",
                    "vct": "https://issuer.example/vct/badge",
                    "iat": 1000,
                    "ld": ld,
                    "tags": [1, 2.5, true, null, "x"],
                }),
            },
            Candidate {
                format: "ldp_vc".into(),
                vct: None,
                types: types.clone(),
                claims: ld.clone(),
            },
            Candidate {
                format: "jwt_vc_json".into(),
                vct: None,
                types,
                claims: json!({"vc": ld}),
            },
        ]
    })
}

/// `dcql`: a DCQL query from an Authorization Request: parse, validate, select among a
/// wallet's credentials, and check a response made of those credentials.
pub fn dcql(data: &[u8]) {
    let Ok(query) = serde_json::from_slice::<DcqlQuery>(data) else {
        return;
    };
    if query.validate().is_err() {
        return;
    }
    let candidates = candidates();
    let _ = query.select(candidates);
    let presented: BTreeMap<String, Vec<Candidate>> = query
        .credentials
        .iter()
        .enumerate()
        .map(|(i, q)| (q.id.clone(), vec![candidates[i % candidates.len()].clone()]))
        .collect();
    let _ = query.check_response(&presented);
    let _ = serde_json::to_string(&query);
}

/// `offer_uri`: an OpenID4VCI credential offer link (`openid-credential-offer://?…` or a
/// wallet's https receive link, as typed, pasted or scanned).
pub fn offer_uri(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(OfferRef::ByValue(offer)) = OfferRef::parse(text) {
        let _ = offer.pre_authorized();
        let _ = crate::oid4vci::offer_uri_by_value(crate::oid4vci::OFFER_SCHEME, &offer);
    }
}

/// `request_uri`: an OpenID4VP invocation link (`openid4vp://?…` or https), by value, by
/// reference (`request_uri`) or with the request's parameters in the link.
pub fn request_uri(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(invocation) = Invocation::parse(text) {
        let _ = invocation.client_id();
        if let Invocation::ByReference(r) = &invocation {
            let _ = r.to_url("openid4vp://");
        }
    }
}

/// `ob3_json`: an Open Badges 3.0 credential as JSON (an imported or presented badge):
/// 1EdTech schema validation, then the model, and back to JSON.
pub fn ob3_json(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = ob3::schema::validate(&value);
    let _ = ob3::schema::validate_profile(&value);
    if let Ok(credential) = AchievementCredential::from_value(value) {
        let _ = credential.issuer_id();
        let _ = credential.to_value();
    }
}
